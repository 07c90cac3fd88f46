//! Module interface 0.2.0 beside 0.1.0: a 0.2.0 test module (`places`,
//! modules/testing/places) next to the 0.1.0 first-party modules; `lock`
//! under concurrency (one instance, and two instances on one PostgreSQL
//! database); `notify`; `module-config`; paged lists and counts; the staff
//! views and actions of the back-office under the role each declares.

use std::path::PathBuf;
use std::sync::Arc;

use guichet::accounts::entity::account;
use guichet::modules::{ActOutcome, DataScope, ModuleData, ModuleEnablement};
use guichet::staff::StaffRole;
use guichet::tenancy::Tenant;
use guichet::towns::{TownDefinition, load_definitions};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::harness::{Backend, TestApp, repo_root};

/// A module built from `modules/` by the normal build (core/build.rs).
fn built_module(crate_name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("MODULES_BUILD_DIR")).join(format!("{crate_name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The demo towns, with `places` (capacity `capacity` a day) enabled in
/// Saint-Martin, beside its 0.1.0 modules (bloc-notes, tariffs…).
async fn with_places(app: &TestApp, capacity: u32) {
    app.app
        .modules
        .publish(&built_module("guichet_module_places"))
        .await
        .unwrap();
    let mut towns: Vec<TownDefinition> = load_definitions(&repo_root().join("tenants")).unwrap();
    let town = towns
        .iter_mut()
        .find(|town| town.definition.slug == "saint-martin")
        .unwrap();
    town.definition
        .edit_section(|modules: &mut Vec<ModuleEnablement>| {
            modules.push(ModuleEnablement {
                id: "places".to_owned(),
                version: "*".to_owned(),
                config: serde_json::json!({ "capacite": capacity }),
                storage: None,
            });
        })
        .unwrap();
    app.app.apply_towns(&towns).await.unwrap();
}

async fn account_of(app: &TestApp, town: &Tenant, identifier: &str) -> account::Model {
    app.app
        .accounts
        .find_by_identifier(town, identifier)
        .await
        .unwrap()
        .unwrap()
}

/// `count` bookings of `day` at once, spread over `apps` (the instances),
/// each under its own name; how many were booked and how many refused.
async fn rush(
    apps: &[&TestApp],
    town: &Arc<Tenant>,
    resident: &account::Model,
    day: &str,
    count: usize,
) -> (usize, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..count {
        let app = &apps[index % apps.len()].app;
        let modules = app.modules.clone();
        let module = modules
            .enabled_module(town, "places")
            .await
            .unwrap()
            .unwrap();
        let (town, resident, day) = (town.clone(), resident.clone(), day.to_owned());
        tasks.spawn(async move {
            let fields = vec![
                ("jour".to_owned(), day),
                ("qui".to_owned(), format!("r{index:03}")),
                // Between the count and the write: where a race would be.
                ("pause-ms".to_owned(), "15".to_owned()),
            ];
            modules
                .act(&town, &module, &resident, "reserver", &fields)
                .await
        });
    }
    let (mut booked, mut refused) = (0, 0);
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(ActOutcome::Done { .. }) => booked += 1,
            Ok(ActOutcome::Invalid(_)) => refused += 1,
            Err(error) => panic!("a booking failed: {error}"),
        }
    }
    (booked, refused)
}

/// The bookings stored for `day`.
async fn stored_bookings(app: &TestApp, town: &Tenant, day: &str) -> usize {
    ModuleData::new(app.app.db.clone())
        .list(&DataScope::town(town, "places"), &format!("resa:{day}:"))
        .await
        .unwrap()
        .len()
}

/// Sets a day's capacity as the staff would.
async fn set_capacity(app: &TestApp, town: &Tenant, day: &str, capacity: u32) {
    ModuleData::new(app.app.db.clone())
        .put(
            &DataScope::town(town, "places"),
            &format!("capacite:{day}"),
            &capacity.to_string(),
        )
        .await
        .unwrap();
}

on_both_databases! {
    async fn a_document_a_module_may_not_give_is_unavailable_and_nothing_is_kept(backend) {
        let app = TestApp::spawn(backend).await;
        with_places(&app, 2).await;
        let (mut browser, _) = app.active_resident("saint-martin", "documents@example.org").await;
        let page = browser.get("/documents").await;
        assert!(page.text().contains("Document à lien"), "{}", page.body);
        // A link in a document, and a hundred pages: refused by the host,
        // "indisponible" at the form, nothing numbered or stored.
        for document in ["lien", "fleuve"] {
            let refused = browser
                .submit("/documents", &format!("/documents/etablir/places/{document}"), &[])
                .await;
            assert_eq!(refused.status, 503, "{document}: {}", refused.body);
            assert!(refused.text().contains("le service est indisponible"), "{}", refused.body);
        }
        let issued = guichet::documents::entity::issued_document::Entity::find()
            .all(&app.app.db)
            .await
            .unwrap();
        assert!(issued.is_empty());
    }

    async fn a_0_2_module_and_0_1_modules_render_and_act_side_by_side(backend) {
        let app = TestApp::spawn(backend).await;
        with_places(&app, 2).await;
        let releases = app.app.modules.releases().await.unwrap();
        let interface = |id: &str| releases.iter().find(|r| r.module_id == id).unwrap().interface.clone();
        assert_eq!(interface("places"), "0.2.0");
        assert_eq!(interface("invoices"), "0.2.0");
        assert_eq!(interface("absences"), "0.1.0");

        let (mut browser, identifier) = app.active_resident("saint-martin", "cote@example.org").await;
        let home = browser.get("/").await;
        assert!(home.body.contains("Places du jour"), "the 0.2.0 tile: {}", home.body);
        assert!(home.body.contains("Écrire une note"), "the notebook's tile");

        let page = browser.get("/services/places/places?jour=2030-01-07").await;
        assert_eq!(page.status, 200, "{}", page.body);
        // A checkbox, its label after it, checked; a disabled one; a hidden
        // field; fields grouped under a legend with its hint.
        assert!(page.body.contains(r#"<legend class="fieldset__legend">Options</legend>"#), "{}", page.body);
        assert!(page.body.contains(r#"aria-describedby="places-reserver-groupe-1-aide""#), "{}", page.body);
        assert!(page.body.contains(r#"id="places-reserver-notifier" name="notifier" type="checkbox" value="on" checked"#), "{}", page.body);
        assert!(page.body.contains(r#"name="passe" type="checkbox" value="on" disabled"#), "{}", page.body);
        assert!(page.body.contains(r#"<input type="hidden" name="origine" value="tuile">"#), "{}", page.body);
        assert!(page.text().contains(&format!("Référence : {identifier}")), "the resident's reference");
        assert!(page.text().contains("Montant à payer : <strong class=\"numeric\">12,50\u{a0}€</strong>"), "{}", page.body);
        assert!(!page.body.contains("Payer en ligne"), "no payment yet");

        let booked = browser
            .submit("/services/places/places", "/services/places/actions/reserver", &[("jour", "2030-01-07")])
            .await;
        assert_eq!(booked.status, 303, "{}", booked.body);
        assert_eq!(booked.header("location"), Some("/services/places/places?jour=2030-01-07"));
        let shown = browser.get("/services/places/places?jour=2030-01-07").await;
        assert!(shown.text().contains("Réservation enregistrée."), "{}", shown.body);
        assert!(shown.body.contains("<li>2030-01-07 : réservé</li>"), "details under the notice: {}", shown.body);
        assert!(shown.body.contains("<li>Place 1 sur 2</li>"), "{}", shown.body);

        // The 0.1.0 module still writes.
        let note = browser
            .submit("/services/bloc-notes/notes", "/services/bloc-notes/actions/ajouter", &[("texte", "Acheter du pain")])
            .await;
        assert_eq!(note.status, 303, "{}", note.body);
        assert!(browser.get("/services/bloc-notes/notes").await.body.contains("Acheter du pain"));

        // Full: the module's `invalid` view, with its message.
        let town = app.town("saint-martin").await;
        set_capacity(&app, &town, "2030-01-08", 0).await;
        let full = browser
            .submit("/services/places/places", "/services/places/actions/reserver", &[("jour", "2030-01-08")])
            .await;
        assert_eq!(full.status, 422, "{}", full.body);
        assert!(full.text().contains("Complet : 0 place(s)."), "{}", full.body);
    }

    async fn a_lock_never_lets_concurrent_acts_overbook_a_day(backend) {
        let app = TestApp::spawn(backend).await;
        with_places(&app, 1).await;
        let (_, identifier) = app.active_resident("saint-martin", "ruee@example.org").await;
        let town = Arc::new(app.town("saint-martin").await);
        let resident = account_of(&app, &town, &identifier).await;
        for (day, capacity) in [("2030-02-04", 1), ("2030-02-05", 5)] {
            set_capacity(&app, &town, day, capacity).await;
            let (booked, refused) = rush(&[&app], &town, &resident, day, 20).await;
            assert_eq!((booked, refused), (capacity as usize, 20 - capacity as usize), "{day}");
            assert_eq!(stored_bookings(&app, &town, day).await, capacity as usize, "{day}");
        }
    }

    async fn a_lock_or_a_write_while_rendering_is_refused_and_module_config_needs_its_capability(backend) {
        let app = TestApp::spawn(backend).await;
        with_places(&app, 1).await;
        let (mut browser, _) = app.active_resident("saint-martin", "essais@example.org").await;
        let page = browser.get("/services/places/essais").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let text = page.text();
        assert!(text.contains("verrou en affichage : not-allowed"), "{text}");
        assert!(text.contains("écriture en affichage : not-allowed"), "{text}");
        // Declared (`module-config("bloc-notes")`): Saint-Martin's configuration.
        assert!(text.contains("configuration bloc-notes : config {"), "{text}");
        // Not declared.
        assert!(text.contains("configuration invoices : not-allowed"), "{text}");
    }

    async fn notify_queues_a_mail_only_when_the_call_succeeds_and_only_to_the_town_s_residents(backend) {
        let app = TestApp::spawn(backend).await;
        with_places(&app, 10).await;
        let (mut browser, _) = app.active_resident("saint-martin", "parent@example.org").await;
        // A failing call asked for a mail first: nothing leaves.
        let failed = browser
            .submit(
                "/services/places/places",
                "/services/places/actions/reserver",
                &[("jour", "2030-03-02"), ("notifier", "on"), ("echouer", "on")],
            )
            .await;
        assert_eq!(failed.status, 503, "{}", failed.body);
        let booked = browser
            .submit(
                "/services/places/places",
                "/services/places/actions/reserver",
                &[("jour", "2030-03-03"), ("notifier", "on")],
            )
            .await;
        assert_eq!(booked.status, 303, "{}", booked.body);
        let mail = app.mailbox().wait_for("parent@example.org", "Réservation du 2030-03-03").await;
        assert!(mail.text.contains("Votre place du 2030-03-03 est réservée."), "{}", mail.text);
        assert!(mail.text.contains("/services/places/places?jour=2030-03-03"), "{}", mail.text);
        assert!(mail.text.contains("Saint-Martin"), "the town's signature: {}", mail.text);
        assert!(
            !app.mailbox().received().iter().any(|mail| mail.subject.contains("2030-03-02")),
            "the failed call's mail was never queued"
        );
        let town = app.town("saint-martin").await;
        assert_eq!(
            stored_bookings(&app, &town, "2030-03-02").await,
            0,
            "nor its writes"
        );

        // To another resident of the town, by reference.
        let (_, neighbour) = app.active_resident("saint-martin", "voisin@example.org").await;
        let told = browser
            .submit("/services/places/places", "/services/places/actions/prevenir", &[("reference", &neighbour)])
            .await;
        assert_eq!(told.status, 303, "{}", told.body);
        app.mailbox().wait_for("voisin@example.org", "Un message de test").await;
        // A reference of another town names nobody here.
        // (Another name than the town's residents': identifiers come from
        // names, and one may exist in both towns.)
        let stranger = app
            .create_resident("villeneuve", "Zoé", "Lointaine", "ailleurs@example.org")
            .await
            .identifier;
        let refused = browser
            .submit("/services/places/places", "/services/places/actions/prevenir", &[("reference", &stranger)])
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.text().contains("invalid: no resident of this town"), "{}", refused.body);
    }

    async fn staff_views_and_actions_follow_the_role_each_declares(backend) {
        let app = TestApp::spawn(backend).await;
        with_places(&app, 3).await;
        let (mut resident, identifier) = app.active_resident("saint-martin", "famille@example.org").await;
        resident
            .submit("/services/places/places", "/services/places/actions/reserver", &[("jour", "2030-04-01")])
            .await;

        let mut agent = app.staff("saint-martin", StaffRole::Agent).await;
        let list = agent.get("/admin/services").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains(r#"href="/admin/services/places/inscrits""#), "{}", list.body);
        assert!(!list.body.contains("/admin/services/places/reglages"), "an administrator's view");
        assert!(list.body.contains(r#"href="/admin/services""#), "in the menu");

        let view = agent.get("/admin/services/places/inscrits?jour=2030-04-01").await;
        assert_eq!(view.status, 200, "{}", view.body);
        let text = view.text();
        assert!(text.contains(&format!("resa:2030-04-01:{identifier}")), "{text}");
        assert!(text.contains("Agent : "), "{text}");
        assert!(text.contains("(agent)"), "the member's role reaches the module: {text}");
        assert!(text.contains("Stockage usager : not-allowed"), "{text}");
        assert!(view.body.contains(r#"action="/admin/services/places/capacite?vue&#x3D;inscrits""#), "{}", view.body);

        let refused = agent.get("/admin/services/places/reglages").await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let refused = agent
            .submit("/admin/services/places/inscrits", "/admin/services/places/capacite?vue=inscrits", &[("jour", "2030-04-01"), ("capacite", "9")])
            .await;
        assert_eq!(refused.status, 403, "an agent below the action's gestionnaire");
        assert_eq!(agent.get("/admin/services/places/inconnue").await.status, 404);
        // A resident reaches no staff page.
        let bounced = resident.get("/admin/services/places/inscrits").await;
        assert_eq!(bounced.status, 303);
        assert!(bounced.header("location").unwrap_or_default().starts_with("/admin/connexion"));

        let mut manager = app.staff("saint-martin", StaffRole::Gestionnaire).await;
        let invalid = manager
            .submit("/admin/services/places/inscrits", "/admin/services/places/capacite?vue=inscrits", &[("jour", "2030-04-01"), ("capacite", "beaucoup")])
            .await;
        assert_eq!(invalid.status, 422, "{}", invalid.body);
        assert!(invalid.text().contains("Indiquez un nombre de places."), "{}", invalid.body);
        assert!(invalid.body.contains(r#"value="beaucoup""#), "the input is kept");
        let done = manager
            .submit(
                "/admin/services/places/inscrits",
                "/admin/services/places/capacite?vue=inscrits",
                &[("jour", "2030-04-01"), ("capacite", "9"), ("prevenir", &identifier)],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.header("location"), Some("/admin/services/places/inscrits?jour=2030-04-01"));
        let after = manager.get("/admin/services/places/inscrits?jour=2030-04-01").await;
        assert!(after.text().contains("Capacité enregistrée."), "{}", after.body);
        assert!(after.body.contains("<li>2030-04-01 : 9 place(s)</li>"), "{}", after.body);
        app.mailbox().wait_for("famille@example.org", "Capacité du 2030-04-01").await;
        let town = app.town("saint-martin").await;
        let capacity = ModuleData::new(app.app.db.clone())
            .get(&DataScope::town(&town, "places"), "capacite:2030-04-01")
            .await
            .unwrap();
        assert_eq!(capacity.as_deref(), Some("9"));

        // Journaled as the member's.
        use guichet::audit::entity::{Column, Entity};
        let journaled = Entity::find()
            .filter(Column::TenantId.eq(town.id().get()))
            .filter(Column::Kind.eq("module_staff_action"))
            .all(&app.app.db)
            .await
            .unwrap();
        assert_eq!(journaled.len(), 1, "{journaled:?}");
        assert_eq!(journaled[0].actor_kind, guichet::audit::ActorKind::Staff);
        assert!(journaled[0].detail.as_deref().unwrap_or_default().contains("capacite"), "{journaled:?}");
        let journal = app.staff("saint-martin", StaffRole::Administrateur).await.get("/admin/journal").await;
        assert!(journal.text().contains("Action d'un service (module)"), "{}", journal.body);
    }
}

on_both_databases! {
    async fn one_town_pins_a_0_1_release_and_another_the_0_2_release_of_the_same_module(backend) {
        let app = TestApp::spawn(backend).await;
        for crate_name in ["guichet_module_places_legacy", "guichet_module_places"] {
            app.app.modules.publish(&built_module(crate_name)).await.unwrap();
        }
        let mut towns: Vec<TownDefinition> = load_definitions(&repo_root().join("tenants")).unwrap();
        for town in &mut towns {
            let version = match town.definition.slug.as_str() {
                "villeneuve" => "0.1",
                _ => "0.2",
            };
            town.definition
                .edit_section(|modules: &mut Vec<ModuleEnablement>| {
                    modules.push(ModuleEnablement {
                        id: "places".to_owned(),
                        version: version.to_owned(),
                        config: serde_json::json!({ "capacite": 4 }),
                        storage: None,
                    });
                })
                .unwrap();
        }
        app.app.apply_towns(&towns).await.unwrap();
        let release = |town: Tenant| {
            let modules = app.app.modules.clone();
            async move { modules.enabled_module(&town, "places").await.unwrap().unwrap().release }
        };
        let old = release(app.town("villeneuve").await).await;
        assert_eq!((old.version.as_str(), old.interface), ("0.1.0", guichet::modules::Interface::V0_1));
        let new = release(app.town("saint-martin").await).await;
        assert_eq!((new.version.as_str(), new.interface), ("0.2.0", guichet::modules::Interface::V0_2));

        let (mut villeneuve, _) = app.active_resident("villeneuve", "ancien@example.org").await;
        let page = villeneuve.get("/services/places/places").await;
        assert!(page.text().contains("Servi par l'interface 0.1.0."), "{}", page.body);
        let (mut saint_martin, _) = app.active_resident("saint-martin", "nouveau@example.org").await;
        let page = saint_martin.get("/services/places/places").await;
        assert!(page.text().contains("Capacité"), "{}", page.body);
        assert!(!page.text().contains("Servi par l'interface 0.1.0."));
        // A 0.1.0 release has no staff views.
        let mut agent = app.staff("villeneuve", StaffRole::Administrateur).await;
        assert_eq!(agent.get("/admin/services/places/inscrits").await.status, 404);
    }
}

/// PostgreSQL, two instances (two `guichet serve` on one database): their
/// in-process locks know nothing of each other; the advisory locks do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_holds_across_two_instances_on_postgres() {
    let first = TestApp::spawn(Backend::Postgres).await;
    with_places(&first, 1).await;
    let second = first.another_instance().await;
    let (_, identifier) = first
        .active_resident("saint-martin", "deux@example.org")
        .await;
    let town = Arc::new(first.town("saint-martin").await);
    let resident = account_of(&first, &town, &identifier).await;
    for (day, capacity) in [("2030-05-04", 1), ("2030-05-05", 5)] {
        set_capacity(&first, &town, day, capacity).await;
        let (booked, refused) = rush(&[&first, &second], &town, &resident, day, 20).await;
        assert_eq!(
            (booked, refused),
            (capacity as usize, 20 - capacity as usize),
            "{day}"
        );
        assert_eq!(
            stored_bookings(&first, &town, day).await,
            capacity as usize,
            "{day}"
        );
    }
    // Each call's writes were committed in its lock transaction, seen by
    // a connection of its own: none left open.
    let seen = stored_bookings(&first, &town, "2030-05-04").await
        + stored_bookings(&second, &town, "2030-05-05").await;
    assert_eq!(seen, 6);
}
