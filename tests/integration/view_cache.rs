//! What pages reuse from memory — the residents' module views
//! (modules/view_cache.rs), the town's enabled modules, the terms status,
//! the household and the latest requests (versions/) — is never shown
//! stale: a write through each path (the data API, a resident's action, the
//! household, the town's configuration, the terms, a plain SQL statement)
//! shows at once on the instance that wrote and on another one that had the
//! old page in memory.

use guichet::accounts::entity::account;
use guichet::towns::load_definitions;
use sea_orm::{ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _};

use crate::harness::{TestApp, Visitor, csrf_of, repo_root};

/// The demo resident of Villeneuve (Michel ARPEGE: Léa and Hugo, three
/// invoices, 45,00 € to pay), logged in on `app` and past the terms; his
/// identifier, password and account id.
async fn demo_resident(app: &TestApp) -> (Visitor, String, String, i32) {
    let towns = load_definitions(&repo_root().join("tenants")).unwrap();
    let resident = guichet::demo::ensure_residents(&app.app, &towns)
        .await
        .unwrap();
    let mut browser = app.visitor("villeneuve.localhost");
    let login = browser
        .login(&resident.identifier, &resident.password)
        .await;
    assert_eq!(login.status, 303);
    assert_eq!(browser.accept_terms().await.status, 303);
    let town = app.town("villeneuve").await;
    let account_id = account::Entity::find()
        .filter(account::Column::TenantId.eq(town.id().get()))
        .filter(account::Column::Identifier.eq(resident.identifier.as_str()))
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    (browser, resident.identifier, resident.password, account_id)
}

/// Views served from memory by this instance so far.
fn reused(app: &TestApp) -> u64 {
    app.app.modules.host().metrics().total("reused")
}

/// Waits, if need be, until a few seconds of the current minute remain.
async fn minute_to_spare() {
    use chrono::Timelike as _;
    while chrono::Utc::now().second() >= 50 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The home page, which must render (no redirection).
async fn home(browser: &mut Visitor) -> String {
    let page = browser.get("/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

const TO_PAY: &str = "45,00\u{a0}€ à régler";
const TO_PAY_AFTER: &str = "60,00\u{a0}€ à régler";

on_both_databases! {
    async fn reused_views_and_memos_show_every_write_at_once_on_every_instance(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut here, identifier, password, account_id) = demo_resident(&app).await;
        let other = app.another_instance().await;
        let mut there = other.visitor("villeneuve.localhost");
        assert_eq!(there.login(&identifier, &password).await.status, 303);
        let town = app.town("villeneuve").await;

        // The second home page reuses the tiles: the cache is really used
        // (so what follows tests it), and shows the same. Both in one
        // minute: the minute is one of a view's and a page's inputs.
        minute_to_spare().await;
        let first = home(&mut here).await;
        assert!(first.contains(TO_PAY), "{first}");
        assert!(first.contains("Un enfant absent ?"), "{first}");
        let before = reused(&app);
        let pages_before = app.app.pages.reused();
        let second = home(&mut here).await;
        assert!(reused(&app) >= before + 3, "the tiles were rendered again");
        assert_eq!(app.app.pages.reused(), pages_before + 1, "the page was built again");
        assert_eq!(first, second);
        // Another session of the same resident has a page of its own: its
        // forms carry its own CSRF token.
        let mut again = app.visitor("villeneuve.localhost");
        assert_eq!(again.login(&identifier, &password).await.status, 303);
        let theirs = home(&mut again).await;
        assert_ne!(csrf_of(&theirs), csrf_of(&second));
        assert_eq!(app.app.pages.reused(), pages_before + 1);
        // The other instance has the page in memory too.
        minute_to_spare().await;
        assert!(home(&mut there).await.contains(TO_PAY));
        let before_there = reused(&other);
        assert!(home(&mut there).await.contains(TO_PAY));
        assert!(reused(&other) > before_there);

        // 1. The data API (the town's software) adds an invoice to pay.
        let key = guichet::api::ApiKeys::new(app.app.db.clone())
            .create(&town, "Logiciel de facturation")
            .await
            .unwrap()
            .secret;
        let invoice = serde_json::json!({
            "number": "2026-11-0099", "period": "2026-11", "amount_cents": 1500,
            "due_date": "2026-12-15", "status": "a-payer",
            "lines": [{"label": "Restauration scolaire", "quantity": 6, "unit_cents": 250, "amount_cents": 1500}]
        });
        let put = app
            .send(
                app.request(
                    reqwest::Method::PUT,
                    "villeneuve.localhost",
                    &format!("/api/v1/modules/invoices/residents/{identifier}/data/facture:2026-11-0099"),
                )
                .header("Authorization", format!("Bearer {key}"))
                .body(invoice.to_string()),
            )
            .await;
        assert!(put.status == 201 || put.status == 204 || put.status == 200, "{} {}", put.status, put.body);
        assert!(home(&mut here).await.contains(TO_PAY_AFTER), "the writing instance");
        assert!(home(&mut there).await.contains(TO_PAY_AFTER), "another instance");

        // 2. A plain SQL statement (an operator's, a migration's): the
        //    database counts it as well.
        app.app
            .db
            .execute_unprepared("DELETE FROM module_data WHERE key = 'facture:2026-11-0099'")
            .await
            .unwrap();
        assert!(home(&mut there).await.contains(TO_PAY));
        assert!(home(&mut here).await.contains(TO_PAY));

        // 3. A resident's action (an absence reported on this instance):
        //    the module's page on the other one lists it, and the home
        //    page's latest requests show the request it made.
        let in_a_month = chrono::Utc::now() + chrono::Duration::days(30);
        let day = in_a_month.format("%Y-%m-%d").to_string();
        let shown = in_a_month.format("%d/%m/%Y").to_string();
        let page = there.get("/services/absences/absences").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(&shown), "{}", page.body);
        assert!(!home(&mut there).await.contains("Absence de Léa"));
        let form = here.get("/services/absences/absences").await;
        let lea = form
            .body
            .split("<option value=\"")
            .skip(1)
            .find(|option| option.contains("Léa"))
            .and_then(|option| option.split('"').next())
            .unwrap()
            .to_owned();
        let reported = here
            .post(
                "/services/absences/actions/signaler",
                &[
                    ("csrf", &csrf_of(&form.body)),
                    ("enfant", &lea),
                    ("du", &day),
                    ("au", &day),
                    ("motif", "Maladie"),
                    ("commentaire", ""),
                ],
            )
            .await;
        assert_eq!(reported.status, 303, "{}", reported.body);
        let page = there.get("/services/absences/absences").await;
        assert!(page.body.contains(&shown), "{}", page.body);
        assert!(home(&mut there).await.contains("Absence de Léa"));

        // 4. The household: without children, the absences tile says so,
        //    on both instances.
        app.app
            .db
            .execute_unprepared(&format!(
                "DELETE FROM household_member WHERE account_id = {account_id}"
            ))
            .await
            .unwrap();
        for browser in [&mut here, &mut there] {
            let page = home(browser).await;
            assert!(page.contains("Aucun enfant inscrit dans votre foyer."), "{page}");
            assert!(!page.contains("Hugo"), "the household's members: {page}");
        }

        // 5. The town's configuration of a module (the back-office's own
        //    path is in admin_modules.rs): the page shows the new rule.
        for browser in [&mut here, &mut there] {
            let page = browser.get("/services/absences/absences").await;
            assert!(page.body.contains("avant 9h00"), "{}", page.body);
        }
        app.app
            .db
            .execute_unprepared(
                "UPDATE town_module SET config = REPLACE(config, '\"deadline_hour\":9', '\"deadline_hour\":10') \
                 WHERE module_id = 'absences' AND tenant_id = (SELECT id FROM tenant WHERE slug = 'villeneuve')",
            )
            .await
            .unwrap();
        for browser in [&mut here, &mut there] {
            let page = browser.get("/services/absences/absences").await;
            assert!(page.body.contains("avant 10h00"), "{}", page.body);
        }

        // 6. The account itself (a name corrected by the town's staff, in
        //    SQL here): the greeting changes at once on both instances.
        app.app
            .db
            .execute_unprepared(&format!(
                "UPDATE account SET first_name = 'Michelle' WHERE id = {account_id}"
            ))
            .await
            .unwrap();
        for browser in [&mut here, &mut there] {
            let page = home(browser).await;
            assert!(page.contains("Michelle"), "{page}");
        }

        // 7. New terms: the next page sends the resident to them, on both
        //    instances (the status was in memory).
        app.app
            .terms
            .publish(&town, "# Nouvelles conditions\n\nÀ accepter.", guichet::terms::TermsKind::Major)
            .await
            .unwrap();
        for browser in [&mut here, &mut there] {
            let page = browser.get("/").await;
            assert_eq!(page.status, 303);
            assert_eq!(page.header("location"), Some("/cgu"));
        }
    }
}

on_both_databases! {
    async fn the_counters_follow_every_kind_of_write(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, _, _, account_id) = demo_resident(&app).await;
        let town = app.town("villeneuve").await;
        let versions = guichet::versions::Versions::new(app.app.db.clone());
        let read = || async { versions.read(&town, Some(account_id)).await.unwrap() };
        use guichet::versions::Subject;
        let elsewhere = app.town("saint-martin").await;
        let theirs = versions.read(&elsewhere, None).await.unwrap();
        let start = read().await;
        assert!(start.resident(Subject::ModuleData("invoices")).unwrap() > 0, "the demo's invoices");
        assert!(start.resident(Subject::Household).unwrap() > 0, "Léa and Hugo");

        // Insert, update and delete each move the counter of what they touch
        // (an update, the old row's and the new one's), and only that.
        let db = &app.app.db;
        let tenant = town.id().get();
        let now = "'2026-12-01 00:00:00+00'";
        for statement in [
            format!("INSERT INTO module_data (tenant_id, module_id, account_id, key, value, updated_at) \
                     VALUES ({tenant}, 'invoices', {account_id}, 'note', '1', {now})"),
            "UPDATE module_data SET value = '2' WHERE key = 'note'".to_owned(),
            "DELETE FROM module_data WHERE key = 'note'".to_owned(),
        ] {
            let before = read().await;
            db.execute_unprepared(&statement).await.unwrap();
            let after = read().await;
            assert!(
                after.resident(Subject::ModuleData("invoices")) > before.resident(Subject::ModuleData("invoices")),
                "{statement}"
            );
            assert_eq!(after.town(Subject::ModuleData("invoices")), before.town(Subject::ModuleData("invoices")));
            assert_eq!(after.resident(Subject::Household), before.resident(Subject::Household));
        }
        // The town's scope of a module (no resident).
        let before = read().await;
        db.execute_unprepared(&format!(
            "INSERT INTO module_data (tenant_id, module_id, account_id, key, value, updated_at) \
             VALUES ({tenant}, 'bookings', NULL, 'note', '1', {now})"
        ))
        .await
        .unwrap();
        let after = read().await;
        assert_eq!(after.town(Subject::ModuleData("bookings")), before.town(Subject::ModuleData("bookings")) + 1);
        assert_eq!(after.resident(Subject::ModuleData("bookings")), before.resident(Subject::ModuleData("bookings")));
        // Requests, terms, the town's modules.
        db.execute_unprepared(&format!("UPDATE request SET title = title WHERE account_id = {account_id}"))
            .await
            .unwrap();
        db.execute_unprepared(&format!("UPDATE town_module SET position = position WHERE tenant_id = {tenant}"))
            .await
            .unwrap();
        app.app
            .terms
            .publish(&town, "# Autres conditions", guichet::terms::TermsKind::Minor)
            .await
            .unwrap();
        let last = read().await;
        assert!(last.resident(Subject::Requests) > after.resident(Subject::Requests));
        assert!(last.town(Subject::TownModules) > after.town(Subject::TownModules));
        assert!(last.town(Subject::Terms) > after.town(Subject::Terms));
        // Another town's counters did not move.
        assert_eq!(versions.read(&elsewhere, None).await.unwrap(), theirs);
        // A TRUNCATE would move none: PostgreSQL refuses it.
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            let refused = db.execute_unprepared("TRUNCATE household_member").await.unwrap_err();
            assert!(refused.to_string().contains("version counters"), "{refused}");
        }
    }
}

on_both_databases! {
    async fn a_kept_home_page_is_shown_again_only_for_the_same_inputs(backend) {
        use std::sync::Arc;

        use guichet::web::kit::Page;
        use guichet::web::kit::page_cache::{PageCache, PageInputs, PageKey};

        let app = TestApp::spawn(backend).await;
        let (_, _, _, account_id) = demo_resident(&app).await;
        let town = Arc::new(app.town("villeneuve").await);
        let account = account::Entity::find_by_id(account_id)
            .one(&app.app.db)
            .await
            .unwrap()
            .unwrap();
        let versions = guichet::versions::Versions::new(app.app.db.clone());
        let stamp = Arc::new(versions.read(&town, Some(account_id)).await.unwrap());
        let tile = |title: &str| {
            Arc::new(guichet::modules::View { title: title.to_owned(), blocks: Vec::new() })
        };
        let inputs = PageInputs {
            tenant: town.clone(),
            theme: app.app.themes.get("default"),
            account: account.clone(),
            csrf: "jeton".to_owned(),
            stamp: stamp.clone(),
            minute: PageInputs::minute_now(),
            tiles: vec![tile("Factures"), tile("Absences")],
        };
        let key = PageKey { tenant_id: town.id().get(), session_id: 1, path: "/" };
        let page = |html: &str| Page { status: rocket::http::Status::Ok, html: html.to_owned() };
        let pages = PageCache::new(1024 * 1024, Default::default());
        pages.put(key.clone(), inputs.clone(), &page("<p>accueil</p>"));
        assert_eq!(pages.get(&key, &inputs).map(|page| page.html).as_deref(), Some("<p>accueil</p>"));
        assert_eq!(pages.reused(), 1);

        // Each input that differs is another page.
        let other_session = PageKey { session_id: 2, ..key.clone() };
        assert!(pages.get(&other_session, &inputs).is_none(), "another session");
        let mut next_minute = inputs.clone();
        next_minute.minute += 1;
        assert!(pages.get(&key, &next_minute).is_none(), "the next minute");
        let mut renamed = inputs.clone();
        renamed.account.first_name = "Michelle".to_owned();
        assert!(pages.get(&key, &renamed).is_none(), "the account changed");
        let mut other_tile = inputs.clone();
        other_tile.tiles[1] = tile("Absences");
        assert!(pages.get(&key, &other_tile).is_none(), "a tile's view rendered again");
        let mut other_token = inputs.clone();
        other_token.csrf = "autre jeton".to_owned();
        assert!(pages.get(&key, &other_token).is_none(), "a session given the same id");
        let mut fewer = inputs.clone();
        fewer.tiles.pop();
        assert!(pages.get(&key, &fewer).is_none(), "a tile less");
        let mut reloaded = inputs.clone();
        reloaded.tenant = Arc::new(app.town("villeneuve").await);
        assert!(pages.get(&key, &reloaded).is_none(), "the town loaded again");
        let mut other_theme = inputs.clone();
        other_theme.theme = app.app.themes.get("saint-martin");
        assert!(pages.get(&key, &other_theme).is_none(), "another theme");
        app.app
            .db
            .execute_unprepared(&format!("UPDATE household_member SET first_name = first_name WHERE account_id = {account_id}"))
            .await
            .unwrap();
        let mut moved = inputs.clone();
        moved.stamp = Arc::new(versions.read(&town, Some(account_id)).await.unwrap());
        assert_ne!(moved.stamp, stamp);
        assert!(pages.get(&key, &moved).is_none(), "a counter moved");
        assert_eq!(pages.reused(), 1);

        // Only successes are kept; 0 keeps nothing; the bound in bytes
        // lets the least recently shown go.
        let failed = Page { status: rocket::http::Status::ServiceUnavailable, html: "indisponible".to_owned() };
        pages.put(other_session.clone(), inputs.clone(), &failed);
        assert!(pages.get(&other_session, &inputs).is_none());
        let off = PageCache::new(0, Default::default());
        off.put(key.clone(), inputs.clone(), &page("<p>accueil</p>"));
        assert!(off.get(&key, &inputs).is_none());
        let small = PageCache::new(16 * 4096, Default::default());
        let big = "x".repeat(3000);
        for session_id in 1..=20 {
            small.put(PageKey { session_id, ..key.clone() }, inputs.clone(), &page(&big));
        }
        assert!(small.get(&PageKey { session_id: 1, ..key.clone() }, &inputs).is_none(), "the oldest went");
        assert!(small.get(&PageKey { session_id: 20, ..key.clone() }, &inputs).is_some());
    }
}

on_both_databases! {
    async fn the_session_brings_the_same_counters_as_a_read_of_its_own(backend) {
        let app = TestApp::spawn(backend).await;
        let (browser, _, _, account_id) = demo_resident(&app).await;
        let town = app.town("villeneuve").await;
        let token = browser
            .cookies
            .iter()
            .find(|(name, _)| name.ends_with("guichet_session"))
            .map(|(_, value)| value.clone())
            .expect("a session cookie");
        let (_, account, stamp) = app
            .app
            .accounts
            .session(&town, &token)
            .await
            .unwrap()
            .expect("a live session");
        assert_eq!(account.id, account_id);
        let read = guichet::versions::Versions::new(app.app.db.clone())
            .read(&town, Some(account_id))
            .await
            .unwrap();
        assert_eq!(stamp, read);
        assert!(stamp.resident(guichet::versions::Subject::Household).unwrap() > 0);
        assert!(stamp.town(guichet::versions::Subject::TownModules) > 0);
    }
}
