//! Residents' rights over their data: every table of the schema declared
//! (privacy/registry.rs), the export of the demo resident (every kind of
//! data, the ZIP read back), its single-use expiring link, the closure
//! with its grace period and its cancellation by a login, an account
//! closed leaving no personal data in any column of any table, the kept
//! records pseudonymised, inactive accounts warned then closed and
//! never-activated ones removed on simulated time, rounds idempotent and
//! safe side by side, the staff's export, the privacy notice.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;

use chrono::{Duration, Utc};
use guichet::accounts::entity::account::{self, AccountStatus};
use guichet::audit::entity as audit_event;
use guichet::modules::storage::{self, DataScope};
use guichet::payments::entity::payment;
use guichet::payments::{PaymentState, ProviderKind, Saisie};
use guichet::privacy::declare::Holds;
use guichet::privacy::{ClosureReason, registry};
use guichet::staff::StaffRole;
use guichet::terms::entity::terms_acceptance;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait as _,
    DatabaseConnection, DbBackend, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    Statement,
};
use serde_json::Value;

use crate::harness::{TestApp, Visitor};

const HOST: &str = "villeneuve.localhost";
const EMAIL: &str = "michel.arpege@villeneuve.example.fr";
const DEMO_PASSWORD: &str = "arpege-demo-2020";
/// Planted in the resident's feedback and a request's history: a string
/// found nowhere else, searched in every table after the closure.
const MARKER: &str = "marqueur-prive-7q2x";

/// Every table of the schema with its columns and whether each holds text.
pub(crate) async fn schema(db: &DatabaseConnection) -> BTreeMap<String, BTreeMap<String, bool>> {
    let mut tables = BTreeMap::new();
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let names = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                ))
                .await
                .unwrap();
            for row in names {
                let name: String = row.try_get("", "name").unwrap();
                let columns = db
                    .query_all_raw(Statement::from_string(
                        DbBackend::Sqlite,
                        format!("PRAGMA table_info(\"{name}\")"),
                    ))
                    .await
                    .unwrap();
                let columns = columns
                    .into_iter()
                    .map(|row| {
                        let column: String = row.try_get("", "name").unwrap();
                        let kind: String = row.try_get("", "type").unwrap();
                        let kind = kind.to_lowercase();
                        let text = !kind.starts_with("timestamp")
                            && (kind.contains("char")
                                || kind.contains("text")
                                || kind.contains("json"));
                        (column, text)
                    })
                    .collect();
                tables.insert(name, columns);
            }
        }
        _ => {
            let rows = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d \
                     FROM information_schema.columns WHERE table_schema = current_schema()",
                ))
                .await
                .unwrap();
            for row in rows {
                let table: String = row.try_get("", "t").unwrap();
                let column: String = row.try_get("", "c").unwrap();
                let kind: String = row.try_get("", "d").unwrap();
                let text = matches!(
                    kind.as_str(),
                    "text" | "character varying" | "json" | "jsonb"
                );
                tables
                    .entry(table)
                    .or_insert_with(BTreeMap::new)
                    .insert(column, text);
            }
        }
    }
    tables
}

on_both_databases! {
    async fn every_table_and_column_of_the_schema_is_declared(backend) {
        let app = TestApp::spawn(backend).await;
        let schema = schema(&app.app.db).await;
        let declared: BTreeSet<&str> = registry::tables().map(|table| table.name).collect();
        let found: BTreeSet<&str> = schema.keys().map(String::as_str).collect();
        assert_eq!(
            found.difference(&declared).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "tables nobody declared (add them to their domain's personal_data.rs)"
        );
        assert_eq!(
            declared.difference(&found).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "declared tables the schema does not have"
        );
        for table in registry::residents() {
            let Holds::Resident { columns, .. } = &table.holds else { unreachable!() };
            let declared: BTreeSet<&str> = columns.iter().map(|column| column.name).collect();
            let found: BTreeSet<&str> = schema[table.name].keys().map(String::as_str).collect();
            assert_eq!(declared, found, "the columns of {} as declared and as they are", table.name);
        }
    }
}

/// The demo resident with one of every kind of data: a document issued,
/// feedback, a FranceConnect link, a payment received, a booking in the
/// bookings module's town storage, a staff answer in a request's history.
pub(crate) async fn rich_resident(app: &TestApp) -> (Visitor, account::Model) {
    let mut browser = app.demo_resident().await;
    let town = app.town("villeneuve").await;
    let db = &app.app.db;
    let owner = account::Entity::find()
        .filter(account::Column::TenantId.eq(town.id().get()))
        .filter(account::Column::EmailKey.eq(EMAIL))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let issued = browser
        .submit(
            "/documents",
            "/documents/etablir/invoices/attestation-fiscale",
            &[("annee", "2025")],
        )
        .await;
    assert_eq!(issued.status, 303, "{}", issued.body);
    let now = Utc::now();
    guichet::feedback::entity::feedback::ActiveModel {
        tenant_id: Set(town.id().get()),
        account_id: Set(owner.id),
        topic: Set("autre".to_owned()),
        message: Set(format!("Merci pour Léa — {MARKER}")),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    guichet::franceconnect::entity::franceconnect_link::ActiveModel {
        tenant_id: Set(town.id().get()),
        account_id: Set(owner.id),
        issuer: Set("http://franceconnect.localhost/api/v2".to_owned()),
        subject: Set(format!("fc-{MARKER}")),
        linked_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    payment::ActiveModel {
        tenant_id: Set(town.id().get()),
        account_id: Set(Some(owner.id)),
        resident_identifier: Set(owner.identifier.clone()),
        provider: Set(ProviderKind::PayFiP),
        module_id: Set("invoices".to_owned()),
        reference: Set("2020060042".to_owned()),
        label: Set("Facture juin 2020 — Léa ARPEGE".to_owned()),
        amount_cents: Set(4500),
        email: Set(EMAIL.to_owned()),
        numcli: Set("123456".to_owned()),
        saisie: Set(Saisie::Test),
        return_path: Set("/services/invoices/factures".to_owned()),
        return_token: Set("Xk2v9QmRt8LpWz3N".to_owned()),
        provider_id: Set(Some("OP-1".to_owned())),
        state: Set(PaymentState::Paid),
        result: Set(Some("P".to_owned())),
        authorization: Set(Some("A1".to_owned())),
        paid_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        recorded_at: Set(Some(now)),
        event_attempts: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    // A booking as the bookings module keeps them: the town's storage,
    // naming the resident by reference, the child by name.
    let txn = guichet::db::begin_write(db).await.unwrap();
    let bookings = DataScope::town(&town, "bookings");
    storage::write(
        &txn,
        &bookings,
        &format!("family:{}:2026-09-07:cantine:m1", owner.identifier),
        Some(r#"{"activity":"cantine","date":"2026-09-07","child":"m1","child_name":"Léa","state":"booked"}"#),
    )
    .await
    .unwrap();
    storage::write(
        &txn,
        &bookings,
        &format!("booking:cantine:2026-09-07:{}~m1", owner.identifier),
        Some(&format!(
            r#"{{"activity":"cantine","date":"2026-09-07","resident":"{}","family":"Monsieur ARPEGE","child_name":"Léa","price_cents":420}}"#,
            owner.identifier
        )),
    )
    .await
    .unwrap();
    // Another family's booking: not the resident's, left as it is.
    storage::write(
        &txn,
        &bookings,
        "booking:cantine:2026-09-07:jeanne.martin~m9",
        Some(r#"{"resident":"jeanne.martin","child_name":"Zoé","price_cents":420}"#),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    // The staff's answer in the demo request's history.
    let request = guichet::requests::entity::request::Entity::find()
        .filter(guichet::requests::entity::request::Column::AccountId.eq(owner.id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    guichet::requests::entity::request_event::ActiveModel {
        request_id: Set(request.id),
        status: Set(request.status),
        note: Set(Some(format!("Votre attestation est prête — {MARKER}"))),
        at: Set(now),
        author: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    (browser, owner)
}

/// Asks for the export on "Mes données" and follows the mail's link; the
/// ZIP's files by name, and the link.
async fn export(app: &TestApp, browser: &mut Visitor) -> (BTreeMap<String, Vec<u8>>, String) {
    let asked = browser
        .submit("/mes-donnees", "/mes-donnees/export", &[])
        .await;
    assert_eq!(asked.status, 303, "{}", asked.body);
    let page = browser.get("/mes-donnees").await;
    assert!(
        page.text().contains("Votre export est en préparation"),
        "{}",
        page.text()
    );
    let mail = app
        .mailbox()
        .wait_for(EMAIL, "l'export de vos données est prêt")
        .await;
    let link = mail.link_path("/mes-donnees/export/");
    let (status, headers, bytes) = browser.download(&link).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "application/zip");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"donnees-villeneuve-")
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut files = BTreeMap::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        files.insert(file.name().unwrap().into_owned(), content);
    }
    (files, link)
}

fn rows<'a>(json: &'a Value, table: &str) -> Vec<&'a Value> {
    json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|section| section["table"] == table)
        .flat_map(|section| section["lignes"].as_array().unwrap())
        .collect()
}

on_both_databases! {
    async fn the_export_holds_every_kind_of_data_and_its_link_works_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, owner) = rich_resident(&app).await;

        let page = browser.get("/mes-donnees").await;
        assert_eq!(page.status, 200);
        let text = page.text();
        for shown in ["Votre compte", "Membres de votre foyer : <strong>2</strong>", "Vos demandes : <strong>1</strong>", "Documents délivrés : <strong>1</strong>", "Vos paiements en ligne : <strong>1</strong>", EMAIL, "10 LA RUE CREUSE"] {
            assert!(text.contains(shown), "{shown} in {text}");
        }

        let (files, link) = export(&app, &mut browser).await;
        let json: Value = serde_json::from_slice(&files["donnees.json"]).unwrap();
        assert_eq!(json["format"], "guichet/donnees-personnelles/1");
        assert_eq!(rows(&json, "account")[0]["email"], EMAIL);
        assert_eq!(rows(&json, "household_member").len(), 2);
        let requests = rows(&json, "request");
        assert_eq!(requests.len(), 1);
        assert!(requests[0]["details"].as_str().unwrap().contains("conservatoire"));
        assert!(rows(&json, "request_event").iter().any(|event| event["note"].as_str().is_some_and(|note| note.contains(MARKER))));
        assert_eq!(rows(&json, "terms_acceptance").len(), 1);
        assert!(rows(&json, "terms_acceptance")[0]["content_hash"].as_str().is_some());
        let documents = rows(&json, "issued_document");
        assert_eq!(documents.len(), 1);
        let pdf = documents[0]["pdf"].as_str().unwrap();
        assert!(files[pdf].starts_with(b"%PDF-"), "the document's PDF is in the archive");
        let storage = rows(&json, "module_data");
        assert!(storage.iter().any(|entry| entry["module_id"] == "invoices" && entry["value"]["number"].is_string()), "the invoices module's storage for him");
        assert_eq!(storage.iter().filter(|entry| entry["module_id"] == "bookings" && entry["key"].as_str().unwrap().contains("cantine")).count(), 2, "his bookings in the town's storage, not another family's");
        assert!(!storage.iter().any(|entry| entry["key"].as_str().unwrap().contains("jeanne.martin")));
        assert_eq!(rows(&json, "payment")[0]["amount_cents"], 4500);
        assert_eq!(rows(&json, "feedback").len(), 1);
        assert_eq!(rows(&json, "franceconnect_link").len(), 1);
        let journal = rows(&json, "audit_event");
        for kind in ["login_succeeded", "terms_accepted", "document_issued", "data_export_requested"] {
            assert!(journal.iter().any(|event| event["kind"] == kind), "{kind} in the journal");
        }
        // Secrets never leave: no hash, no body, no token.
        let raw = String::from_utf8(files["donnees.json"].clone()).unwrap();
        for secret in ["password_hash", "token_hash", "text_body", "code_hash", &owner.password_hash] {
            assert!(!raw.contains(secret), "{secret} is exported");
        }
        let html = String::from_utf8(files["donnees.html"].clone()).unwrap();
        for shown in ["Mes données — Ville de Villeneuve", "Membres de votre foyer", "Historique de vos demandes", "Léa", "href=\"documents/1.pdf\""] {
            assert!(html.contains(shown), "{shown} in the summary");
        }

        // Once: the second click finds nothing, and says so.
        let again = browser.get(&link).await;
        assert_eq!(again.status, 410);
        assert!(again.text().contains("Ce lien ne permet plus de télécharger l'export"));
        // The archive is gone from the database.
        let town = app.town("villeneuve").await;
        let kept = guichet::privacy::entity::data_export::Entity::find()
            .filter(guichet::privacy::entity::data_export::Column::TenantId.eq(town.id().get()))
            .all(&app.app.db)
            .await
            .unwrap();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].archive.is_none());
        assert_eq!(kept[0].state, guichet::privacy::ExportState::Downloaded);
    }

    async fn an_export_link_is_worth_nothing_to_another_account_or_once_expired(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = app.demo_resident().await;
        let asked = browser.submit("/mes-donnees", "/mes-donnees/export", &[]).await;
        assert_eq!(asked.status, 303);
        let mail = app.mailbox().wait_for(EMAIL, "l'export de vos données est prêt").await;
        let first = mail.link_path("/mes-donnees/export/");
        // Its mail lost, say: a new request replaces the ready export.
        let again = browser.submit("/mes-donnees", "/mes-donnees/export", &[]).await;
        assert_eq!(again.status, 303);
        let mails = app.mailbox().wait_for_count(EMAIL, "l'export de vos données est prêt", 2).await;
        let link = mails
            .iter()
            .map(|mail| mail.link_path("/mes-donnees/export/"))
            .find(|link| *link != first)
            .unwrap();
        assert_eq!(browser.get(&first).await.status, 410, "the replaced link is worth nothing");
        let token = link.trim_start_matches("/mes-donnees/export/");

        // Someone else's session with the link: nothing.
        let (mut other, _) = app.active_resident("villeneuve", "jeanne.martin@example.fr").await;
        let refused = other.get(&link).await;
        assert_eq!(refused.status, 410, "{:?} {}", refused.header("location"), refused.body);
        // Not logged in: the login page first.
        let mut stranger = app.visitor(HOST);
        let answer = stranger.get(&link).await;
        assert_eq!(answer.status, 303);
        // Past its week: nothing, even for its owner.
        let town = app.town("villeneuve").await;
        let owner = account::Entity::find()
            .filter(account::Column::TenantId.eq(town.id().get()))
            .filter(account::Column::EmailKey.eq(EMAIL))
            .one(&app.app.db)
            .await
            .unwrap()
            .unwrap();
        let late = Utc::now() + guichet::privacy::LINK_VALID + Duration::minutes(1);
        let expired = app
            .app
            .privacy
            .download(&town, &owner, token, &guichet::audit::Origin::default(), late)
            .await
            .unwrap();
        assert!(expired.is_none());
        // The retention round deletes the expired archive.
        let round = app.app.privacy.town_round(&town, late).await.unwrap();
        assert_eq!(round.exports_expired, 1);
        let kept = guichet::privacy::entity::data_export::Entity::find()
            .filter(guichet::privacy::entity::data_export::Column::TenantId.eq(town.id().get()))
            .one(&app.app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.state, guichet::privacy::ExportState::Expired);
        assert!(kept.archive.is_none() && kept.token_hash.is_none());
        // The round, a week on, also ended the sessions of that week.
        assert_eq!(browser.get(&link).await.status, 303);
        assert_eq!(browser.login(&demo_identifier(&app).await, DEMO_PASSWORD).await.status, 303);
        assert_eq!(browser.get(&link).await.status, 410);
    }

    async fn a_closure_waits_for_its_grace_period_and_a_login_cancels_it(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = app.demo_resident().await;
        let town = app.town("villeneuve").await;
        let identifier = demo_identifier(&app).await;
        let administrator = app.ready_staff("villeneuve", StaffRole::Administrateur).await;

        let page = browser.get("/mes-donnees/fermer").await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("vous reconnecter annule la fermeture"));
        // Neither confirmed nor with the right password: refused, said why.
        let refused = browser.submit("/mes-donnees/fermer", "/mes-donnees/fermer", &[("password", "pas le bon")]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text().contains("Cochez la case"));
        let wrong = browser.submit("/mes-donnees/fermer", "/mes-donnees/fermer", &[("password", "pas le bon"), ("understood", "true")]).await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.text().contains("Ce mot de passe n'est pas le bon."));

        let asked = browser.submit("/mes-donnees/fermer", "/mes-donnees/fermer", &[("password", DEMO_PASSWORD), ("understood", "true")]).await;
        assert_eq!(asked.status, 303, "{}", asked.body);
        assert_eq!(asked.header("location"), Some("/connexion"));
        // Logged out everywhere.
        assert_eq!(browser.get("/mes-donnees").await.status, 303);
        app.mailbox().wait_for(EMAIL, "votre compte sera fermé le").await;

        // A day later, nothing; a login cancels.
        let privacy = &app.app.privacy;
        let round = privacy.town_round(&town, Utc::now() + Duration::days(1)).await.unwrap();
        assert_eq!(round.closed_on_request, 0);
        let login = browser.login(&identifier, DEMO_PASSWORD).await;
        assert_eq!(login.status, 303);
        app.mailbox().wait_for(EMAIL, "la fermeture de votre compte est annulée").await;
        let round = privacy.town_round(&town, Utc::now() + Duration::days(30)).await.unwrap();
        assert_eq!(round.closed_on_request, 0, "a login cancelled it");
        // That round, a month on, ended the session too: in again.
        assert_eq!(browser.login(&identifier, DEMO_PASSWORD).await.status, 303);

        // Asked again, and this time left alone: closed after 14 days.
        let asked = browser.submit("/mes-donnees/fermer", "/mes-donnees/fermer", &[("password", DEMO_PASSWORD), ("understood", "true")]).await;
        assert_eq!(asked.status, 303);
        let early = privacy.town_round(&town, Utc::now() + Duration::days(13)).await.unwrap();
        assert_eq!(early.closed_on_request, 0);
        let due = Utc::now() + Duration::days(15);
        let (first, second) = tokio::join!(privacy.town_round(&town, due), privacy.town_round(&town, due));
        assert_eq!(first.unwrap().closed_on_request + second.unwrap().closed_on_request, 1, "closed once");
        app.mailbox().wait_for(EMAIL, "votre compte est fermé").await;
        let told = app.mailbox().wait_for(&administrator.member.email, "compte(s) fermé(s)").await;
        assert!(told.text.contains("anonyme-") && told.text.contains("à la demande de l'usager"), "{}", told.text);
        let login = browser.login(&identifier, DEMO_PASSWORD).await;
        assert_ne!(login.status, 303, "a closed account cannot log in");
        assert!(login.text().contains("Identifiant ou mot de passe incorrect") || login.status == 401, "{}", login.text());
        let again = privacy.town_round(&town, due).await.unwrap();
        assert_eq!(again.closed_on_request, 0);
    }

    async fn a_franceconnect_login_a_moment_ago_confirms_the_closure(backend) {
        use guichet::accounts::entity::session;
        let app = TestApp::spawn(backend).await;
        let mut browser = app.demo_resident().await;
        let db = &app.app.db;
        let town = app.town("villeneuve").await;
        let owner = account::Entity::find()
            .filter(account::Column::TenantId.eq(town.id().get()))
            .filter(account::Column::EmailKey.eq(EMAIL))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let opened = |at: chrono::DateTime<Utc>| {
            session::Entity::update_many()
                .col_expr(session::Column::FranceconnectIdToken, sea_orm::sea_query::Expr::value(Some("id-token")))
                .col_expr(session::Column::CreatedAt, sea_orm::sea_query::Expr::value(at))
                .filter(session::Column::AccountId.eq(owner.id))
        };
        // A FranceConnect session opened 20 minutes ago: the password is asked.
        opened(Utc::now() - Duration::minutes(20)).exec(db).await.unwrap();
        let page = browser.get("/mes-donnees/fermer").await;
        assert!(page.body.contains("name=\"password\""), "{}", page.body);
        assert!(page.text().contains("reconnectez-vous avec FranceConnect, puis revenez sur cette page dans le quart d'heure"));
        let refused = browser.submit("/mes-donnees/fermer", "/mes-donnees/fermer", &[("understood", "true")]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text().contains("Saisissez votre mot de passe pour confirmer."));
        // Opened a moment ago: that login confirms.
        opened(Utc::now()).exec(db).await.unwrap();
        let page = browser.get("/mes-donnees/fermer").await;
        assert!(!page.body.contains("name=\"password\""));
        assert!(page.text().contains("Vous vous êtes connecté avec FranceConnect il y a quelques instants"));
        let asked = browser.submit("/mes-donnees/fermer", "/mes-donnees/fermer", &[("understood", "true")]).await;
        assert_eq!(asked.status, 303, "{}", asked.body);
        let closing = account::Entity::find_by_id(owner.id).one(db).await.unwrap().unwrap();
        assert!(closing.closes_at.is_some());
    }

    async fn a_closed_account_leaves_no_personal_data_and_keeps_records_pseudonymised(backend) {
        let app = TestApp::spawn(backend).await;
        let (_browser, owner) = rich_resident(&app).await;
        let town = app.town("villeneuve").await;
        let db = &app.app.db;
        account::Entity::update_many()
            .col_expr(account::Column::ClosesAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
            .filter(account::Column::Id.eq(owner.id))
            .exec(db)
            .await
            .unwrap();
        let closed = app
            .app
            .privacy
            .close(&town, owner.id, ClosureReason::Requested, Utc::now())
            .await
            .unwrap()
            .expect("closed");
        // The last mail leaves, then its address goes too.
        app.mailbox().wait_for(EMAIL, "votre compte est fermé").await;
        for _ in 0..100 {
            let round = app.app.privacy.town_round(&town, Utc::now()).await.unwrap();
            if round.mails > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }

        // Every text column of every one of the town's rows, and every row
        // of the tables that have no town, searched for what named him.
        let schema = schema(db).await;
        let wanted = [EMAIL, "michel.arpege", "arpege", "arpège", "michel", "léa", "hugo", "rue creuse", MARKER];
        let mut found = Vec::new();
        for (table, columns) in &schema {
            let scoped = columns.contains_key("tenant_id");
            for (column, text) in columns {
                if !text {
                    continue;
                }
                // Outside the town's rows (the other demo town has its own
                // Michel ARPEGE), only what is his alone.
                let searched: &[&str] = if scoped { &wanted } else { &[EMAIL, MARKER] };
                for value in searched {
                    let sql = format!(
                        "SELECT COUNT(*) AS n FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) LIKE '%{value}%'{}",
                        if scoped { format!(" AND tenant_id = {}", town.id().get()) } else { String::new() }
                    );
                    let row = db
                        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                        .await
                        .unwrap()
                        .unwrap();
                    let count: i64 = row.try_get("", "n").unwrap();
                    if count > 0 {
                        found.push(format!("{table}.{column} holds « {value} » ({count})"));
                    }
                }
            }
        }
        assert_eq!(found, Vec::<String>::new());

        // The account is the pseudonym; the records the law keeps point to it.
        let tombstone = account::Entity::find_by_id(owner.id).one(db).await.unwrap().unwrap();
        assert_eq!(tombstone.status, AccountStatus::Closed);
        assert_eq!(tombstone.identifier, closed.pseudonym);
        assert!(tombstone.closed_at.is_some());
        let kept = payment::Entity::find()
            .filter(payment::Column::TenantId.eq(town.id().get()))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.account_id, None, "detached");
        assert_eq!(kept.resident_identifier, closed.pseudonym);
        assert_eq!((kept.amount_cents, kept.state, kept.reference.as_str()), (4500, PaymentState::Paid, "2020060042"));
        let proof = terms_acceptance::Entity::find()
            .filter(terms_acceptance::Column::AccountId.eq(owner.id))
            .all(db)
            .await
            .unwrap();
        assert_eq!(proof.len(), 1);
        assert!(proof[0].ip.is_none() && !proof[0].content_hash.is_empty());
        // The bookings stay the town's, under the pseudonym.
        let bookings = storage::get(db, &DataScope::town(&town, "bookings"), &format!("booking:cantine:2026-09-07:{}~m1", closed.pseudonym)).await.unwrap().expect("kept under the pseudonym");
        let booking: Value = serde_json::from_str(&bookings).unwrap();
        assert_eq!(booking["resident"], closed.pseudonym.as_str());
        assert_eq!(booking["child_name"], "—");
        assert_eq!(booking["family"], "—");
        assert_eq!(booking["price_cents"], 420);
        let other = storage::get(db, &DataScope::town(&town, "bookings"), "booking:cantine:2026-09-07:jeanne.martin~m9").await.unwrap().unwrap();
        assert!(other.contains("Zoé"), "another family's booking is untouched");
        // The journal says it, under the pseudonym.
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::AccountId.eq(owner.id))
            .filter(audit_event::Column::Kind.eq("account_closed"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert!(events[0].detail.as_deref().unwrap().contains(&closed.pseudonym));
        // His identifier is never given again: a homonym gets another.
        let homonym = app.create_resident("villeneuve", "Michel", "Arpège", "autre.michel@example.fr").await;
        assert_eq!(homonym.identifier, "michel.arpege2");
        // The staff see the pseudonym, and can do nothing more on it.
        let mut manager = app.staff("villeneuve", StaffRole::Gestionnaire).await;
        let page = manager.get(&format!("/admin/usagers/{}", closed.pseudonym)).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains(&format!("Compte fermé ({})", closed.pseudonym)));
        assert!(!page.body.contains("export-donnees") && !page.body.contains("/documents\""));
        let csrf = crate::harness::csrf_of(&page.body);
        let export = manager.post(&format!("/admin/usagers/{}/export-donnees", closed.pseudonym), &[("csrf", &csrf)]).await;
        assert_eq!(export.status, 404);
        assert_eq!(manager.get(&format!("/admin/usagers/{}/desactivation", closed.pseudonym)).await.status, 404);
    }

    async fn inactive_accounts_are_warned_then_closed_and_never_activated_ones_removed(backend) {
        let app = TestApp::spawn(backend).await;
        let _ = app.demo_resident().await;
        let town = app.town("villeneuve").await;
        let db = &app.app.db;
        let privacy = &app.app.privacy;
        let owner = account::Entity::find()
            .filter(account::Column::TenantId.eq(town.id().get()))
            .filter(account::Column::EmailKey.eq(EMAIL))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let now = Utc::now();
        // His last login, 23 months and a half ago.
        account::Entity::update_many()
            .col_expr(account::Column::LastLoginAt, sea_orm::sea_query::Expr::value(Some(now - Duration::days(715))))
            .col_expr(account::Column::ActivatedAt, sea_orm::sea_query::Expr::value(Some(now - Duration::days(800))))
            .col_expr(account::Column::CreatedAt, sea_orm::sea_query::Expr::value(now - Duration::days(800)))
            .filter(account::Column::Id.eq(owner.id))
            .exec(db)
            .await
            .unwrap();
        let created = app.create_resident("villeneuve", "Paul", "Jamais", "paul.jamais@example.fr").await;

        let round = privacy.town_round(&town, now).await.unwrap();
        assert_eq!((round.warned, round.closed_inactive, round.never_activated_removed), (1, 0, 0));
        app.mailbox().wait_for(EMAIL, "sera fermé faute d'utilisation").await;
        let again = privacy.town_round(&town, now).await.unwrap();
        assert_eq!(again.warned, 0, "warned once");

        // A month later, still no login: closed. Seven months on, the
        // account never activated is gone.
        let later = now + Duration::days(31);
        let round = privacy.town_round(&town, later).await.unwrap();
        assert_eq!(round.closed_inactive, 1);
        let closed = account::Entity::find_by_id(owner.id).one(db).await.unwrap().unwrap();
        assert_eq!(closed.status, AccountStatus::Closed);
        let round = privacy.town_round(&town, now + Duration::days(7 * 31)).await.unwrap();
        assert_eq!(round.never_activated_removed, 1);
        assert!(account::Entity::find_by_id(created.account_id).one(db).await.unwrap().is_none());
        let journal = audit_event::Entity::find()
            .filter(audit_event::Column::TenantId.eq(town.id().get()))
            .filter(audit_event::Column::Kind.eq("never_activated_removed"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(journal, 1);
        // Each round recorded.
        let runs = guichet::privacy::entity::retention_run::Entity::find()
            .filter(guichet::privacy::entity::retention_run::Column::TenantId.eq(town.id().get()))
            .all(db)
            .await
            .unwrap();
        assert_eq!(runs.len(), 4);
    }

    async fn a_login_answers_the_inactivity_warning(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = app.demo_resident().await;
        let town = app.town("villeneuve").await;
        let db = &app.app.db;
        let now = Utc::now();
        account::Entity::update_many()
            .col_expr(account::Column::LastLoginAt, sea_orm::sea_query::Expr::value(Some(now - Duration::days(715))))
            .col_expr(account::Column::ActivatedAt, sea_orm::sea_query::Expr::value(Some(now - Duration::days(800))))
            .col_expr(account::Column::CreatedAt, sea_orm::sea_query::Expr::value(now - Duration::days(800)))
            .filter(account::Column::EmailKey.eq(EMAIL))
            .filter(account::Column::TenantId.eq(town.id().get()))
            .exec(db)
            .await
            .unwrap();
        assert_eq!(app.app.privacy.town_round(&town, now).await.unwrap().warned, 1);
        browser.logout().await;
        assert_eq!(browser.login(&demo_identifier(&app).await, DEMO_PASSWORD).await.status, 303);
        let round = app.app.privacy.town_round(&town, now + Duration::days(31)).await.unwrap();
        assert_eq!(round.closed_inactive, 0);
    }

    async fn the_staff_answers_an_access_request_and_the_journal_says_so(backend) {
        let app = TestApp::spawn(backend).await;
        let _ = app.demo_resident().await;
        let identifier = demo_identifier(&app).await;
        let page = format!("/admin/usagers/{identifier}");
        let action = format!("/admin/usagers/{identifier}/export-donnees");

        let mut agent = app.staff("villeneuve", StaffRole::Agent).await;
        let shown = agent.get(&page).await;
        assert!(!shown.body.contains("export-donnees"), "an agent is not offered it");
        let csrf = crate::harness::csrf_of(&shown.body);
        assert_eq!(agent.post(&action, &[("csrf", &csrf)]).await.status, 403);

        let mut manager = app.staff("villeneuve", StaffRole::Gestionnaire).await;
        let shown = manager.get(&page).await;
        assert!(shown.body.contains(&action));
        let csrf = crate::harness::csrf_of(&shown.body);
        let (status, headers, bytes) = {
            let answer = manager.post(&action, &[("csrf", &csrf)]).await;
            (answer.status, answer.headers.clone(), answer.body.len())
        };
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/zip");
        assert!(bytes > 1000);
        let town = app.town("villeneuve").await;
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::TenantId.eq(town.id().get()))
            .filter(audit_event::Column::Kind.eq("data_exported_by_staff"))
            .all(&app.app.db)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].actor_kind, guichet::audit::ActorKind::Staff);
    }

    async fn the_administrator_sets_the_notice_and_the_periods(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("saint-martin", StaffRole::Administrateur).await;
        let page = admin.get("/admin/donnees-personnelles").await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("tenant.toml"), "{}", page.text());
        assert_eq!(crate::harness::field_value(&page.body, "closure_grace_days"), "14");

        // Wrong values: each field says why, what was typed stays.
        let refused = admin
            .submit(
                "/admin/donnees-personnelles",
                "/admin/donnees-personnelles",
                &[("controller", ""), ("dpo_name", ""), ("dpo_email", "nulle part"), ("dpo_address", ""), ("closure_grace_days", "0"), ("inactive_after_months", "1"), ("never_activated_after_months", "six")],
            )
            .await;
        assert_eq!(refused.status, 422);
        let text = refused.text();
        for said in ["Indiquez une adresse électronique valide", "Indiquez un nombre de jours entre 1 et 90.", "Indiquez un nombre de mois entre 2 et 120.", "Indiquez un nombre de mois entre 1 et 60."] {
            assert!(text.contains(said), "{said} in {text}");
        }
        assert_eq!(crate::harness::field_value(&refused.body, "never_activated_after_months"), "six");

        let saved = admin
            .submit(
                "/admin/donnees-personnelles",
                "/admin/donnees-personnelles",
                &[("controller", "Commune de Saint-Martin"), ("dpo_name", "Mme la déléguée"), ("dpo_email", "dpo@saint-martin.example.fr"), ("dpo_address", ""), ("closure_grace_days", "30"), ("inactive_after_months", "36"), ("never_activated_after_months", "3")],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let notice = app.visitor("saint-martin.localhost").get("/donnees-personnelles").await.text();
        for said in ["Commune de Saint-Martin", "dpo@saint-martin.example.fr", "36 mois", "3 mois", "30 jours"] {
            assert!(notice.contains(said), "{said} in {notice}");
        }
        let town = app.town("saint-martin").await;
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::TenantId.eq(town.id().get()))
            .filter(audit_event::Column::Kind.eq("privacy_settings_changed"))
            .count(&app.app.db)
            .await
            .unwrap();
        assert_eq!(events, 1);
        // The periods saved are the ones the round applies.
        assert_eq!(app.app.privacy.settings(&town).await.unwrap().settings.closure_grace_days, 30);
        let (mut resident, _) = app.active_resident("saint-martin", "paul@example.org").await;
        assert!(resident.get("/mes-donnees/fermer").await.text().contains("dans 30 jours"));
        // tenant.toml applied again changes nothing any more.
        let towns = guichet::towns::load_definitions(&crate::harness::repo_root().join("tenants")).unwrap();
        app.app.apply_towns(&towns).await.unwrap();
        let town = app.town("saint-martin").await;
        assert_eq!(app.app.privacy.settings(&town).await.unwrap().settings.closure_grace_days, 30);
    }

    async fn the_privacy_notice_is_complete_in_both_towns(backend) {
        let app = TestApp::spawn(backend).await;
        for (host, dpo) in [("villeneuve.localhost", Some("dpo@villeneuve.example.fr")), ("saint-martin.localhost", None)] {
            let page = app.visitor(host).get("/donnees-personnelles").await;
            assert_eq!(page.status, 200);
            let text = page.text();
            for said in ["Délégué à la protection des données", "article 6.1.e", "24 mois", "6 mois", "14 jours", "10 ans", "CNIL", "Mes données"] {
                assert!(text.contains(said), "{said} on {host}: {text}");
            }
            if let Some(dpo) = dpo {
                assert!(text.contains(dpo), "{dpo} on {host}");
            }
            // Linked from every page's footer.
            assert!(app.visitor(host).get("/connexion").await.body.contains("href=\"/donnees-personnelles\""));
        }
    }
}

/// The demo resident's identifier in Villeneuve.
async fn demo_identifier(app: &TestApp) -> String {
    let town = app.town("villeneuve").await;
    account::Entity::find()
        .filter(account::Column::TenantId.eq(town.id().get()))
        .filter(account::Column::EmailKey.eq(EMAIL))
        .one(&app.app.db)
        .await
        .unwrap()
        .map(|owner| owner.identifier)
        .unwrap_or_default()
}
