//! Every POST of the site refuses a form without this browser's CSRF token,
//! before its handler does anything. The routes are listed from the
//! application itself, so a route added later without a `CsrfForm` fails
//! here.

use guichet::web::kit::STALE_FORM;
use rocket::http::Method;

use crate::harness::{TestApp, csrf_of};

/// A plausible value for each path parameter of the site's POST routes: the
/// request must reach the form's guard, not stop at a missing segment.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "<module_id>" => "absences",
            "<action>" => "signaler",
            "<type_id>" => "attestation-residence",
            "<member_id>" => "1",
            "<id>" => "1",
            "<identifier>" => "michel.arpege",
            "<code>" => "desactivation",
            "<mail>" => "1",
            "<slug>" => "activites",
            "<module>" => "tariffs",
            "<reference>" => "D-2026-000001",
            "<document_id>" => "attestation-fiscale",
            "<token>" => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            other if other.starts_with('<') => panic!("no value for {other} in {path}"),
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

on_both_databases! {
    async fn every_post_route_refuses_a_missing_or_foreign_csrf_token(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut resident, _) = app.active_resident("villeneuve", "csrf@example.org").await;
        // The back-office's forms are sent by a logged-in administrator
        // (whose guards let them through to the token's check).
        let (mut staff, _) = app
            .staff_with_member("villeneuve", guichet::staff::StaffRole::Administrateur)
            .await;
        // A token this site made, but for another browser.
        let mut other = app.visitor("villeneuve.localhost");
        let foreign = csrf_of(&other.get("/connexion").await.body);

        let rocket = guichet::web::build(&app.app, rocket::Config::debug_default());
        let mut posts: Vec<String> = rocket
            .routes()
            .filter(|route| route.method == Method::Post)
            // The data API authenticates with keys, not cookies.
            .filter(|route| !route.uri.path().starts_with(guichet::api::BASE))
            // The payment provider's notification and the resident's
            // return from its page come from the provider, with no token:
            // they only make Guichet ask the provider (payments.rs tests
            // that they believe nothing by themselves).
            .filter(|route| {
                let path = route.uri.path();
                path != "/paiements/notification" && !path.starts_with("/paiements/retour/")
            })
            .map(|route| concrete(route.uri.path()))
            .collect();
        posts.sort();
        posts.dedup();
        assert!(posts.len() >= 21, "{posts:?}");
        for path in &posts {
            let browser = if path.starts_with("/admin") { &mut staff } else { &mut resident };
            let missing = browser.post(path, &[]).await;
            assert_eq!(missing.status, 422, "{path} without a token");
            assert!(missing.text().contains(STALE_FORM), "{path}: {}", missing.body);
            let forged = browser.post(path, &[("csrf", &foreign)]).await;
            assert_eq!(forged.status, 403, "{path} with another browser's token");
            assert!(forged.text().contains(STALE_FORM), "{path}: {}", forged.body);
        }
        // Nothing happened: still logged in, no request filed, no logout.
        let home = resident.get("/").await;
        assert!(home.body.contains("Bonjour"), "{}", home.body);
        assert!(!resident.get("/demarches").await.body.contains("D-"));
        assert_eq!(staff.get("/admin/agents").await.status, 200, "still logged in, still an administrator");
    }
}
