//! Every `/admin` route × every kind of visitor → the expected answer. The
//! routes come from the application itself, and each must have a row in
//! [`ROUTES`] with the least it needs: a route mounted without one fails
//! here, by design.
//!
//! POSTs are sent without a CSRF token: a visitor the route's guards let in
//! gets the form's refusal (422) and nothing happens; one they refuse gets
//! the refusal of the guards (to the login page, or 403).

use guichet::staff::StaffRole;
use rocket::http::Method;

use crate::harness::{TestApp, TestResponse, Visitor};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Least {
    /// Anyone (the login page, invitation links).
    Anyone,
    /// A staff session of the town, even one still at the code step (the
    /// code step itself, logout).
    StaffSession,
    /// A member logged in with both factors, with this role or above.
    Role(StaffRole),
}

use Least::{Anyone, Role, StaffSession};
use StaffRole::{Administrateur, Agent, Gestionnaire};

/// Every route of the staff face: method, path as mounted, least needed.
const ROUTES: &[(&str, &str, Least)] = &[
    ("GET", "/admin/connexion", Anyone),
    ("POST", "/admin/connexion", Anyone),
    ("GET", "/admin/connexion/code", StaffSession),
    ("POST", "/admin/connexion/code", StaffSession),
    ("POST", "/admin/connexion/enrolement", StaffSession),
    ("POST", "/admin/deconnexion", StaffSession),
    ("GET", "/admin/invitation/<token>", Anyone),
    ("POST", "/admin/invitation/<token>", Anyone),
    ("GET", "/admin", Role(Agent)),
    ("GET", "/admin/usagers/import", Role(Gestionnaire)),
    ("POST", "/admin/usagers/import", Role(Gestionnaire)),
    ("GET", "/admin/usagers/import/<id>", Role(Gestionnaire)),
    (
        "GET",
        "/admin/usagers/import/<id>/rapport.csv",
        Role(Gestionnaire),
    ),
    (
        "POST",
        "/admin/usagers/import/<id>/executer",
        Role(Gestionnaire),
    ),
    ("GET", "/admin/agents", Role(Administrateur)),
    ("POST", "/admin/agents", Role(Administrateur)),
    ("POST", "/admin/agents/<id>/role", Role(Administrateur)),
    ("POST", "/admin/agents/<id>/suspendre", Role(Administrateur)),
    ("POST", "/admin/agents/<id>/reactiver", Role(Administrateur)),
    ("GET", "/admin/usagers", Role(Agent)),
    ("GET", "/admin/usagers/nouveau", Role(Gestionnaire)),
    ("POST", "/admin/usagers/nouveau", Role(Gestionnaire)),
    ("GET", "/admin/usagers/<identifier>", Role(Agent)),
    (
        "GET",
        "/admin/usagers/<identifier>/<code>",
        Role(Gestionnaire),
    ),
    (
        "POST",
        "/admin/usagers/<identifier>/<code>",
        Role(Gestionnaire),
    ),
    (
        "GET",
        "/admin/usagers/<identifier>/courriels-refuses/<mail>",
        Role(Gestionnaire),
    ),
    (
        "POST",
        "/admin/usagers/<identifier>/courriels-refuses/<mail>",
        Role(Gestionnaire),
    ),
    (
        "POST",
        "/admin/usagers/<identifier>/export-donnees",
        Role(Gestionnaire),
    ),
    ("GET", "/admin/donnees-personnelles", Role(Administrateur)),
    ("POST", "/admin/donnees-personnelles", Role(Administrateur)),
    ("GET", "/admin/usagers/<identifier>/documents", Role(Agent)),
    (
        "POST",
        "/admin/usagers/<identifier>/documents/<module_id>/<document_id>",
        Role(Agent),
    ),
    (
        "GET",
        "/admin/usagers/<identifier>/documents/<id>",
        Role(Agent),
    ),
    ("GET", "/admin/documents", Role(Administrateur)),
    ("POST", "/admin/documents", Role(Administrateur)),
    ("GET", "/admin/journal", Role(Agent)),
    ("GET", "/admin/paiements", Role(Agent)),
    ("GET", "/admin/paiements/export", Role(Agent)),
    ("GET", "/admin/paiements/<id>", Role(Agent)),
    ("POST", "/admin/paiements/<id>/verifier", Role(Agent)),
    ("GET", "/admin/paiements/reglages", Role(Administrateur)),
    ("POST", "/admin/paiements/reglages", Role(Administrateur)),
    ("GET", "/admin/journal/export", Role(Agent)),
    ("GET", "/admin/actualites", Role(Gestionnaire)),
    ("GET", "/admin/actualites/nouvelle", Role(Gestionnaire)),
    ("POST", "/admin/actualites/nouvelle", Role(Gestionnaire)),
    ("GET", "/admin/actualites/<slug>", Role(Gestionnaire)),
    ("POST", "/admin/actualites/<slug>", Role(Gestionnaire)),
    (
        "POST",
        "/admin/actualites/<slug>/depublier",
        Role(Gestionnaire),
    ),
    ("GET", "/admin/pages", Role(Gestionnaire)),
    ("GET", "/admin/pages/<slug>", Role(Gestionnaire)),
    ("POST", "/admin/pages/<slug>", Role(Gestionnaire)),
    ("GET", "/admin/cgu", Role(Administrateur)),
    ("POST", "/admin/cgu/apercu", Role(Administrateur)),
    ("POST", "/admin/cgu/publier", Role(Administrateur)),
    ("GET", "/admin/cgu/acceptations.csv", Role(Administrateur)),
    ("GET", "/admin/modules", Role(Administrateur)),
    (
        "GET",
        "/admin/modules/<module>/configuration",
        Role(Administrateur),
    ),
    (
        "POST",
        "/admin/modules/<module>/configuration",
        Role(Administrateur),
    ),
    (
        "POST",
        "/admin/modules/<module>/desactiver",
        Role(Administrateur),
    ),
    // The modules' staff views and actions: any member reaches the guard;
    // each view and action then needs the role its module declared
    // (tests/integration/modules_v2.rs).
    ("GET", "/admin/services", Role(Agent)),
    ("GET", "/admin/services/<module_id>/<view>", Role(Agent)),
    ("GET", "/admin/services/<module_id>/<view>/csv", Role(Agent)),
    ("POST", "/admin/services/<module_id>/<action>", Role(Agent)),
    ("GET", "/admin/demandes", Role(Agent)),
    ("GET", "/admin/demandes/<reference>", Role(Agent)),
    ("POST", "/admin/demandes/<reference>/prendre", Role(Agent)),
    (
        "POST",
        "/admin/demandes/<reference>/attribuer",
        Role(Gestionnaire),
    ),
    ("POST", "/admin/demandes/<reference>/statut", Role(Agent)),
    ("POST", "/admin/demandes/<reference>/note", Role(Agent)),
    ("GET", "/admin/avis", Role(Agent)),
    ("POST", "/admin/avis/<id>/lu", Role(Agent)),
    ("POST", "/admin/avis/<id>/traite", Role(Agent)),
    ("POST", "/admin/avis/<id>/repondre", Role(Agent)),
];

/// A plausible value for each path parameter: the request must reach the
/// guards, not stop at a missing segment.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "<token>" => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "<id>" => "999999",
            // The matrix's resident (`active_resident`): pages that read
            // an account open, forms that change one meet the CSRF check.
            "<identifier>" => "michel.arpege",
            "<code>" => "desactivation",
            "<mail>" => "999999",
            "<slug>" => "inconnue",
            "<module>" => "tariffs",
            "<module_id>" => "tariffs",
            "<view>" => "inscrits",
            "<action>" => "capacite",
            "<reference>" => "D-2026-999999",
            "<document_id>" => "attestation-fiscale",
            other if other.starts_with('<') => panic!("no value for {other} in {path}"),
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Resident,
    /// An administrator of Saint-Martin, with their cookie, on Villeneuve.
    OtherTownAdministrator,
    /// A Villeneuve member whose password was right, code not given yet.
    AtCodeStep,
    Member(StaffRole),
}

/// What the visitor should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    ToLogin,
    ToCodeStep,
    Forbidden,
    Open,
}

fn expected(least: Least, who: Who) -> Expected {
    match (least, who) {
        (Anyone, _) => Expected::Open,
        (_, Who::Nobody | Who::Resident | Who::OtherTownAdministrator) => Expected::ToLogin,
        (StaffSession, _) => Expected::Open,
        (Role(_), Who::AtCodeStep) => Expected::ToCodeStep,
        (Role(least), Who::Member(role)) if role >= least => Expected::Open,
        (Role(_), Who::Member(_)) => Expected::Forbidden,
    }
}

fn check(method: &str, path: &str, who: Who, want: Expected, response: &TestResponse) {
    let location = response.header("location").unwrap_or_default();
    let context = format!(
        "{method} {path} as {who:?}: {} {location}\n{}",
        response.status, response.body
    );
    match want {
        Expected::ToLogin => {
            assert_eq!(response.status, 303, "{context}");
            assert!(location.starts_with("/admin/connexion"), "{context}");
            assert!(!location.starts_with("/admin/connexion/code"), "{context}");
        }
        Expected::ToCodeStep => {
            assert_eq!(response.status, 303, "{context}");
            assert!(location.starts_with("/admin/connexion/code"), "{context}");
        }
        Expected::Forbidden => {
            assert_eq!(response.status, 403, "{context}");
            assert!(response.text().contains("Accès refusé"), "{context}");
            assert!(response.body.contains("Espace agents"), "{context}");
        }
        Expected::Open => {
            assert!(![401, 403].contains(&response.status), "{context}");
            assert!(
                !(response.status == 303
                    && location.starts_with("/admin/connexion")
                    && !path.starts_with("/admin/connexion")),
                "{context}"
            );
            if method == "POST" {
                assert_eq!(response.status, 422, "{context}");
            }
        }
    }
}

on_both_databases! {
    async fn every_admin_route_answers_each_visitor_as_its_role_allows(backend) {
        let app = TestApp::spawn(backend).await;
        let rocket = guichet::web::build(&app.app, rocket::Config::debug_default());
        let mut mounted: Vec<(String, String)> = rocket
            .routes()
            .filter(|route| route.uri.path().starts_with("/admin"))
            .map(|route| (route.method.as_str().to_owned(), route.uri.path().to_string()))
            .collect();
        mounted.sort();
        mounted.dedup();
        for (method, path) in &mounted {
            assert!(
                ROUTES.iter().any(|(m, p, _)| m == method && p == path),
                "{method} {path} is mounted but has no row in admin_routes.rs ROUTES"
            );
        }
        for (method, path, _) in ROUTES {
            assert!(
                mounted.iter().any(|(m, p)| m == method && p == path),
                "{method} {path} is in ROUTES but not mounted: {mounted:?}"
            );
        }

        let host = "villeneuve.localhost";
        let mut visitors: Vec<(Who, Visitor)> = vec![(Who::Nobody, app.visitor(host))];
        let (resident, _) = app.active_resident("villeneuve", "matrice@example.org").await;
        visitors.push((Who::Resident, resident));
        let mut foreign = app.staff("saint-martin", Administrateur).await;
        foreign.host = host.to_owned();
        visitors.push((Who::OtherTownAdministrator, foreign));
        let half = app.ready_staff("villeneuve", Administrateur).await;
        let mut at_code = app.visitor(host);
        let step = at_code
            .submit(
                "/admin/connexion",
                "/admin/connexion",
                &[("email", &half.member.email), ("password", &half.password)],
            )
            .await;
        assert_eq!(step.status, 303);
        visitors.push((Who::AtCodeStep, at_code));
        for role in StaffRole::ALL {
            visitors.push((Who::Member(role), app.staff("villeneuve", role).await));
        }

        for (method, path, least) in ROUTES {
            let url = concrete(path);
            for (who, visitor) in &mut visitors {
                let response = if *method == Method::Get.as_str() {
                    visitor.get(&url).await
                } else {
                    visitor.post(&url, &[]).await
                };
                check(method, path, *who, expected(*least, *who), &response);
            }
        }
    }
}
