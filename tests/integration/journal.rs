//! The account journal: who acted and on which account, the resident's own
//! history, the staff's filters and pages, the CSV export, the purge.

use chrono::{Duration, Utc};
use guichet::audit::entity::{self as audit_event, ActorKind};
use guichet::audit::{
    Actor, ActorFilter, AuditKind, Event, Journal, JournalFilter, JournalPurge, Origin,
    PURGE_BATCH, record_event,
};
use guichet::tenancy::Tenant;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};

use guichet::staff::StaffRole;

use crate::harness::{OpenApp, TestApp, TestDatabase, repo_root};

/// Every event of the database, oldest first.
async fn events(app: &TestApp) -> Vec<audit_event::Model> {
    all_events(&app.app.db).await
}

async fn all_events(db: &sea_orm::DatabaseConnection) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// An event of `town` written as if recorded `age` ago.
async fn old_event(
    db: &sea_orm::DatabaseConnection,
    town: &Tenant,
    subject: Option<i32>,
    kind: AuditKind,
    age: Duration,
) -> audit_event::Model {
    audit_event::ActiveModel {
        tenant_id: Set(town.id().get()),
        account_id: Set(subject),
        kind: Set(kind.as_str().to_owned()),
        actor_kind: Set(ActorKind::System),
        created_at: Set(Utc::now() - age),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// A staff member's action on an account, as the back-office records it.
async fn staff_action(app: &TestApp, town: &Tenant, subject: i32, kind: AuditKind, label: &str) {
    record_event(
        &app.app.db,
        town.scope(),
        Event {
            kind,
            actor: Actor::Staff {
                id: 7,
                label: label.to_owned(),
            },
            subject: Some(subject),
            origin: &Origin {
                ip: Some("10.9.8.7".to_owned()),
                user_agent: Some("Back-office".to_owned()),
            },
            detail: Some("motif interne".to_owned()),
        },
    )
    .await
    .unwrap();
}

async fn account_id(app: &TestApp, slug: &str, identifier: &str) -> i32 {
    let town = app.town(slug).await;
    Journal::new(app.app.db.clone())
        .resident_by_identifier(&town, identifier)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The rows of the history table of a page.
fn history_rows(body: &str) -> Vec<String> {
    let Some(start) = body.find("<tbody>") else {
        return Vec::new();
    };
    let end = body[start..].find("</tbody>").unwrap() + start;
    body[start..end]
        .split("<tr>")
        .skip(1)
        .map(|row| row.to_owned())
        .collect()
}

/// A page's links as a browser reads them (templates escape `=` and `&`).
fn unescaped(body: &str) -> String {
    body.replace("&#x3D;", "=").replace("&amp;", "&")
}

/// The `apres=` parameter of a page's "older" link.
fn next_page(body: &str) -> Option<String> {
    let marker = "/mon-compte/historique?apres=";
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next().unwrap().to_owned())
}

on_both_databases! {
    async fn residents_actions_record_the_resident_as_actor_and_subject(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = app.active_resident("villeneuve", "acteur@example.org").await;
        let me = account_id(&app, "villeneuve", &identifier).await;
        browser.logout().await;
        browser.login(&identifier, "mauvais-mot-de-passe-1").await;
        browser.login("personne.inconnue", "mauvais-mot-de-passe-1").await;

        let recorded = events(&app).await;
        let actor_of = |kind: &str| {
            let event = recorded.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("no {kind}"));
            (event.actor_kind, event.actor_id, event.account_id)
        };
        // The town created the account (here as the CLI does: the system).
        assert_eq!(actor_of("account_created"), (ActorKind::System, None, Some(me)));
        for kind in ["account_activated", "login_succeeded", "password_changed", "terms_accepted", "logout"] {
            assert_eq!(actor_of(kind), (ActorKind::Resident, Some(me), Some(me)), "{kind}");
        }
        // Whoever typed the password proved nothing: not the resident.
        let failed: Vec<_> = recorded.iter().filter(|e| e.kind == "login_failed").collect();
        assert_eq!(failed.len(), 2);
        assert_eq!((failed[0].actor_kind, failed[0].actor_id, failed[0].account_id), (ActorKind::Anonymous, None, Some(me)));
        assert_eq!((failed[1].actor_kind, failed[1].account_id), (ActorKind::Anonymous, None));
        assert!(recorded.iter().all(|e| e.actor_label.is_none()));
    }

    async fn the_clis_account_creation_is_the_systems(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
                .current_dir(dir.path())
                .args(args)
                .env("GUICHET_DATABASE_URL", &database.url)
                .env("GUICHET_SECRET_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        };
        run(&["tenant", "apply", repo_root().join("tenants").to_str().unwrap()]);
        run(&["account", "create", "--tenant", "villeneuve", "--email", "cli@example.org", "--first-name", "Léa", "--last-name", "Martin"]);
        let db = guichet::db::connect(&database.url).await.unwrap();
        let recorded = audit_event::Entity::find().all(&db).await.unwrap();
        assert_eq!(recorded.len(), 1, "{recorded:?}");
        assert_eq!(recorded[0].kind, "account_created");
        assert_eq!((recorded[0].actor_kind, recorded[0].actor_id, recorded[0].actor_label.as_deref()), (ActorKind::System, None, None));
        assert!(recorded[0].account_id.is_some());
    }

    async fn a_resident_sees_their_own_history_with_staff_anonymised(backend) {
        let app = TestApp::spawn(backend).await;
        let villeneuve = app.town("villeneuve").await;
        let saint_martin = app.town("saint-martin").await;
        let (mut mine, identifier) = app.active_resident("villeneuve", "moi@example.org").await;
        let me = account_id(&app, "villeneuve", &identifier).await;
        let (_, other) = app.active_resident("villeneuve", "voisin@example.org").await;
        let neighbour = account_id(&app, "villeneuve", &other).await;
        let (_, elsewhere) = app.active_resident("saint-martin", "ailleurs@example.org").await;
        let stranger = account_id(&app, "saint-martin", &elsewhere).await;

        staff_action(&app, &villeneuve, me, AuditKind::EmailChanged, "Marie Durand (gestionnaire)").await;
        // Events of other accounts, in this town and in the other one.
        staff_action(&app, &villeneuve, neighbour, AuditKind::FranceConnectUnlinked, "Paul Agent (agent)").await;
        staff_action(&app, &saint_martin, stranger, AuditKind::FranceConnectLinked, "Zoé Admin (administrateur)").await;
        // A failed attempt on my account, by someone else.
        let mut intruder = app.visitor("villeneuve.localhost");
        intruder.login(&identifier, "je-devine-1").await;

        let home = mine.get("/").await;
        assert!(home.body.contains("<a href=\"/mon-compte/historique\">Historique de mon compte</a>"), "{}", home.body);
        let page = mine.get("/mon-compte/historique").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let text = page.text();
        assert!(text.contains("<h1 class=\"page__title\">Historique de mon compte</h1>"));
        assert!(text.contains("<caption>"), "an accessible table");
        assert!(text.contains("<th scope=\"col\">Événement</th>"));
        for shown in [
            "Compte créé", "Compte activé", "Connexion", "Mot de passe modifié",
            "Conditions générales d'utilisation acceptées", "Échec de connexion",
            "Adresse électronique modifiée", "un agent de la mairie", "Vous",
            "une personne non connectée", "conservés 365 jours",
        ] {
            assert!(text.contains(shown), "`{shown}` missing from:\n{text}");
        }
        // Never the agent's name, address or note; never others' events.
        for hidden in ["Marie Durand", "(gestionnaire)", "10.9.8.7", "motif interne", "Paul Agent", "Zoé Admin", "Compte FranceConnect", other.as_str()] {
            assert!(!text.contains(hidden), "`{hidden}` shown in:\n{text}");
        }
        let rows = history_rows(&page.body);
        let staff_row = rows.iter().find(|row| row.contains("Adresse électronique modifiée")).unwrap();
        assert!(staff_row.contains("un agent de la mairie") && !staff_row.contains("Adresse IP"), "{staff_row}");
        let created_row = rows.iter().find(|row| row.contains("Compte créé")).unwrap();
        assert!(created_row.contains("<td data-label=\"Par\">Guichet</td>"), "{created_row}");
        let failed_row = rows.iter().find(|row| row.contains("Échec de connexion")).unwrap();
        assert!(failed_row.contains("Adresse IP : 127.0.0.1"), "{failed_row}");
        assert_eq!(rows.len(), events(&app).await.iter().filter(|e| e.account_id == Some(me)).count());

        // Nobody logged in: the login page, not the history.
        let anonymous = app.get("villeneuve.localhost", "/mon-compte/historique").await;
        assert_eq!(anonymous.status, 303);
        assert!(!anonymous.body.contains("Historique"));
        // The same account id in the other town names no one there.
        let journal = Journal::new(app.app.db.clone());
        let crossed = journal.resident_history(&saint_martin, me, None, 50).await.unwrap();
        assert!(crossed.entries.is_empty());
    }

    async fn the_history_is_paged_without_gaps_or_repeats(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("saint-martin").await;
        let (mut browser, identifier) = app.active_resident("saint-martin", "pages@example.org").await;
        let me = account_id(&app, "saint-martin", &identifier).await;
        for day in 0..45 {
            old_event(&app.app.db, &town, Some(me), AuditKind::PasswordResetRequested, Duration::days(day) + Duration::hours(1)).await;
        }
        let expected = events(&app).await.iter().filter(|e| e.account_id == Some(me)).count();
        let mut seen = Vec::new();
        let mut path = "/mon-compte/historique".to_owned();
        let mut pages = 0;
        loop {
            let page = browser.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let rows = history_rows(&page.body);
            assert!(rows.len() <= 20);
            seen.extend(rows.into_iter().map(|row| row.split("datetime=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()));
            pages += 1;
            match next_page(&page.body) {
                Some(next) => {
                    assert!(page.body.contains("Événements plus anciens"));
                    path = format!("/mon-compte/historique?apres={next}");
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), expected);
        assert_eq!(pages, expected.div_ceil(20));
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| chrono::DateTime::parse_from_rfc3339(b).unwrap().cmp(&chrono::DateTime::parse_from_rfc3339(a).unwrap()));
        assert_eq!(seen, sorted, "newest first");
        // A cursor that means nothing is the first page.
        let junk = browser.get("/mon-compte/historique?apres=nimporte-quoi").await;
        assert_eq!(junk.status, 200);
        assert_eq!(history_rows(&junk.body).len(), 20);
    }

    async fn the_staff_journal_filters_and_pages(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let other_town = app.town("saint-martin").await;
        let first = app.create_resident("villeneuve", "Jeanne", "Un", "un@example.org").await;
        let second = app.create_resident("villeneuve", "Jean", "Deux", "deux@example.org").await;
        let abroad = app.create_resident("saint-martin", "Jean", "Trois", "trois@example.org").await;
        for _ in 0..3 {
            staff_action(&app, &town, first.account_id, AuditKind::PasswordChanged, "Marie Durand (gestionnaire)").await;
        }
        staff_action(&app, &town, second.account_id, AuditKind::EmailChanged, "Marie Durand (gestionnaire)").await;
        staff_action(&app, &other_town, abroad.account_id, AuditKind::EmailChanged, "Marie Durand (gestionnaire)").await;
        record_event(&app.app.db, town.scope(), Event {
            kind: AuditKind::ActivationMailSent,
            actor: Actor::ApiKey { name: "Scolaire".to_owned() },
            subject: Some(second.account_id),
            origin: &Origin::default(),
            detail: None,
        }).await.unwrap();
        old_event(&app.app.db, &town, Some(first.account_id), AuditKind::LoginSucceeded, Duration::days(40)).await;

        let journal = Journal::new(app.app.db.clone());
        let all = |filter: JournalFilter| {
            let journal = journal.clone();
            let town = town.clone();
            async move {
                let mut entries = Vec::new();
                let mut after = None;
                loop {
                    let page = journal.page(&town, &filter, after, 2).await.unwrap();
                    assert!(page.entries.len() <= 2);
                    entries.extend(page.entries);
                    match page.next {
                        Some(next) => after = Some(next),
                        None => return entries,
                    }
                }
            }
        };
        // Everything of the town (two creations, five actions, one old login), newest first.
        let everything = all(JournalFilter::default()).await;
        assert_eq!(everything.len(), 2 + 5 + 1);
        assert!(everything.windows(2).all(|pair| (pair[0].event.created_at, pair[0].event.id) > (pair[1].event.created_at, pair[1].event.id)));
        assert!(everything.iter().all(|entry| entry.event.tenant_id == town.id().get()));

        let by_kind = all(JournalFilter { kind: Some(AuditKind::PasswordChanged), ..Default::default() }).await;
        assert_eq!(by_kind.len(), 3);
        let by_subject = all(JournalFilter { subject: Some(second.account_id), ..Default::default() }).await;
        assert_eq!(by_subject.iter().map(|e| e.event.kind.as_str()).collect::<Vec<_>>(), ["activation_mail_sent", "email_changed", "account_created"]);
        assert_eq!(by_subject[0].subject.as_ref().unwrap().identifier, second.identifier);
        let by_staff = all(JournalFilter { actor: Some(ActorFilter::Staff(7)), ..Default::default() }).await;
        assert_eq!(by_staff.len(), 4);
        assert_eq!(by_staff[0].actor_label(guichet::audit::Reader::Staff), "Marie Durand (gestionnaire)");
        let by_key = all(JournalFilter { actor: Some(ActorFilter::ApiKey("Scolaire".to_owned())), ..Default::default() }).await;
        assert_eq!(by_key.len(), 1);
        assert_eq!(by_key[0].actor_label(guichet::audit::Reader::Staff), "Logiciel de la mairie (clé « Scolaire »)");
        let by_system = all(JournalFilter { actor: Some(ActorFilter::Kind(ActorKind::System)), ..Default::default() }).await;
        assert_eq!(by_system.len(), 3);
        assert_eq!(by_system[0].actor_label(guichet::audit::Reader::Staff), "Guichet");
        let recent = all(JournalFilter { from: Some(Utc::now() - Duration::days(1)), ..Default::default() }).await;
        assert_eq!(recent.len(), 7);
        let older = all(JournalFilter { until: Some(Utc::now() - Duration::days(1)), ..Default::default() }).await;
        assert_eq!(older.len(), 1);
        // Another town's resident is no subject here.
        let foreign = all(JournalFilter { subject: Some(abroad.account_id), ..Default::default() }).await;
        assert!(foreign.is_empty());
        assert!(journal.resident_by_identifier(&town, &abroad.identifier).await.unwrap().is_none());
    }

    async fn the_csv_export_writes_formulas_as_text(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let created = app.create_resident("villeneuve", "=HYPERLINK(\"http://evil.example\")", "Martin", "csv@example.org").await;
        record_event(&app.app.db, town.scope(), Event {
            kind: AuditKind::EmailChanged,
            actor: Actor::Staff { id: 1, label: "@SUM(A1) (agent)".to_owned() },
            subject: Some(created.account_id),
            origin: &Origin { ip: Some("10.0.0.1".to_owned()), user_agent: Some("-2+3".to_owned()) },
            detail: Some("+33 1 23".to_owned()),
        }).await.unwrap();
        let other = app.town("saint-martin").await;
        staff_action(&app, &other, created.account_id, AuditKind::PasswordChanged, "Ailleurs (agent)").await;

        let journal = Journal::new(app.app.db.clone());
        let csv = String::from_utf8(journal.export_csv_bytes(&town, &JournalFilter::default()).await.unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            ["date", "evenement", "code", "acteur", "type_acteur", "usager", "identifiant_usager", "adresse_ip", "navigateur", "detail"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2, "{csv}");
        let change = &rows[0];
        assert_eq!(&change[1], "Adresse électronique modifiée");
        assert_eq!(&change[2], "email_changed");
        assert_eq!(&change[3], "'@SUM(A1) (agent)");
        assert_eq!(&change[4], "staff");
        assert_eq!(&change[5], "'=HYPERLINK(\"http://evil.example\") MARTIN");
        assert_eq!(&change[8], "'-2+3");
        assert_eq!(&change[9], "'+33 1 23");
        assert!(!csv.contains("Ailleurs"), "another town's event: {csv}");

        // The export is the filter's, however many rounds it takes.
        for _ in 0..(guichet::audit::MAX_PAGE + 5) {
            staff_action(&app, &town, created.account_id, AuditKind::PasswordChanged, "Marie Durand (gestionnaire)").await;
        }
        let filter = JournalFilter { kind: Some(AuditKind::PasswordChanged), ..Default::default() };
        let csv = journal.export_csv_bytes(&town, &filter).await.unwrap();
        let rows = csv::Reader::from_reader(csv.as_slice()).records().count();
        assert_eq!(rows as u64, guichet::audit::MAX_PAGE + 5);
    }

    async fn the_purge_keeps_each_towns_retention_and_records_itself(backend) {
        // Not served: no purge of the server's own runs meanwhile.
        let app = OpenApp::open(backend).await;
        let db = &app.app.db;
        let villeneuve = app.town("villeneuve").await; // 365 days, the default
        let saint_martin = app.town("saint-martin").await; // 180 days
        assert_eq!(guichet::audit::JournalSettings::of(&saint_martin).retention_days, 180);
        let mut kept = Vec::new();
        for town in [&villeneuve, &saint_martin] {
            for days in [400, 200, 10] {
                let event = old_event(db, town, None, AuditKind::LoginFailed, Duration::days(days)).await;
                if days == 10 || (days == 200 && town.slug == "villeneuve") {
                    kept.push(event.id);
                }
            }
        }
        let purge = JournalPurge::new(db.clone(), app.app.tenants.clone());
        let report = purge.round(Utc::now()).await;
        assert_eq!((report.deleted, report.failed), (3, 0));

        let left = all_events(db).await;
        let purged: Vec<_> = left.iter().filter(|e| e.kind == "journal_purged").collect();
        assert_eq!(purged.len(), 2, "one record per town that lost events");
        for (town, count) in [(&villeneuve, "1"), (&saint_martin, "2")] {
            let record = purged.iter().find(|e| e.tenant_id == town.id().get()).unwrap();
            assert_eq!((record.actor_kind, record.actor_id, record.account_id, record.detail.as_deref()), (ActorKind::System, None, None, Some(count)));
        }
        let mut remaining: Vec<i32> = left.iter().filter(|e| e.kind == "login_failed").map(|e| e.id).collect();
        remaining.sort_unstable();
        kept.sort_unstable();
        assert_eq!(remaining, kept);

        // Nothing more to purge: nothing deleted, nothing recorded.
        assert_eq!(purge.round(Utc::now()).await.deleted, 0);
        assert_eq!(all_events(db).await.len(), left.len());
    }

    async fn purges_go_by_batches_and_side_by_side(backend) {
        // Not served: no purge of the server's own runs meanwhile.
        let app = OpenApp::open(backend).await;
        let db = &app.app.db;
        let town = app.town("villeneuve").await;
        let total = PURGE_BATCH + 150;
        let rows: Vec<audit_event::ActiveModel> = (0..total)
            .map(|n| audit_event::ActiveModel {
                tenant_id: Set(town.id().get()),
                kind: Set("login_failed".to_owned()),
                actor_kind: Set(ActorKind::Anonymous),
                created_at: Set(Utc::now() - Duration::days(400) - Duration::seconds(n as i64)),
                ..Default::default()
            })
            .collect();
        for chunk in rows.chunks(200) {
            audit_event::Entity::insert_many(chunk.to_vec()).exec(db).await.unwrap();
        }
        // Two instances at once: every event deleted once, and the records
        // add up to what was deleted.
        let one = JournalPurge::new(db.clone(), app.app.tenants.clone());
        let two = one.clone();
        let (first, second) = tokio::join!(one.purge_town(&town, Utc::now()), two.purge_town(&town, Utc::now()));
        assert_eq!(first.unwrap() + second.unwrap(), total);
        let left = all_events(db).await;
        assert!(left.iter().all(|e| e.kind == "journal_purged"), "{left:?}");
        let recorded: u64 = left.iter().map(|e| e.detail.as_deref().unwrap().parse::<u64>().unwrap()).sum();
        assert_eq!(recorded, total);
        assert!(left.iter().all(|e| e.detail.as_deref().unwrap().parse::<u64>().unwrap() <= PURGE_BATCH));
        let records = audit_event::Entity::find()
            .filter(audit_event::Column::Kind.eq("journal_purged"))
            .all(db)
            .await
            .unwrap();
        assert!(records.len() >= 2, "at least one record per batch");
    }

    async fn the_staff_journal_page_filters_pages_and_exports(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let other_town = app.town("saint-martin").await;
        let jeanne = app.create_resident("villeneuve", "Jeanne", "Lune", "lune@example.org").await;
        let paul = app.create_resident("villeneuve", "Paul", "Soleil", "soleil@example.org").await;
        let abroad = app.create_resident("saint-martin", "Zoé", "Ailleurs", "ailleurs@example.org").await;
        staff_action(&app, &other_town, abroad.account_id, AuditKind::EmailChanged, "Agent De-Saint-Martin (agent)").await;
        record_event(&app.app.db, town.scope(), Event {
            kind: AuditKind::EmailChanged,
            actor: Actor::Staff { id: 1, label: "=cmd|' /C calc'!A0 (agent)".to_owned() },
            subject: Some(paul.account_id),
            origin: &Origin { ip: Some("10.0.0.2".to_owned()), user_agent: Some("@SUM(1)".to_owned()) },
            detail: Some("-1+1".to_owned()),
        }).await.unwrap();
        for day in 0..60 {
            old_event(&app.app.db, &town, Some(jeanne.account_id), AuditKind::LoginFailed, Duration::days(day) + Duration::hours(2)).await;
        }
        let (mut agent, member) = app.staff_with_member("villeneuve", StaffRole::Agent).await;

        let page = agent.get("/admin/journal").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let text = page.text();
        for shown in ["<h1 class=\"card__title\" id=\"journal-titre\">Journal</h1>", "<caption>", "Connexion d'agent", "Jeanne LUNE", "Paul SOLEIL", " /C calc'!A0 (agent)", "<label class=\"field__label\" for=\"usager\">", "Événements plus anciens", "conservés 365 jours"] {
            assert!(text.contains(shown), "`{shown}` missing from:\n{text}");
        }
        assert!(text.contains(&guichet::staff::actor_label(&member.member)), "the agent's own login, by name and role");
        assert!(!text.contains("Saint-Martin (agent)") && !text.contains("Zoé"), "another town's events");
        assert_eq!(history_rows(&page.body).len(), 50);

        // Every event of the town once, page after page.
        let total = events(&app).await.iter().filter(|e| e.tenant_id == town.id().get()).count();
        let mut seen = history_rows(&page.body).len();
        let mut body = page.body;
        while let Some(start) = unescaped(&body).find("href=\"/admin/journal?apres=") {
            let link = unescaped(&body)[start + 6..].split('"').next().unwrap().to_owned();
            let next = agent.get(&link).await;
            assert_eq!(next.status, 200);
            assert!(next.body.contains("Revenir aux événements les plus récents"));
            seen += history_rows(&next.body).len();
            body = next.body;
        }
        assert_eq!(seen, total);

        // Filters: the resident, the kind, the dates, the actor.
        let mine = agent.get(&format!("/admin/journal?usager={}", paul.identifier)).await;
        let rows = history_rows(&mine.body);
        assert_eq!(rows.len(), 2, "creation and the e-mail change");
        assert!(rows.iter().all(|row| row.contains("Paul SOLEIL")));
        let failed = agent.get("/admin/journal?evenement=login_failed").await;
        assert_eq!(history_rows(&failed.body).len(), 50);
        assert!(failed.body.contains("Événements plus anciens"));
        assert!(unescaped(&failed.body).contains("href=\"/admin/journal?evenement=login_failed&apres="), "the next page keeps the filter");
        let today = Utc::now().with_timezone(&town.timezone).date_naive();
        let week_ago = (today - Duration::days(6)).format("%Y-%m-%d").to_string();
        let dated = agent.get(&format!("/admin/journal?evenement=login_failed&du={week_ago}&au={}", today.format("%d/%m/%Y"))).await;
        assert_eq!(dated.status, 200, "{}", dated.body);
        let count = history_rows(&dated.body).len();
        assert!((6..=7).contains(&count), "{count} failed logins in a week");
        let by_staff = agent.get("/admin/journal?acteur=staff").await;
        assert!(history_rows(&by_staff.body).iter().all(|row| row.contains("(agent)")));
        let by_member = agent.get(&format!("/admin/journal?acteur=staff:{}", member.member.id)).await;
        let rows = history_rows(&by_member.body);
        assert!(!rows.is_empty() && rows.iter().all(|row| row.contains("Connexion d'agent") || row.contains("agent")), "{rows:?}");

        // Refused filters: the input again, a message per field, no events.
        let refused = agent.get("/admin/journal?usager=personne.inconnue&du=31/02/2026&au=2026-01-01").await;
        assert_eq!(refused.status, 422);
        let text = refused.text();
        for message in [
            "Aucun usager de la commune n'a l'identifiant « personne.inconnue ».",
            "<a href=\"#usager\">",
            "<a href=\"#du\">Indiquez une date au format JJ/MM/AAAA",
            "value=\"personne.inconnue\"",
            "value=\"31/02/2026\"",
        ] {
            assert!(text.contains(message), "`{message}` missing from:\n{text}");
        }
        assert!(history_rows(&refused.body).is_empty());
        let backwards = agent.get("/admin/journal?du=2026-02-01&au=2026-01-01").await;
        assert_eq!(backwards.status, 422);
        assert!(backwards.text().contains("La date de fin est avant la date de début."));
        // Another town's resident is unknown here.
        let foreign = agent.get(&format!("/admin/journal?usager={}", abroad.identifier)).await;
        assert_eq!(foreign.status, 422);

        // The export: the same filter, formulas as text, a file to save.
        let csv = agent.get(&format!("/admin/journal/export?usager={}", paul.identifier)).await;
        assert_eq!(csv.status, 200, "{}", csv.body);
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        let disposition = csv.header("content-disposition").unwrap();
        assert!(disposition.starts_with("attachment; filename=\"journal-villeneuve-") && disposition.ends_with(".csv\""), "{disposition}");
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.body.as_bytes()).records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2, "{}", csv.body);
        assert_eq!(&rows[0][3], "'=cmd|' /C calc'!A0 (agent)");
        assert_eq!(&rows[0][8], "'@SUM(1)");
        assert_eq!(&rows[0][9], "'-1+1");
        let everything = agent.get("/admin/journal/export").await;
        let count = csv::Reader::from_reader(everything.body.as_bytes()).records().count();
        assert_eq!(count, events(&app).await.iter().filter(|e| e.tenant_id == town.id().get()).count());
        assert!(!everything.body.contains("Zoé"));
        let refused = agent.get("/admin/journal/export?du=hier").await;
        assert_eq!(refused.status, 422);
        assert!(refused.text().contains("Indiquez une date au format JJ/MM/AAAA"));
    }
}
