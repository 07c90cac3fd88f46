//! How a town's module releases change: an id belongs to one publisher
//! (Guichet's own ids to Guichet), a town keeps its release until it is
//! upgraded, and Guichet's own modules follow the binary.

use guichet::modules::entity::{module_release, town_module};
use guichet::modules::{ModuleEnablement, PublishError, Publisher, UpgradeError};
use guichet::towns::{TownDefinition, load_definitions};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
};

use crate::harness::{TestApp, repo_root};

fn built_module(crate_name: &str) -> Vec<u8> {
    let path =
        std::path::PathBuf::from(env!("MODULES_BUILD_DIR")).join(format!("{crate_name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn demo_towns() -> Vec<TownDefinition> {
    load_definitions(&repo_root().join("tenants")).unwrap()
}

fn enable(towns: &mut [TownDefinition], slug: &str, id: &str, version: &str) {
    let town = towns
        .iter_mut()
        .find(|town| town.definition.slug == slug)
        .unwrap();
    let config = match id {
        "bloc-notes" => serde_json::json!({"intro": "Vos notes."}),
        _ => serde_json::json!({}),
    };
    town.definition
        .edit_section(|modules: &mut Vec<ModuleEnablement>| {
            modules.retain(|module| module.id != id);
            modules.push(ModuleEnablement {
                id: id.to_owned(),
                version: version.to_owned(),
                config,
                storage: None,
            });
        })
        .unwrap();
}

/// The version of `module` the town uses now.
async fn pinned_version(app: &TestApp, slug: &str, module: &str) -> String {
    let town = app.town(slug).await;
    app.app
        .modules
        .enabled_module(&town, module)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{slug} does not enable {module}"))
        .release
        .version
}

/// The hoarder's tile as a resident of `slug` sees it: its version.
async fn rendered_version(app: &TestApp, slug: &str, email: &str) -> String {
    let (mut browser, _) = app.active_resident(slug, email).await;
    let page = browser.get("/services/hoarder/etat").await.body;
    let marker = "<dt>version</dt><dd>";
    let start = page.find(marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    page[start..start + page[start..].find("</dd>").unwrap()].to_owned()
}

on_both_databases! {
    async fn a_third_party_cannot_take_over_a_first_party_id(backend) {
        let app = TestApp::spawn(backend).await;
        let impostor = built_module("guichet_module_impostor");
        let refused = app.app.modules.publish(&impostor).await;
        assert!(
            matches!(&refused, Err(PublishError::FirstPartyId { module_id }) if module_id == "invoices"),
            "{refused:?}"
        );
        let message = refused.unwrap_err().to_string();
        assert!(message.contains("belongs to Guichet's own modules"), "{message}");
        // Nothing was stored, and the next apply changes nothing.
        let releases = app.app.modules.releases().await.unwrap();
        assert!(!releases.iter().any(|release| release.version == "0.1.99"));
        app.app.apply_towns(&demo_towns()).await.unwrap();
        assert_eq!(pinned_version(&app, "villeneuve", "invoices").await, "0.1.5");

        // The binary's own bytes are welcome through the same door.
        let own = guichet::modules::FIRST_PARTY_MODULES
            .iter()
            .find(|module| module.id == "invoices")
            .unwrap()
            .bytes;
        let again = app.app.modules.publish(own).await.unwrap();
        assert!(again.already && again.publisher == Publisher::Guichet);

        // A database that took the impostor in before ids were checked
        // (stored as a third party's) never serves it: not on apply, not on
        // upgrade, and a town pinned to it goes back to Guichet's release.
        let host = app.app.modules.host();
        let sha256 = guichet::modules::registry::sha256_hex(&impostor);
        let manifest = host.describe(&host.prepare(&sha256, &impostor).await.unwrap()).await.unwrap();
        let stored = module_release::ActiveModel {
            module_id: Set("invoices".to_owned()),
            version: Set("0.1.99".to_owned()),
            interface: Set("0.1.0".to_owned()),
            sha256: Set(sha256),
            manifest: Set(serde_json::to_string(&manifest).unwrap()),
            component: Set(impostor.clone()),
            published_at: Set(chrono::Utc::now()),
            publisher: Set(Publisher::Unsigned.as_str().to_owned()),
            ..Default::default()
        }
        .insert(&app.app.db)
        .await
        .unwrap();
        let republished = app.app.modules.publish(&impostor).await;
        assert!(matches!(republished, Err(PublishError::FirstPartyId { .. })), "{republished:?}");
        let applied = app.app.apply_towns(&demo_towns()).await.unwrap();
        assert!(applied.modules.is_empty(), "{:?}", applied.modules);
        let villeneuve = app.town("villeneuve").await;
        assert!(app.app.modules.available_upgrades(&villeneuve).await.unwrap().is_empty());
        assert!(app.app.modules.upgrade(&villeneuve, None, false).await.unwrap().is_empty());
        assert_eq!(pinned_version(&app, "villeneuve", "invoices").await, "0.1.5");

        town_module::Entity::update_many()
            .col_expr(town_module::Column::ModuleReleaseId, sea_orm::sea_query::Expr::value(stored.id))
            .filter(town_module::Column::ModuleId.eq("invoices"))
            .exec(&app.app.db)
            .await
            .unwrap();
        let applied = app.app.apply_towns(&demo_towns()).await.unwrap();
        assert_eq!(applied.modules.len(), 2, "both towns are moved back");
        let (mut browser, _) = app.active_resident("villeneuve", "v@example.org").await;
        let home = browser.get("/").await.body;
        assert!(!home.contains("Imposteur"), "{home}");
        assert_eq!(pinned_version(&app, "villeneuve", "invoices").await, "0.1.5");
    }

    async fn a_town_keeps_its_release_until_it_asks_for_an_upgrade(backend) {
        let app = TestApp::spawn(backend).await;
        app.app.modules.publish(&built_module("guichet_module_hoarder")).await.unwrap();
        let mut towns = demo_towns();
        for slug in ["villeneuve", "saint-martin"] {
            enable(&mut towns, slug, "hoarder", "^0.1");
        }
        app.app.apply_towns(&towns).await.unwrap();
        assert_eq!(pinned_version(&app, "villeneuve", "hoarder").await, "0.1.0");

        // A newer release within "^0.1" is published: applying the same
        // definitions again moves no town.
        let next = app.app.modules.publish(&built_module("guichet_module_hoarder_next")).await.unwrap();
        assert_eq!((next.manifest.version.as_str(), next.publisher), ("0.1.1", Publisher::Unsigned));
        let applied = app.app.apply_towns(&towns).await.unwrap();
        assert!(applied.modules.is_empty(), "{:?}", applied.modules);
        assert_eq!(rendered_version(&app, "villeneuve", "v1@example.org").await, "0.1.0");

        // Villeneuve looks, then upgrades; the change is spelled out.
        let villeneuve = app.town("villeneuve").await;
        let available = app.app.modules.available_upgrades(&villeneuve).await.unwrap();
        assert_eq!(available.len(), 1);
        let looked = app.app.modules.upgrade(&villeneuve, Some("hoarder"), true).await.unwrap();
        assert_eq!(looked, available);
        assert_eq!(pinned_version(&app, "villeneuve", "hoarder").await, "0.1.0", "a dry run changes nothing");
        let changes = app.app.modules.upgrade(&villeneuve, Some("hoarder"), false).await.unwrap();
        assert_eq!(changes.len(), 1);
        let change = &changes[0];
        assert_eq!(change.module_id, "hoarder");
        assert_eq!(change.from.as_ref().unwrap().version, "0.1.0");
        assert_eq!((change.to.version.as_str(), change.to.publisher), ("0.1.1", Publisher::Unsigned));
        assert_eq!(change.capabilities_added(), vec!["household"]);
        assert!(change.capabilities_removed().is_empty());
        assert_eq!(rendered_version(&app, "villeneuve", "v2@example.org").await, "0.1.1");
        assert_eq!(rendered_version(&app, "saint-martin", "s1@example.org").await, "0.1.0", "the neighbour stays");

        // Applying again keeps each town where it is.
        assert!(app.app.apply_towns(&towns).await.unwrap().modules.is_empty());
        assert_eq!(pinned_version(&app, "villeneuve", "hoarder").await, "0.1.1");
        assert_eq!(pinned_version(&app, "saint-martin", "hoarder").await, "0.1.0");
        assert!(app.app.modules.upgrade(&villeneuve, None, false).await.unwrap().is_empty());
        // A changed requirement is the town's explicit act too.
        enable(&mut towns, "villeneuve", "hoarder", "=0.1.0");
        app.app.apply_towns(&towns).await.unwrap();
        assert_eq!(pinned_version(&app, "villeneuve", "hoarder").await, "0.1.0");

        let not_enabled = app.app.modules.upgrade(&villeneuve, Some("bloc-notes"), false).await;
        assert!(matches!(not_enabled, Err(UpgradeError::NotEnabled { .. })), "{not_enabled:?}");
    }

    async fn guichet_s_own_modules_follow_the_binary_on_apply(backend) {
        let app = TestApp::spawn(backend).await;
        let mut towns = demo_towns();
        enable(&mut towns, "saint-martin", "bloc-notes", "^0.1");
        enable(&mut towns, "villeneuve", "bloc-notes", ">=0.1");
        app.app.apply_towns(&towns).await.unwrap();
        assert_eq!(pinned_version(&app, "villeneuve", "bloc-notes").await, "0.1.4");
        // A later binary ships bloc-notes 0.2.0 (the notes-next build stands
        // in for it): towns whose requirement allows it move on apply.
        app.app.modules.publish_first_party(&built_module("guichet_module_notes_next")).await.unwrap();
        let applied = app.app.apply_towns(&towns).await.unwrap();
        let moved: Vec<&str> = applied.modules.iter().map(|(slug, _)| slug.as_str()).collect();
        assert_eq!(moved, ["villeneuve"]);
        assert_eq!(pinned_version(&app, "villeneuve", "bloc-notes").await, "0.2.0");
        assert_eq!(pinned_version(&app, "saint-martin", "bloc-notes").await, "0.1.4");
    }
}
