//! A request's town comes from its `Host` header; towns are applied from
//! their definitions, idempotently.

use guichet::tenancy::{ApplyOutcome, TenancyError};
use guichet::terms::PublishOutcome;
use guichet::towns::{ApplyError, load_definitions, parse_town};

use crate::harness::{TestApp, TestAppOptions, repo_root};

const VILLENEUVE: &str = "Ville de Villeneuve";
const SAINT_MARTIN: &str = "Saint-Martin";

fn names_no_town(body: &str) {
    let lowered = body.to_lowercase();
    for name in ["villeneuve", "saint-martin", "saint martin"] {
        assert!(
            !lowered.contains(name),
            "the page names a town ({name}):\n{body}"
        );
    }
}

on_both_databases! {
    async fn a_town_applied_is_served_at_once_though_towns_are_kept_in_memory(backend) {
        let app = TestApp::spawn(backend).await;
        // Resolved once (and kept), in any case of the host.
        let before = app.get("VILLENEUVE.localhost", "/connexion").await;
        assert!(before.text().contains("Ville de Villeneuve"), "{}", before.body);
        let mut definition = app.town("villeneuve").await.definition.clone();
        definition.display_name = "Ville Nouvelle".to_owned();
        app.app.apply_towns(&[definition.into()]).await.unwrap();
        let after = app.get("villeneuve.localhost", "/connexion").await;
        assert!(after.text().contains("Ville Nouvelle"), "{}", after.body);
        assert!(!after.text().contains("Ville de Villeneuve"));
    }

    async fn a_town_read_again_unchanged_is_the_same_value(backend) {
        // Unwatched: a town kept is trusted for half a second, then read
        // again. Pages are kept under the town's identity, so an unchanged
        // town must come back as the same value, a changed one as another.
        let app = TestApp::spawn(backend).await;
        let directory = guichet::tenancy::TenantDirectory::new(app.app.db.clone(), "localhost");
        let first = directory.resolve_host_cached("villeneuve.localhost").await.unwrap().unwrap();
        tokio::time::sleep(guichet::tenancy::TOWN_CACHE_UNWATCHED * 2).await;
        let again = directory.resolve_host_cached("villeneuve.localhost").await.unwrap().unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &again), "read again unchanged: the same value");
        let mut definition = app.town("villeneuve").await.definition.clone();
        definition.display_name = "Ville Nouvelle".to_owned();
        app.app.apply_towns(&[definition.into()]).await.unwrap();
        tokio::time::sleep(guichet::tenancy::TOWN_CACHE_UNWATCHED * 2).await;
        let changed = directory.resolve_host_cached("villeneuve.localhost").await.unwrap().unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &changed));
        assert_eq!(changed.display_name, "Ville Nouvelle");
    }

    async fn each_subdomain_serves_its_own_town(backend) {
        let app = TestApp::spawn(backend).await;
        let villeneuve = app.get("villeneuve.localhost", "/").await;
        assert_eq!(villeneuve.status, 200);
        assert!(villeneuve.body.contains(VILLENEUVE));
        assert!(!villeneuve.body.contains(SAINT_MARTIN));

        let saint_martin = app.get("saint-martin.localhost", "/").await;
        assert_eq!(saint_martin.status, 200);
        assert!(saint_martin.body.contains(SAINT_MARTIN));
        assert!(!saint_martin.body.contains(VILLENEUVE));
    }

    async fn custom_domains_serve_their_town(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.get("espace-citoyens.villeneuve.example.fr", "/").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(VILLENEUVE));
    }

    async fn port_case_and_trailing_dot_are_ignored(backend) {
        let app = TestApp::spawn(backend).await;
        for host in [
            "villeneuve.localhost:8443",
            "VilleNeuve.LOCALHOST",
            "villeneuve.localhost.",
            "ESPACE-CITOYENS.villeneuve.example.fr:443",
        ] {
            let page = app.get(host, "/").await;
            assert_eq!(page.status, 200, "{host}");
            assert!(page.body.contains(VILLENEUVE), "{host}");
        }
    }

    async fn unknown_hosts_get_a_neutral_404(backend) {
        let app = TestApp::spawn(backend).await;
        for host in [
            "nowhere.localhost",
            "localhost",
            "a.villeneuve.localhost",
            "villeneuve.example.fr",
            "127.0.0.1",
            "villeneuve.localhost.evil.example",
        ] {
            for path in ["/", "/connexion", "/does-not-exist"] {
                let page = app.get(host, path).await;
                assert_eq!(page.status, 404, "{host}{path}");
                assert!(page.body.contains("Adresse inconnue"), "{host}{path}");
                names_no_town(&page.body);
            }
        }
    }

    async fn unknown_paths_of_a_town_get_its_themed_404(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.get("saint-martin.localhost", "/nulle-part").await;
        assert_eq!(page.status, 404);
        assert!(page.body.contains("Page introuvable"));
        assert!(page.body.contains(SAINT_MARTIN));
    }

    async fn tenant_apply_is_idempotent(backend) {
        let app = TestApp::spawn_with(backend, TestAppOptions { demo_towns: false, ..Default::default() }).await;
        let towns = load_definitions(&repo_root().join("tenants")).unwrap();
        assert_eq!(
            app.app.apply_towns(&towns).await.unwrap().towns,
            [
                ApplyOutcome::Created("saint-martin".to_owned()),
                ApplyOutcome::Created("villeneuve".to_owned()),
            ]
        );
        let again = app.app.apply_towns(&towns).await.unwrap();
        assert_eq!(
            again.towns,
            [
                ApplyOutcome::Unchanged("saint-martin".to_owned()),
                ApplyOutcome::Unchanged("villeneuve".to_owned()),
            ]
        );
        // Their terms were published once, and are unchanged the second time.
        assert!(again.terms.iter().all(|(_, outcome)| matches!(outcome, PublishOutcome::Unchanged { number: 1 })));
        let listed = app.app.tenants.list().await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].hostnames, ["espace-citoyens.villeneuve.example.fr"]);

        // A change is applied, and visible at once.
        let mut renamed = towns.clone();
        renamed[1].definition.display_name = "Villeneuve-sur-Test".to_owned();
        renamed[1].definition.hostnames = vec!["portail.villeneuve.example.fr".to_owned()];
        assert_eq!(
            app.app.apply_towns(&renamed).await.unwrap().towns[1],
            ApplyOutcome::Updated("villeneuve".to_owned())
        );
        assert!(app.get("villeneuve.localhost", "/").await.body.contains("Villeneuve-sur-Test"));
        assert_eq!(app.get("portail.villeneuve.example.fr", "/").await.status, 200);
        // The dropped custom domain no longer answers.
        assert_eq!(app.get("espace-citoyens.villeneuve.example.fr", "/").await.status, 404);
    }

    async fn a_custom_domain_belongs_to_one_town_and_a_failed_apply_changes_nothing(backend) {
        let app = TestApp::spawn_with(backend, TestAppOptions { demo_towns: false, ..Default::default() }).await;
        let towns = load_definitions(&repo_root().join("tenants")).unwrap();
        app.app.apply_towns(&towns[1..]).await.unwrap(); // villeneuve only

        let mut intruder = towns[0].clone(); // saint-martin
        intruder.definition.hostnames = vec!["espace-citoyens.villeneuve.example.fr".to_owned()];
        let newcomer = parse_town(
            "display_name = \"Nouvelle\"\n[mail]\nsender_name = \"M\"\nsender_address = \"m@nouvelle.fr\"",
            "nouvelle",
            "nouvelle/tenant.toml",
        )
        .unwrap();
        let error = app.app.apply_towns(&[newcomer, intruder]).await.unwrap_err();
        assert!(
            matches!(&error, ApplyError::Tenancy(TenancyError::HostnameTaken { owner, .. }) if owner == "villeneuve"),
            "{error}"
        );
        // All or nothing: the town applied before the conflict is not there.
        let slugs: Vec<String> = app.app.tenants.list().await.unwrap().into_iter().map(|t| t.slug).collect();
        assert_eq!(slugs, ["villeneuve"]);
        assert!(app.get("espace-citoyens.villeneuve.example.fr", "/").await.body.contains(VILLENEUVE));
    }

    async fn a_custom_domain_under_the_base_domain_is_refused(backend) {
        let app = TestApp::spawn_with(backend, TestAppOptions { demo_towns: false, ..Default::default() }).await;
        let mut towns = load_definitions(&repo_root().join("tenants")).unwrap();
        towns[0].definition.hostnames = vec!["villeneuve.localhost".to_owned()];
        let error = app.app.apply_towns(&towns).await.unwrap_err();
        assert!(
            matches!(&error, ApplyError::Tenancy(TenancyError::HostnameUnderBaseDomain { .. })),
            "{error}"
        );
        assert!(app.app.tenants.list().await.unwrap().is_empty());
    }

    async fn a_town_with_an_unknown_theme_is_refused(backend) {
        let app = TestApp::spawn_with(backend, TestAppOptions { demo_towns: false, ..Default::default() }).await;
        let mut towns = load_definitions(&repo_root().join("tenants")).unwrap();
        towns[0].definition.theme = "does-not-exist".to_owned();
        let error = app.app.apply_towns(&towns).await.unwrap_err().to_string();
        assert!(error.contains("does-not-exist"), "{error}");
        assert!(app.app.tenants.list().await.unwrap().is_empty());
    }
}
