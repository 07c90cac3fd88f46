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
