//! The data API's answers for keys that are missing or refused, through the
//! module storage service (town and resident scopes).

use crate::harness::TestApp;

fn error_of(body: &str) -> (String, String) {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
    (
        value["error"]["code"].as_str().unwrap().to_owned(),
        value["error"]["message"].as_str().unwrap().to_owned(),
    )
}

on_both_databases! {
    async fn missing_and_refused_keys_get_structured_answers(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = app.active_resident("saint-martin", "v@example.org").await;
        let town = app.town("saint-martin").await;
        let key = guichet::api::ApiKeys::new(app.app.db.clone()).create(&town, "Test").await.unwrap().secret;
        let auth = format!("Bearer {key}");
        let send = |method: reqwest::Method, path: String, body: Option<&str>| {
            let mut request = app.request(method, "saint-martin.localhost", &path).header("Authorization", &auth);
            if let Some(body) = body {
                request = request.body(body.to_owned());
            }
            app.send(request)
        };
        for base in ["/api/v1/modules/bloc-notes/data".to_owned(), format!("/api/v1/modules/bloc-notes/residents/{identifier}/data")] {
            let missing = send(reqwest::Method::GET, format!("{base}/absente"), None).await;
            assert_eq!(missing.status, 404, "{base}");
            assert_eq!(error_of(&missing.body), ("no_such_key".to_owned(), "aucune valeur sous la clé « absente »".to_owned()));
            let gone = send(reqwest::Method::DELETE, format!("{base}/absente"), None).await;
            assert_eq!(gone.status, 404);
            assert_eq!(error_of(&gone.body).0, "no_such_key");

            let long = "k".repeat(201);
            let refused_key = "la clé doit faire de 1 à 200 octets, sans caractère de contrôle".to_owned();
            for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
                let refused = send(method.clone(), format!("{base}/{long}"), None).await;
                assert_eq!(refused.status, 422, "{method}");
                assert_eq!(error_of(&refused.body), ("invalid_key".to_owned(), refused_key.clone()));
            }
            // The key is judged before the body.
            let refused = send(reqwest::Method::PUT, format!("{base}/{long}"), Some("{pas du json")).await;
            assert_eq!(refused.status, 422);
            assert_eq!(error_of(&refused.body).0, "invalid_key");

            let put = send(reqwest::Method::PUT, format!("{base}/note:1"), Some("\"Bonjour\"")).await;
            assert_eq!(put.status, 200, "{}", put.body);
            assert_eq!(put.body, r#"{"key":"note:1","value":"Bonjour"}"#);
            let again = send(reqwest::Method::PUT, format!("{base}/note:1"), Some("{\"texte\": \"Au revoir\"}")).await;
            assert_eq!(again.body, r#"{"key":"note:1","value":{"texte":"Au revoir"}}"#);
            let listed = send(reqwest::Method::GET, format!("{base}?prefix=note:"), None).await;
            assert_eq!(listed.body, r#"{"entries":[{"key":"note:1","value":{"texte":"Au revoir"}}]}"#);
            let deleted = send(reqwest::Method::DELETE, format!("{base}/note:1"), None).await;
            assert_eq!(deleted.status, 204);
            assert_eq!(send(reqwest::Method::DELETE, format!("{base}/note:1"), None).await.status, 404, "deleted once");
        }
    }
}

/// The whole error body of an answer.
fn error_body(body: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
    value["error"].clone()
}

on_both_databases! {
    async fn the_town_s_software_creates_finds_and_reactivates_accounts(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("saint-martin").await;
        let keys = guichet::api::ApiKeys::new(app.app.db.clone());
        let key = keys.create(&town, "Logiciel état civil").await.unwrap().secret;
        let other_town_key = keys.create(&app.town("villeneuve").await, "Ailleurs").await.unwrap().secret;
        let host = "saint-martin.localhost";
        let send = |method: reqwest::Method, path: &str, key: &str, body: Option<&str>| {
            let mut request = app.request(method, host, path).header("Authorization", format!("Bearer {key}"));
            if let Some(body) = body {
                request = request.header("Content-Type", "application/json").body(body.to_owned());
            }
            app.send(request)
        };

        let created = send(reqwest::Method::POST, "/api/v1/accounts", &key, Some(r#"{"email": "Jeanne.Martin@Example.org", "first_name": "Jeanne", "last_name": "Martin", "civility": "Mme", "phone": "06 12 34 56 78"}"#)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let account: serde_json::Value = serde_json::from_str(&created.body).unwrap();
        assert_eq!(account["identifier"], "jeanne.martin");
        assert_eq!(account["status"], "pending");
        assert_eq!(account["civility"], "Mme");
        let mail = app.mailbox().wait_for("Jeanne.Martin@Example.org", "activez").await;
        let first_link = mail.link_path("/activation/");
        // The journal names the key.
        let owner = app.app.accounts.find_by_identifier(&town, "jeanne.martin").await.unwrap().unwrap();
        let journal = app.app.accounts.journal(&town, owner.id).await.unwrap();
        assert_eq!(journal[0].kind, "account_created");
        assert_eq!(journal[0].actor_kind, guichet::audit::entity::ActorKind::ApiKey);
        assert_eq!(journal[0].actor_label.as_deref(), Some("Logiciel état civil"));

        // A known address, whatever its case: 409 with the identifier.
        let known = send(reqwest::Method::POST, "/api/v1/accounts", &key, Some(r#"{"email": "jeanne.martin@example.org", "first_name": "J", "last_name": "M"}"#)).await;
        assert_eq!(known.status, 409, "{}", known.body);
        let error = error_body(&known.body);
        assert_eq!(error["code"], "email_taken");
        assert_eq!(error["identifier"], "jeanne.martin");

        // Wrong fields, each named.
        let wrong = send(reqwest::Method::POST, "/api/v1/accounts", &key, Some(r#"{"email": "pas-une-adresse", "last_name": "", "civility": "Dr"}"#)).await;
        assert_eq!(wrong.status, 422, "{}", wrong.body);
        let error = error_body(&wrong.body);
        assert_eq!(error["code"], "invalid_account");
        let fields: Vec<&str> = error["fields"].as_array().unwrap().iter().map(|field| field["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["email", "first_name", "last_name", "civility"]);
        assert!(error["fields"][0]["message"].as_str().unwrap().contains("adresse électronique valide"));
        let unknown_field = send(reqwest::Method::POST, "/api/v1/accounts", &key, Some(r#"{"email": "a@example.org", "first_name": "A", "last_name": "B", "age": 3}"#)).await;
        assert_eq!(unknown_field.status, 400);
        assert_eq!(error_body(&unknown_field.body)["code"], "invalid_json");

        // Found by address (any case); an unknown one is an empty list.
        let found = send(reqwest::Method::GET, "/api/v1/accounts?email=JEANNE.martin%40example.org", &key, None).await;
        assert_eq!(found.status, 200, "{}", found.body);
        let found: serde_json::Value = serde_json::from_str(&found.body).unwrap();
        assert_eq!(found["accounts"][0]["identifier"], "jeanne.martin");
        let none = send(reqwest::Method::GET, "/api/v1/accounts?email=personne%40example.org", &key, None).await;
        assert_eq!(none.body, r#"{"accounts":[]}"#);
        let missing = send(reqwest::Method::GET, "/api/v1/accounts", &key, None).await;
        assert_eq!(missing.status, 422);
        assert_eq!(error_body(&missing.body)["code"], "missing_parameter");

        // The activation again: a new link, the old one dead.
        let resent = send(reqwest::Method::POST, "/api/v1/accounts/jeanne.martin/activation", &key, None).await;
        assert_eq!(resent.status, 202, "{}", resent.body);
        let mails = app.mailbox().wait_for_count("Jeanne.Martin@Example.org", "activez", 2).await;
        let second_link = mails.last().unwrap().link_path("/activation/");
        assert_ne!(first_link, second_link);
        let old_token = first_link.trim_start_matches("/activation/");
        assert!(app.app.accounts.activate(&town, old_token, &guichet::audit::Origin::default()).await.unwrap().is_err(), "the old link is dead");
        let journal = app.app.accounts.journal(&town, owner.id).await.unwrap();
        assert_eq!(journal[0].kind, "activation_mail_sent");
        assert_eq!(journal[0].actor_kind, guichet::audit::entity::ActorKind::ApiKey);
        let unknown = send(reqwest::Method::POST, "/api/v1/accounts/personne.inconnue/activation", &key, None).await;
        assert_eq!(unknown.status, 404);
        assert_eq!(error_body(&unknown.body)["code"], "unknown_resident");
        let token = second_link.trim_start_matches("/activation/");
        app.app.accounts.activate(&town, token, &guichet::audit::Origin::default()).await.unwrap().unwrap();
        let active = send(reqwest::Method::POST, "/api/v1/accounts/jeanne.martin/activation", &key, None).await;
        assert_eq!(active.status, 409);
        assert_eq!(error_body(&active.body)["code"], "already_active");

        // A wrong key, or another town's, opens nothing and creates nothing.
        for bad in ["gk_pas_une_cle", other_town_key.as_str()] {
            let refused = send(reqwest::Method::POST, "/api/v1/accounts", bad, Some(r#"{"email": "intrus@example.org", "first_name": "I", "last_name": "N"}"#)).await;
            assert_eq!(refused.status, 401, "{bad}");
            assert_eq!(error_body(&refused.body)["code"], "unauthenticated");
            assert_eq!(send(reqwest::Method::GET, "/api/v1/accounts?email=jeanne.martin%40example.org", bad, None).await.status, 401);
            assert_eq!(send(reqwest::Method::POST, "/api/v1/accounts/jeanne.martin/activation", bad, None).await.status, 401);
        }
        assert!(app.app.accounts.find_by_email(&town, "intrus@example.org").await.unwrap().is_none());
        // Saint-Martin's resident is unknown to Villeneuve's key on its own host.
        let elsewhere = app
            .send(app.request(reqwest::Method::GET, "villeneuve.localhost", "/api/v1/accounts?email=jeanne.martin%40example.org").header("Authorization", format!("Bearer {other_town_key}")))
            .await;
        assert_eq!(elsewhere.body, r#"{"accounts":[]}"#);
    }
}
