//! `/metrics`: each family operators watch, scraped after the requests
//! that move it, with the values those requests must give.

use guichet::staff::StaffRole;

use crate::harness::{Smtp, TestApp, TestAppOptions, free_port};

/// The value of the sample `name{labels}` (labels as written, in order).
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(name_and_labels)?.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

fn has(text: &str, name_and_labels: &str) -> f64 {
    sample(text, name_and_labels).unwrap_or_else(|| panic!("no {name_and_labels} in:\n{text}"))
}

on_both_databases! {
    async fn every_family_operators_watch_is_served_with_its_values(backend) {
        // Nothing listens on the SMTP port: mail waits in the outbox.
        let app = TestApp::spawn_with(
            backend,
            TestAppOptions { smtp: Smtp::Port(free_port()), ..Default::default() },
        )
        .await;
        let (mut resident, identifier) = app_resident(&app).await;
        // One login refused, one that succeeded (app_resident's last).
        let mut stranger = app.visitor("villeneuve.localhost");
        assert_eq!(stranger.login(&identifier, "pas-le-bon-mot-de-passe").await.status, 401);
        // The dashboard: module calls.
        assert_eq!(resident.get("/").await.status, 200);
        // A staff login (password and code).
        app.staff("villeneuve", StaffRole::Agent).await;
        // A town's host that does not exist: no route.
        assert_eq!(app.get("nulle-part.localhost", "/connexion").await.status, 404);

        let scraped = app.get("127.0.0.1", "/metrics").await;
        assert_eq!(scraped.status, 200);
        assert_eq!(
            scraped.header("content-type"),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        let text = &scraped.body;
        assert!(text.ends_with("# EOF\n"), "{text}");

        // Requests by route pattern, method and status.
        assert!(has(text, r#"guichet_http_request_duration_seconds_count{route="/connexion",method="POST",status="401"}"#) >= 1.0);
        assert!(has(text, r#"guichet_http_request_duration_seconds_count{route="/",method="GET",status="200"}"#) >= 1.0);
        assert!(has(text, r#"guichet_http_request_duration_seconds_sum{route="/",method="GET",status="200"}"#) > 0.0);
        assert!(has(text, r#"guichet_http_request_duration_seconds_bucket{le="+Inf",route="/",method="GET",status="200"}"#) >= 1.0
            || has(text, r#"guichet_http_request_duration_seconds_bucket{route="/",method="GET",status="200",le="+Inf"}"#) >= 1.0);
        assert!(text.contains(r#"route="/admin/connexion",method="POST",status="303""#), "{text}");
        // Never the path a client typed: the unknown host's request has no route.
        assert!(!text.contains("nulle-part"), "{text}");

        // Logins by face and outcome.
        assert!(has(text, r#"guichet_logins_total{face="resident",outcome="refused"}"#) >= 1.0);
        assert!(has(text, r#"guichet_logins_total{face="resident",outcome="success"}"#) >= 1.0);
        assert_eq!(has(text, r#"guichet_logins_total{face="staff",outcome="success"}"#), 1.0);

        // The outbox: the activation mail (and the staff's none) waits.
        assert!(has(text, "guichet_mail_outbox_pending") >= 1.0);
        assert!(has(text, "guichet_mail_outbox_oldest_pending_age_seconds") > 0.0);

        // Module calls by town, module, version and outcome; their durations.
        let version = invoices_version(&app).await;
        assert!(has(text, &format!(r#"guichet_module_calls_total{{town="villeneuve",module="invoices",version="{version}",outcome="ok"}}"#)) >= 1.0);
        assert!(has(text, &format!(r#"guichet_module_call_duration_seconds_count{{module="invoices",version="{version}",outcome="ok"}}"#)) >= 1.0);
        assert!(text.contains(r#"guichet_module_slots{scope="server""#), "{text}");
        // Their CPU time, by town and module.
        assert!(has(text, r#"guichet_module_cpu_seconds_total{town="villeneuve",module="invoices"}"#) > 0.0);

        // The instance pool: no call runs at the scrape; the memories the
        // dashboard's calls used stay resident (at most 1 MiB each, two per
        // server slot) where the kernel tells which pages were written
        // (PAGEMAP_SCAN), and go back to it otherwise.
        assert_eq!(has(text, "guichet_module_pool_instances"), 0.0);
        let slots = has(text, r#"guichet_module_slots{scope="server"}"#);
        let memories = has(text, r#"guichet_module_pool_idle_resident_bytes{kind="memories"}"#);
        if wasmtime::PoolingAllocationConfig::is_pagemap_scan_available() {
            assert!(memories > 0.0 && memories <= slots * 2.0 * 1_048_576.0, "{memories}");
        } else {
            assert_eq!(memories, 0.0);
        }
        // Tables: at most 256 KiB each, four per server slot.
        let tables = has(text, r#"guichet_module_pool_idle_resident_bytes{kind="tables"}"#);
        assert!(tables <= slots * 4.0 * 262_144.0, "{tables}");

        // The database pool.
        let max = has(text, r#"guichet_db_pool_connections{state="max"}"#);
        let open = has(text, r#"guichet_db_pool_connections{state="open"}"#);
        let idle = has(text, r#"guichet_db_pool_connections{state="idle"}"#);
        assert!(max == 8.0 || max == 32.0, "{max}");
        assert!(open >= 1.0 && open <= max && idle <= open, "{open} {idle} {max}");

    }
}

/// A resident of Villeneuve through the seed flow, without the SMTP sink:
/// the account is made ready directly.
async fn app_resident(app: &TestApp) -> (crate::harness::Visitor, String) {
    let towns =
        guichet::towns::load_definitions(&crate::harness::repo_root().join("tenants")).unwrap();
    let demo = guichet::demo::ensure_residents(&app.app, &towns)
        .await
        .unwrap();
    // And an account awaiting activation, whose mail waits in the outbox.
    app.create_resident("villeneuve", "Jeanne", "Martin", "jeanne@example.org")
        .await;
    let mut browser = app.visitor("villeneuve.localhost");
    assert_eq!(
        browser.login(&demo.identifier, &demo.password).await.status,
        303
    );
    assert_eq!(browser.accept_terms().await.status, 303);
    (browser, demo.identifier)
}

async fn invoices_version(app: &TestApp) -> String {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    guichet::modules::entity::module_release::Entity::find()
        .filter(guichet::modules::entity::module_release::Column::ModuleId.eq("invoices"))
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap()
        .version
}
