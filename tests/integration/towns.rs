//! `tenant apply` is all or nothing: a set of towns is written whole (rows,
//! host names, enabled modules, terms versions, news and pages) or not at
//! all, whether the failure is found before writing (a module configuration)
//! or while writing (a host name another town holds).

use guichet::modules::entity::town_module;
use guichet::tenancy::TenancyError;
use guichet::tenancy::entity::{tenant, tenant_hostname};
use guichet::terms::entity::terms_version;
use guichet::terms::parse_terms_file;
use guichet::towns::{ApplyError, TownDefinition, parse_town};
use sea_orm::{EntityTrait as _, QueryOrder as _};

use crate::harness::{TestApp, TestAppOptions};

/// A town with a custom domain, the invoices module (showing `shown`
/// invoices; 0 is refused by the module's schema) and the given terms.
fn town(slug: &str, name: &str, hostname: &str, shown: u32, terms: &[&str]) -> TownDefinition {
    let text = format!(
        "display_name = \"{name}\"\nhostnames = [\"{hostname}\"]\n\
         [mail]\nsender_name = \"Mairie\"\nsender_address = \"mairie@{slug}.example.fr\"\n\
         [[modules]]\nid = \"invoices\"\nversion = \"^0.1\"\nconfig = {{ payment_info = \"À la régie.\", shown = {shown} }}\n"
    );
    let mut town = parse_town(&text, slug, &format!("{slug}/tenant.toml")).unwrap();
    for (index, source) in terms.iter().enumerate() {
        town.terms
            .push(parse_terms_file(source, &format!("{slug}/terms/{index}.md")).unwrap());
    }
    town
}

/// Every row `tenant apply` writes, across towns.
#[derive(Debug, PartialEq)]
struct Written {
    towns: Vec<tenant::Model>,
    hostnames: Vec<tenant_hostname::Model>,
    modules: Vec<town_module::Model>,
    terms: Vec<terms_version::Model>,
}

async fn written(app: &TestApp) -> Written {
    let db = &app.app.db;
    Written {
        towns: tenant::Entity::find()
            .order_by_asc(tenant::Column::Id)
            .all(db)
            .await
            .unwrap(),
        hostnames: tenant_hostname::Entity::find()
            .order_by_asc(tenant_hostname::Column::Hostname)
            .all(db)
            .await
            .unwrap(),
        modules: town_module::Entity::find()
            .order_by_asc(town_module::Column::Id)
            .all(db)
            .await
            .unwrap(),
        terms: terms_version::Entity::find()
            .order_by_asc(terms_version::Column::Id)
            .all(db)
            .await
            .unwrap(),
    }
}

async fn empty_app(backend: crate::harness::Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        TestAppOptions {
            demo_towns: false,
            ..Default::default()
        },
    )
    .await
}

on_both_databases! {
    async fn an_invalid_module_configuration_in_the_third_town_writes_nothing(backend) {
        let app = empty_app(backend).await;
        let towns = [
            town("alpha", "Alpha", "portail.alpha.example.fr", 5, &["CGU d'Alpha"]),
            town("beta", "Beta", "portail.beta.example.fr", 5, &["CGU de Beta"]),
            town("gamma", "Gamma", "portail.gamma.example.fr", 0, &["CGU de Gamma"]),
        ];
        let error = app.app.apply_towns(&towns).await.unwrap_err();
        assert!(
            matches!(&error, ApplyError::Module { town, message } if town == "gamma" && message.contains("/shown")),
            "{error}"
        );
        let after = written(&app).await;
        assert!(after.towns.is_empty(), "{after:?}");
        assert!(after.hostnames.is_empty(), "{after:?}");
        assert!(after.modules.is_empty(), "{after:?}");
        assert!(after.terms.is_empty(), "{after:?}");
        assert_eq!(app.get("alpha.localhost", "/").await.status, 404);

        // The same when the first two towns exist: their rows, host names,
        // modules and terms stay as they were.
        app.app.apply_towns(&towns[..2]).await.unwrap();
        let before = written(&app).await;
        assert_eq!((before.towns.len(), before.modules.len(), before.terms.len()), (2, 2, 2));
        let changed = [
            town("alpha", "Alpha-sur-Mer", "espace.alpha.example.fr", 7, &["CGU d'Alpha", "CGU d'Alpha, v2"]),
            town("beta", "Beta-les-Bains", "espace.beta.example.fr", 9, &["CGU de Beta, v2"]),
            towns[2].clone(),
        ];
        let error = app.app.apply_towns(&changed).await.unwrap_err();
        assert!(matches!(&error, ApplyError::Module { town, .. } if town == "gamma"), "{error}");
        assert_eq!(written(&app).await, before);
        let page = app.get("alpha.localhost", "/").await;
        assert!(page.body.contains("Alpha") && !page.body.contains("Alpha-sur-Mer"), "{}", page.body);
        assert_eq!(app.get("portail.alpha.example.fr", "/").await.status, 200);
    }

    async fn a_host_name_taken_by_the_third_town_writes_nothing_of_the_first_two(backend) {
        let app = empty_app(backend).await;
        let owner = town("delta", "Delta", "portail.delta.example.fr", 5, &["CGU de Delta"]);
        app.app.apply_towns(std::slice::from_ref(&owner)).await.unwrap();
        let before = written(&app).await;

        // Alpha and Beta are written (rows, modules, terms) before Gamma's
        // host name is found taken, in the same transaction.
        let towns = [
            town("alpha", "Alpha", "portail.alpha.example.fr", 5, &["CGU d'Alpha"]),
            town("beta", "Beta", "portail.beta.example.fr", 5, &["CGU de Beta"]),
            town("gamma", "Gamma", "portail.delta.example.fr", 5, &["CGU de Gamma"]),
        ];
        let error = app.app.apply_towns(&towns).await.unwrap_err();
        assert!(
            matches!(&error, ApplyError::Tenancy(TenancyError::HostnameTaken { owner, .. }) if owner == "delta"),
            "{error}"
        );
        assert_eq!(written(&app).await, before);

        // The same when Alpha and Beta exist and change.
        let mut existing = vec![owner.clone()];
        existing.extend(towns[..2].iter().cloned());
        app.app.apply_towns(&existing).await.unwrap();
        let before = written(&app).await;
        assert_eq!((before.towns.len(), before.modules.len(), before.terms.len()), (3, 3, 3));
        let changed = [
            town("alpha", "Alpha-sur-Mer", "espace.alpha.example.fr", 7, &["CGU d'Alpha, v2"]),
            town("beta", "Beta-les-Bains", "espace.beta.example.fr", 9, &["CGU de Beta, v2"]),
            towns[2].clone(),
        ];
        let error = app.app.apply_towns(&changed).await.unwrap_err();
        assert!(matches!(&error, ApplyError::Tenancy(TenancyError::HostnameTaken { .. })), "{error}");
        assert_eq!(written(&app).await, before);
        assert_eq!(app.get("portail.delta.example.fr", "/").await.status, 200);
        assert!(app.get("espace.alpha.example.fr", "/").await.status == 404);

        // Without the conflict, the changes are applied, all of them.
        let applied = app.app.apply_towns(&changed[..2]).await.unwrap();
        assert_eq!(applied.modules.len(), 2);
        assert_eq!(applied.terms.len(), 2);
        let after = written(&app).await;
        assert_eq!((after.towns.len(), after.modules.len(), after.terms.len()), (3, 3, 5));
        assert!(app.get("espace.alpha.example.fr", "/").await.body.contains("Alpha-sur-Mer"));
    }
}
