//! The data API against its generated OpenAPI document: the document is
//! valid OpenAPI 3.1 and describes every route, and each operation is made
//! to give every answer it documents that a test can provoke, each answer
//! checked against the document (`harness::openapi`). What no test here
//! provokes is named: 500 (an internal failure), 503 (the database away:
//! `outages.rs` checks it against the document), 409 `scope_full` (a
//! resident's 10 000 values).

use std::collections::BTreeSet;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;

use crate::harness::openapi::{Documented, assert_documented, document, every_documented_answer};
use crate::harness::{TestApp, TestResponse};

/// The official JSON Schema of OpenAPI 3.1 documents
/// (`https://spec.openapis.org/oas/3.1/schema/2022-10-07`), as bundled by
/// the PyPI package openapi-spec-validator 0.9.0
/// (`openapi_spec_validator/resources/schemas/v3.1/schema.json`, Apache-2.0).
const OAS_3_1_SCHEMA: &str = include_str!("fixtures/openapi-3.1-schema-2022-10-07.json");

const HOST: &str = "saint-martin.localhost";
/// Never enabled in any demo town.
const NO_MODULE: &str = "module-absent";
/// A module Saint-Martin enables.
const MODULE: &str = "bloc-notes";

/// Statuses no test here provokes, whatever the operation.
const NOT_PROVOKED: [u16; 2] = [500, 503];

#[test]
fn the_generated_document_is_valid_openapi_3_1() {
    let schema: Value = serde_json::from_str(OAS_3_1_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The check can fail: an answer without its (required) description.
    let mut broken = document.clone();
    broken["paths"]["/payments"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    assert!(
        !validator.is_valid(&broken),
        "a response without description passes"
    );
}

#[test]
fn the_document_describes_every_route_and_nothing_else() {
    let paths = document()["paths"].as_object().unwrap();
    let mut routes = BTreeSet::new();
    for route in guichet::api::routes() {
        let template = route.uri.path().replace('<', "{").replace('>', "}");
        let method = route.method.as_str().to_lowercase();
        let operation = paths
            .get(&template)
            .and_then(|item| item.get(&method))
            .unwrap_or_else(|| panic!("{method} {template} is not in the document"));
        assert!(
            operation["summary"]
                .as_str()
                .is_some_and(|summary| !summary.is_empty()),
            "{method} {template}: a summary"
        );
        routes.insert((template, method));
    }
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect();
    assert_eq!(
        documented, routes,
        "the document has operations no route serves"
    );
    // Every error answer says its codes.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(reference) => document()
                        .pointer(reference.trim_start_matches('#'))
                        .unwrap(),
                    None => response,
                };
                if status.starts_with('4') || status.starts_with('5') {
                    let description = response["description"].as_str().unwrap();
                    assert!(
                        description.contains('`'),
                        "{method} {path} {status}: no code in {description}"
                    );
                }
            }
        }
    }
}

/// A client of the API that checks each answer against the document and
/// remembers which documented answers it saw.
struct Api<'a> {
    app: &'a TestApp,
    auth: String,
    seen: Mutex<BTreeSet<Documented>>,
}

impl<'a> Api<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let town = app.town("saint-martin").await;
        let key = guichet::api::ApiKeys::new(app.app.db.clone())
            .create(&town, "Contrat")
            .await
            .unwrap()
            .secret;
        Self {
            app,
            auth: format!("Bearer {key}"),
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// With the key, on Saint-Martin.
    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> TestResponse {
        self.call_as(method, HOST, path, Some(&self.auth.clone()), body)
            .await
    }

    async fn call_as(
        &self,
        method: Method,
        host: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&str>,
    ) -> TestResponse {
        let mut request = self.app.request(method.clone(), host, path);
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_owned());
        }
        let answer = self.app.send(request).await;
        let documented = assert_documented(&method, path, &answer);
        self.seen.lock().unwrap().insert(documented);
        answer
    }

    /// `expected`, with the code `code` when it is an error.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        expected: u16,
        code: Option<&str>,
    ) -> TestResponse {
        let answer = self.call(method.clone(), path, body).await;
        check(&answer, expected, code, &format!("{method} {path}"));
        answer
    }

    /// The answers every operation with a key shares: 401 without a key
    /// or with a wrong one, 404 `unknown_town` on an address no town has.
    async fn shared_refusals(&self, method: Method, path: &str, body: Option<&str>) {
        for auth in [None, Some("Bearer gk_faux"), Some("Basic abc")] {
            let answer = self.call_as(method.clone(), HOST, path, auth, body).await;
            check(
                &answer,
                401,
                Some("unauthenticated"),
                &format!("{method} {path} {auth:?}"),
            );
        }
        let answer = self
            .call_as(
                method.clone(),
                "nulle-part.localhost",
                path,
                Some(&self.auth.clone()),
                body,
            )
            .await;
        check(
            &answer,
            404,
            Some("unknown_town"),
            &format!("{method} {path} elsewhere"),
        );
    }

    /// Every documented answer of `operation` was seen, but `not_provoked`
    /// (which it must document) and [`NOT_PROVOKED`].
    fn assert_covered(&self, operation: &str, not_provoked: &[u16]) {
        let seen = self.seen.lock().unwrap();
        let documented: Vec<u16> = every_documented_answer()
            .into_iter()
            .filter(|answer| answer.operation == operation)
            .map(|answer| answer.status)
            .collect();
        assert!(!documented.is_empty(), "{operation} is not in the document");
        for status in not_provoked {
            assert!(
                documented.contains(status),
                "{operation} does not document {status}"
            );
        }
        let missing: Vec<u16> = documented
            .into_iter()
            .filter(|status| !not_provoked.contains(status) && !NOT_PROVOKED.contains(status))
            .filter(|status| {
                !seen.contains(&Documented {
                    operation: operation.to_owned(),
                    status: *status,
                })
            })
            .collect();
        assert!(
            missing.is_empty(),
            "{operation}: documented but not provoked: {missing:?}"
        );
    }
}

fn check(answer: &TestResponse, expected: u16, code: Option<&str>, context: &str) {
    assert_eq!(answer.status, expected, "{context}: {}", answer.body);
    if let Some(code) = code {
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body["error"]["code"], code, "{context}: {}", answer.body);
    }
}

/// A JSON string of `bytes` characters.
fn json_text(bytes: usize) -> String {
    format!("\"{}\"", "a".repeat(bytes))
}

on_both_databases! {
    async fn the_data_routes_answer_what_the_document_says(backend) {
        let app = TestApp::spawn(backend).await;
        let api = Api::new(&app).await;
        let resident = app.create_resident("saint-martin", "Michel", "Arpège", "contrat@example.org").await.identifier;
        let long_key = "k".repeat(201);
        for (base, scoped) in [
            (format!("/api/v1/modules/{MODULE}/data"), false),
            (format!("/api/v1/modules/{MODULE}/residents/{resident}/data"), true),
        ] {
            let (list, get, put, delete) = if scoped {
                ("listResident", "getResident", "putResident", "deleteResident")
            } else {
                ("listTown", "getTown", "putTown", "deleteTown")
            };
            let elsewhere = base.replace(MODULE, NO_MODULE);

            // PUT: 200, 400, 404, 413, 422.
            let written = api.expect(Method::PUT, &format!("{base}/note:1"), Some(r#"{"texte": "Bonjour"}"#), 200, None).await;
            assert_eq!(written.body, r#"{"key":"note:1","value":{"texte":"Bonjour"}}"#);
            api.expect(Method::PUT, &format!("{base}/note:2"), Some("{pas du json"), 400, Some("invalid_json")).await;
            api.expect(Method::PUT, &format!("{elsewhere}/note:1"), Some("1"), 404, Some("module_not_enabled")).await;
            api.expect(Method::PUT, &format!("{base}/note:2"), Some(&json_text(200 * 1024)), 413, Some("body_too_large")).await;
            api.expect(Method::PUT, &format!("{base}/note:2"), Some(&json_text(70 * 1024)), 422, Some("value_too_large")).await;
            api.expect(Method::PUT, &format!("{base}/{long_key}"), Some("1"), 422, Some("invalid_key")).await;
            api.expect(Method::PUT, &format!("{base}/note:2"), Some(r#"{"a": "\u0000"}"#), 422, Some("invalid_text")).await;
            api.shared_refusals(Method::PUT, &format!("{base}/note:2"), Some("1")).await;
            api.assert_covered(put, &[409]);

            // GET one: 200, 404, 422.
            api.expect(Method::GET, &format!("{base}/note:1"), None, 200, None).await;
            api.expect(Method::GET, &format!("{base}/absente"), None, 404, Some("no_such_key")).await;
            api.expect(Method::GET, &format!("{elsewhere}/note:1"), None, 404, Some("module_not_enabled")).await;
            api.expect(Method::GET, &format!("{base}/{long_key}"), None, 422, Some("invalid_key")).await;
            api.expect(Method::GET, &format!("{base}/no%00te"), None, 422, Some("invalid_text")).await;
            api.shared_refusals(Method::GET, &format!("{base}/note:1"), None).await;
            api.assert_covered(get, &[]);

            // The list: 200, 404, 422.
            let listed = api.expect(Method::GET, &format!("{base}?prefix=note:"), None, 200, None).await;
            assert_eq!(listed.body, r#"{"entries":[{"key":"note:1","value":{"texte":"Bonjour"}}]}"#);
            api.expect(Method::GET, &format!("{base}?after=note:1"), None, 200, None).await;
            api.expect(Method::GET, &elsewhere, None, 404, Some("module_not_enabled")).await;
            api.expect(Method::GET, &format!("{base}?prefix=%00"), None, 422, Some("invalid_text")).await;
            api.shared_refusals(Method::GET, &base, None).await;
            api.assert_covered(list, &[]);

            // DELETE: 204, 404, 422.
            api.expect(Method::DELETE, &format!("{base}/note:1"), None, 204, None).await;
            api.expect(Method::DELETE, &format!("{base}/note:1"), None, 404, Some("no_such_key")).await;
            api.expect(Method::DELETE, &format!("{base}/{long_key}"), None, 422, Some("invalid_key")).await;
            api.shared_refusals(Method::DELETE, &format!("{base}/note:1"), None).await;
            api.assert_covered(delete, &[]);
        }
        // A resident the town does not have.
        let unknown = format!("/api/v1/modules/{MODULE}/residents/personne.inconnue/data");
        api.expect(Method::GET, &unknown, None, 404, Some("unknown_resident")).await;
        api.expect(Method::GET, &format!("{unknown}/k"), None, 404, Some("unknown_resident")).await;
        api.expect(Method::PUT, &format!("{unknown}/k"), Some("1"), 404, Some("unknown_resident")).await;
        api.expect(Method::DELETE, &format!("{unknown}/k"), None, 404, Some("unknown_resident")).await;
    }

    async fn the_household_routes_answer_what_the_document_says(backend) {
        let app = TestApp::spawn(backend).await;
        let api = Api::new(&app).await;
        let resident = app.create_resident("saint-martin", "Michel", "Arpège", "foyer@example.org").await.identifier;
        let path = format!("/api/v1/residents/{resident}/household");
        let unknown = "/api/v1/residents/personne.inconnue/household";

        let member = r#"{"members": [{"first_name": "Léa", "last_name": "Arpège", "relation": "enfant", "birth_date": "2015-04-02", "external_ref": "E-12"}, {"first_name": "Anne", "last_name": "Arpège", "relation": "conjoint"}]}"#;
        let stored = api.expect(Method::PUT, &path, Some(member), 200, None).await;
        assert!(stored.body.contains(r#""birth_date":"2015-04-02""#), "{}", stored.body);
        api.expect(Method::PUT, &path, Some(r#"{"members": [], "autre": 1}"#), 400, Some("invalid_json")).await;
        api.expect(Method::PUT, unknown, Some(member), 404, Some("unknown_resident")).await;
        api.expect(Method::PUT, &path, Some(&json_text(200 * 1024)), 413, Some("body_too_large")).await;
        api.expect(Method::PUT, &path, Some(r#"{"members": [{"first_name": "Léa", "last_name": "Arpège", "relation": "oncle"}]}"#), 422, Some("invalid_member")).await;
        api.expect(Method::PUT, &path, Some(r#"{"members": [{"first_name": "L\u0000a", "last_name": "Arpège", "relation": "enfant"}]}"#), 422, Some("invalid_text")).await;
        api.shared_refusals(Method::PUT, &path, Some(member)).await;
        api.assert_covered("putHousehold", &[]);

        let read = api.expect(Method::GET, &path, None, 200, None).await;
        assert!(read.body.contains("Léa"), "{}", read.body);
        api.expect(Method::GET, unknown, None, 404, Some("unknown_resident")).await;
        api.expect(Method::GET, "/api/v1/residents/mi%00chel/household", None, 422, Some("invalid_text")).await;
        api.shared_refusals(Method::GET, &path, None).await;
        api.assert_covered("getHousehold", &[]);
    }

    async fn the_account_routes_answer_what_the_document_says(backend) {
        let app = TestApp::spawn(backend).await;
        let api = Api::new(&app).await;

        // POST /accounts: 201, 400, 409, 413, 422.
        let new = r#"{"email": "jeanne.martin@example.org", "first_name": "Jeanne", "last_name": "Martin", "civility": "Mme", "address": "1 place de la Mairie", "phone": "06 12 34 56 78"}"#;
        let created = api.expect(Method::POST, "/api/v1/accounts", Some(new), 201, None).await;
        let identifier = serde_json::from_str::<Value>(&created.body).unwrap()["identifier"].as_str().unwrap().to_owned();
        api.expect(Method::POST, "/api/v1/accounts", Some(r#"{"email": "a@example.org", "first_name": "A", "last_name": "B", "age": 3}"#), 400, Some("invalid_json")).await;
        let taken = api.expect(Method::POST, "/api/v1/accounts", Some(r#"{"email": "JEANNE.martin@example.org", "first_name": "J", "last_name": "M"}"#), 409, Some("email_taken")).await;
        assert!(taken.body.contains(&identifier), "{}", taken.body);
        api.expect(Method::POST, "/api/v1/accounts", Some(&json_text(200 * 1024)), 413, Some("body_too_large")).await;
        let refused = api.expect(Method::POST, "/api/v1/accounts", Some(r#"{"email": "pas-une-adresse", "last_name": "", "civility": "Dr"}"#), 422, Some("invalid_account")).await;
        assert!(refused.body.contains(r#""fields""#), "{}", refused.body);
        api.expect(Method::POST, "/api/v1/accounts", Some(r#"{"email": "x\u0000@example.org", "first_name": "A", "last_name": "B"}"#), 422, Some("invalid_text")).await;
        api.shared_refusals(Method::POST, "/api/v1/accounts", Some(new)).await;
        api.assert_covered("createAccount", &[]);

        // GET /accounts: 200, 422.
        let found = api.expect(Method::GET, "/api/v1/accounts?email=Jeanne.Martin%40example.org", None, 200, None).await;
        assert!(found.body.contains(&identifier), "{}", found.body);
        api.expect(Method::GET, "/api/v1/accounts?email=personne%40example.org", None, 200, None).await;
        api.expect(Method::GET, "/api/v1/accounts", None, 422, Some("missing_parameter")).await;
        api.expect(Method::GET, "/api/v1/accounts?email=a%00b", None, 422, Some("invalid_text")).await;
        api.shared_refusals(Method::GET, "/api/v1/accounts?email=a%40example.org", None).await;
        api.assert_covered("findAccounts", &[]);

        // The activation again: 202, 404, 409, 422.
        let activation = format!("/api/v1/accounts/{identifier}/activation");
        api.expect(Method::POST, &activation, None, 202, None).await;
        api.expect(Method::POST, "/api/v1/accounts/personne.inconnue/activation", None, 404, Some("unknown_resident")).await;
        let (_, active) = app.active_resident("saint-martin", "actif@example.org").await;
        api.expect(Method::POST, &format!("/api/v1/accounts/{active}/activation"), None, 409, Some("already_active")).await;
        api.expect(Method::POST, "/api/v1/accounts/mi%00chel/activation", None, 422, Some("invalid_text")).await;
        api.shared_refusals(Method::POST, &activation, None).await;
        api.assert_covered("resendActivation", &[]);
    }

    async fn the_payments_route_answers_what_the_document_says(backend) {
        let app = TestApp::spawn(backend).await;
        let api = Api::new(&app).await;
        let page = api.expect(Method::GET, "/api/v1/payments?since=2026-01-01", None, 200, None).await;
        assert_eq!(page.body, r#"{"payments":[],"next":null}"#);
        api.expect(Method::GET, "/api/v1/payments?since=2026-01-01T08:00:00Z&limit=500", None, 200, None).await;
        api.expect(Method::GET, "/api/v1/payments", None, 422, Some("missing_parameter")).await;
        for query in ["since=hier", "since=2026-01-01&limit=0", "since=2026-01-01&limit=501", "since=2026-01-01&after=n%27importe"] {
            api.expect(Method::GET, &format!("/api/v1/payments?{query}"), None, 422, Some("invalid_parameter")).await;
        }
        api.expect(Method::GET, "/api/v1/payments?since=%00", None, 422, Some("invalid_text")).await;
        api.shared_refusals(Method::GET, "/api/v1/payments?since=2026-01-01", None).await;
        api.assert_covered("listPayments", &[]);
    }
}

#[tokio::test]
async fn the_description_routes_and_undeclared_methods_answer_what_the_document_says() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let api = Api::new(&app).await;
    // Without a key, on any town.
    let served = api
        .call_as(
            Method::GET,
            "villeneuve.localhost",
            "/api/v1/openapi.json",
            None,
            None,
        )
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("application/json"));
    assert_eq!(
        &serde_json::from_str::<Value>(&served.body).unwrap(),
        document()
    );
    api.assert_covered("openapi", &[]);

    let page = api
        .call_as(
            Method::GET,
            "villeneuve.localhost",
            "/api/v1/documentation",
            None,
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"),
        "{}",
        page.body
    );
    // Every operation, with its summary and each of its answers.
    for (path, item) in document()["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let heading = format!(
                "<span class=\"methode\">{}</span> <code>/api/v1{path}</code></h3>",
                method.to_uppercase()
            );
            assert!(page.body.contains(&heading), "{heading}");
            let summary = operation["summary"]
                .as_str()
                .unwrap()
                .replace('\'', "&#39;");
            assert!(page.body.contains(&summary), "{summary}");
        }
    }
    assert!(
        page.body.contains("<code>scope_full</code>"),
        "the error codes are shown"
    );
    assert!(page.body.contains("href=\"/static/api-reference.css\""));
    let stylesheet = app
        .get("villeneuve.localhost", "/static/api-reference.css")
        .await;
    assert_eq!(stylesheet.status, 200);
    assert!(
        !page.body.contains("style="),
        "the CSP forbids inline styles"
    );
    assert!(!page.body.contains("<script"), "no script");
    api.assert_covered("documentation", &[]);

    // Every path, with a method it does not declare: the shared 405.
    for route in guichet::api::routes() {
        let path = route.uri.path().replace(['<', '>'], "");
        let answer = api
            .call_as(
                Method::PATCH,
                HOST,
                &format!("/api/v1{path}"),
                Some(&api.auth.clone()),
                None,
            )
            .await;
        check(
            &answer,
            405,
            Some("method_not_allowed"),
            &format!("PATCH {path}"),
        );
    }
}
