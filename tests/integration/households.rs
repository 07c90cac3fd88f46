//! The household's one set of rules, as the data API and the resident's
//! form answer them.

use crate::harness::TestApp;

/// The `error` object of a JSON answer.
fn error_of(body: &str) -> (String, String) {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
    (
        value["error"]["code"].as_str().unwrap().to_owned(),
        value["error"]["message"].as_str().unwrap().to_owned(),
    )
}

fn member(first: &str, last: &str, relation: &str) -> serde_json::Value {
    serde_json::json!({"first_name": first, "last_name": last, "relation": relation})
}

on_both_databases! {
    async fn the_api_answers_each_rule_in_its_words(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = app.active_resident("villeneuve", "v@example.org").await;
        let town = app.town("villeneuve").await;
        let key = guichet::api::ApiKeys::new(app.app.db.clone()).create(&town, "Scolaire").await.unwrap().secret;
        let path = format!("/api/v1/residents/{identifier}/household");
        let put = |members: Vec<serde_json::Value>| {
            let request = app.request(reqwest::Method::PUT, "villeneuve.localhost", &path)
                .header("Authorization", format!("Bearer {key}"))
                .body(serde_json::json!({"members": members}).to_string());
            app.send(request)
        };

        let lea = serde_json::json!({"first_name": " Léa ", "last_name": "Arpège", "birth_date": "2012-09-03", "relation": "enfant", "external_ref": "ENF-1"});
        let stored = put(vec![lea.clone()]).await;
        assert_eq!(stored.status, 200, "{}", stored.body);
        let body: serde_json::Value = serde_json::from_str(&stored.body).unwrap();
        assert_eq!(body, serde_json::json!({"members": [{"first_name": "Léa", "last_name": "Arpège", "birth_date": "2012-09-03", "relation": "enfant", "external_ref": "ENF-1"}]}));

        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).date_naive();
        let tomorrow = (today + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
        let mut future = lea.clone();
        future["birth_date"] = serde_json::Value::String(tomorrow);
        let mut long_ref = lea.clone();
        long_ref["external_ref"] = serde_json::Value::String("x".repeat(65));
        for (members, message) in [
            (vec![member("", "Arpège", "enfant")], "membre 0 : prénom et nom sont requis (100 caractères au plus)"),
            (vec![lea.clone(), member("Léa", &"é".repeat(101), "enfant")], "membre 1 : prénom et nom sont requis (100 caractères au plus)"),
            (vec![lea.clone(), member("Jean", "Arpège", "cousin")], "membre 1 : le lien « cousin » n'est pas l'un de : conjoint, enfant, co-parent, responsable, autre"),
            (vec![long_ref], "membre 0 : external_ref fait 64 caractères au plus"),
            (vec![member("Léa", "Arpège", "enfant"); 51], "un foyer compte 50 membres au plus"),
            // The birth date rule of the form, now the API's too.
            (vec![future], "membre 0 : birth_date ne peut pas être après aujourd'hui"),
        ] {
            let refused = put(members).await;
            assert_eq!(refused.status, 422, "{message}: {}", refused.body);
            assert_eq!(error_of(&refused.body), ("invalid_member".to_owned(), message.to_owned()));
        }
        let mut unreadable = lea.clone();
        unreadable["birth_date"] = serde_json::Value::String("2012-13-01".to_owned());
        let refused = put(vec![unreadable]).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(error_of(&refused.body).0, "invalid_json");

        // Nothing refused was stored.
        let kept = app.send(app.request(reqwest::Method::GET, "villeneuve.localhost", &path)
            .header("Authorization", format!("Bearer {key}"))).await;
        assert_eq!(kept.body, stored.body);
    }

    async fn the_form_answers_the_same_rules_field_by_field(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, _) = app.active_resident("saint-martin", "s@example.org").await;
        let refused = browser
            .submit("/famille", "/famille/membres", &[("first_name", &"é".repeat(101)), ("last_name", " "), ("birth_date", "03/09/2012"), ("relation", "cousin")])
            .await;
        assert_eq!(refused.status, 422);
        let body = refused.text();
        for message in [
            "Indiquez le prénom (100 caractères au plus).",
            "Indiquez le nom (100 caractères au plus).",
            "Indiquez une date de naissance passée, au format JJ/MM/AAAA.",
            "Choisissez le lien avec vous.",
        ] {
            assert!(body.contains(message), "{message}: {body}");
        }
        let added = browser
            .submit("/famille", "/famille/membres", &[("first_name", " Léa "), ("last_name", "Arpège"), ("birth_date", ""), ("relation", "co-parent")])
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        let page = browser.get("/famille").await.text();
        assert!(page.contains("Léa ARPÈGE") && page.contains("Co-parent"), "{page}");
    }
}
