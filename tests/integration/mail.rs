//! Mail delivery (core/src/mail/worker.rs): one Message-ID per mail on
//! every attempt, refusals recorded and not retried, workers sharing the
//! outbox without sending a mail twice, shutdown handing mails back.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use guichet::mail::entity as outbox;
use guichet::mail::{MailKind, MailStatus, WorkerReport};
use guichet::tenancy::Tenant;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use crate::harness::{OpenApp, TestApp, TestAppOptions};

/// The row of the mail to `recipient`.
async fn row(db: &sea_orm::DatabaseConnection, recipient: &str) -> outbox::Model {
    outbox::Entity::find()
        .filter(outbox::Column::Recipient.eq(recipient))
        .one(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no mail to {recipient} in the outbox"))
}

async fn all_rows(db: &sea_orm::DatabaseConnection) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// Waits (up to `seconds`) until `done` holds for the outbox.
async fn wait_for_outbox(
    db: &sea_orm::DatabaseConnection,
    seconds: u64,
    what: &str,
    done: impl Fn(&[outbox::Model]) -> bool,
) -> Vec<outbox::Model> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let rows = all_rows(db).await;
        if done(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{what}: not within {seconds} s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Queues `count` "password changed" mails to `prefix<n>@example.org`, in
/// one transaction, without waking any worker.
async fn queue_mails(app: &guichet::app::App, town: &Tenant, prefix: &str, count: usize) {
    let txn = guichet::db::begin_write(&app.db).await.unwrap();
    for n in 0..count {
        let data = serde_json::json!({
            "civility": "Monsieur",
            "first_name": "Michel",
            "last_name": format!("ARPEGE{n}"),
            "identifier": format!("michel.arpege{n}"),
            "changed_at": "1 juin 2026 à 10 h 00",
            "forgot_link": "http://villeneuve.localhost/mot-de-passe/oublie",
        });
        let to = format!("{prefix}{n}@example.org");
        app.mailer
            .queue(&txn, town, MailKind::PasswordChanged, &to, data)
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
}

fn stop_signal() -> (
    tokio::sync::watch::Sender<bool>,
    impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = move || {
        let mut stopped = stopped.clone();
        Box::pin(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
    };
    (stop, wait)
}

on_both_databases! {
    async fn a_mail_keeps_its_message_id_on_every_attempt(backend) {
        let app = TestApp::spawn(backend).await;
        // The sink answers 451 to the first DATA of a `busy…` recipient.
        app.create_resident("villeneuve", "Michel", "Arpège", "busy.michel@example.org").await;
        let mail = app.mailbox().wait_for("busy.michel@example.org", "activez").await;

        // The sink holds the mail before the worker has recorded it as sent:
        // wait for the row rather than read it once.
        let rows = wait_for_outbox(&app.app.db, 20, "the mail is recorded as sent", |rows| {
            rows.iter()
                .any(|row| row.recipient == "busy.michel@example.org" && row.status == MailStatus::Sent)
        })
        .await;
        let row = rows
            .into_iter()
            .find(|row| row.recipient == "busy.michel@example.org")
            .expect("the row just seen");
        assert_eq!(row.attempts, 2, "refused once, then taken");
        let message_id = row.message_id.clone().expect("a Message-ID from the queue");
        assert!(message_id.starts_with("<guichet."), "{message_id}");
        assert!(message_id.ends_with("@villeneuve.example.fr>"), "{message_id}");
        assert_eq!(mail.message_id, message_id);
        let attempts: Vec<(u16, String)> = app
            .mailbox()
            .attempts()
            .into_iter()
            .filter(|(_, id)| *id == message_id)
            .collect();
        assert_eq!(
            attempts,
            [(451, message_id.clone()), (250, message_id.clone())],
            "both attempts carried the row's Message-ID"
        );

        // Every mail has its own.
        app.create_resident("villeneuve", "Léa", "Arpège", "lea@example.org").await;
        let other = app.mailbox().wait_for("lea@example.org", "activez").await;
        assert!(other.message_id.starts_with("<guichet."), "{}", other.message_id);
        assert_ne!(other.message_id, message_id);
    }

    async fn a_mail_written_without_message_id_gets_one_before_its_first_attempt(backend) {
        use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};

        // As an SQL import would write it: no Message-ID.
        let open = OpenApp::open(backend).await;
        let town = open.town("villeneuve").await;
        let now = chrono::Utc::now();
        outbox::ActiveModel {
            tenant_id: Set(town.scope().tenant_id().get()),
            kind: Set("activation".to_owned()),
            from_name: Set("Mairie de Villeneuve".to_owned()),
            from_address: Set("ne-pas-repondre@villeneuve.example.fr".to_owned()),
            recipient: Set("busy.import@example.org".to_owned()),
            subject: Set("Importé".to_owned()),
            text_body: Set("Bonjour".to_owned()),
            html_body: Set("<p>Bonjour</p>".to_owned()),
            status: Set(MailStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            message_id: Set(None),
            ..Default::default()
        }
        .insert(&open.app.db)
        .await
        .unwrap();

        let (stop, stopped) = stop_signal();
        let worker = tokio::spawn(open.app.mail_worker().unwrap().run(stopped()));
        let mail = open.mail.wait_for("busy.import@example.org", "Importé").await;
        stop.send(true).unwrap();
        assert_eq!(worker.await.unwrap().sent, 1);

        let row = row(&open.app.db, "busy.import@example.org").await;
        let message_id = row.message_id.expect("given one by the worker");
        assert!(message_id.starts_with("<guichet.") && message_id.ends_with("@villeneuve.example.fr>"), "{message_id}");
        assert_eq!(mail.message_id, message_id);
        assert_eq!(
            open.mail.attempts(),
            [(451, message_id.clone()), (250, message_id.clone())],
            "the refused attempt and the retry carried the same one"
        );
    }

    async fn a_permanent_refusal_is_recorded_with_the_server_answer_and_not_retried(backend) {
        let app = TestApp::spawn(backend).await;
        // The sink answers 550 to the RCPT of a `refuse…` recipient.
        app.create_resident("villeneuve", "Michel", "Arpège", "refuse.michel@example.org").await;
        let rows = wait_for_outbox(&app.app.db, 20, "the refusal is recorded", |rows| {
            rows.iter().any(|row| row.status == MailStatus::Refused)
        })
        .await;
        let refused = &rows[0];
        let error = refused.last_error.clone().unwrap_or_default();
        assert!(error.contains("550"), "{error}");
        assert!(error.contains("Recipient address rejected: User unknown"), "{error}");
        assert_eq!(refused.attempts, 1);
        assert!(refused.locked_until.is_none() && refused.claimed_by.is_none());
        assert!(refused.sent_at.is_none());

        // Retries would have come after 1, then 2 s: none comes.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let later = row(&app.app.db, "refuse.michel@example.org").await;
        assert_eq!(later.status, MailStatus::Refused);
        assert_eq!(later.attempts, 1);
        assert!(app.mailbox().received().is_empty());
    }

    async fn two_workers_share_the_outbox_and_send_each_mail_once(backend) {
        let open = OpenApp::open(backend).await;
        let town = open.town("villeneuve").await;
        queue_mails(&open.app, &town, "foule", 200).await;

        let (stop, stopped) = stop_signal();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let worker = open.app.mail_worker().unwrap().with_concurrency(4);
                tokio::spawn(worker.run(stopped()))
            })
            .collect();
        let rows = wait_for_outbox(&open.app.db, 60, "every mail is sent", |rows| {
            rows.iter().all(|row| row.status == MailStatus::Sent)
        })
        .await;
        stop.send(true).unwrap();
        let mut sent = 0;
        for worker in workers {
            let report: WorkerReport = worker.await.unwrap();
            sent += report.sent;
        }
        assert_eq!(sent, 200, "each mail recorded sent by one worker");

        let received = open.mail.received();
        let ids: HashSet<&str> = received.iter().map(|mail| mail.message_id.as_str()).collect();
        assert_eq!(received.len(), 200, "no mail received twice");
        assert_eq!(ids.len(), 200);
        let expected: HashSet<&str> = rows.iter().map(|row| row.message_id.as_deref().unwrap()).collect();
        assert_eq!(ids, expected);
        assert!(rows.iter().all(|row| row.attempts == 1 && row.claimed_by.is_none()));
    }

    async fn shutdown_hands_back_the_mails_not_sent_for_another_worker(backend) {
        let mut app = TestApp::spawn_with(backend, TestAppOptions {
            configure: |config| config.mail_concurrency = 2,
            ..Default::default()
        })
        .await;
        let town = app.town("villeneuve").await;
        // The sink takes half a second per `slow…` mail: the worker holds
        // some it has not started when the shutdown comes.
        queue_mails(&app.app, &town, "slow", 20).await;
        app.app.mailer.wake();
        app.mailbox().wait_for_count("slow", "mot de passe", 2).await;

        let stopping = Instant::now();
        app.stop().await;
        assert!(stopping.elapsed() < Duration::from_secs(10), "{:?}", stopping.elapsed());
        let rows = all_rows(&app.app.db).await;
        let sent = rows.iter().filter(|row| row.status == MailStatus::Sent).count();
        assert!((2..20).contains(&sent), "{sent} sent before the shutdown");
        assert_eq!(app.mailbox().received().len(), sent, "the mails in flight were recorded");
        for row in &rows {
            assert!(row.claimed_by.is_none() && row.locked_until.is_none(), "{row:?}");
            if row.status == MailStatus::Pending {
                assert_eq!(row.attempts, 0, "a mail never started has no attempt: {row:?}");
            }
        }

        // Another worker (polling once a minute) sends the rest now, not
        // when some claim would have expired.
        let (stop, stopped) = stop_signal();
        let worker = app.app.mail_worker().unwrap().with_poll(Duration::from_secs(60));
        let worker = tokio::spawn(worker.with_concurrency(8).run(stopped()));
        let rows = wait_for_outbox(&app.app.db, 15, "the rest is sent", |rows| {
            rows.iter().all(|row| row.status == MailStatus::Sent)
        })
        .await;
        stop.send(true).unwrap();
        assert_eq!(worker.await.unwrap().sent, 20 - sent);
        let received = app.mailbox().received();
        let ids: HashSet<&str> = received.iter().map(|mail| mail.message_id.as_str()).collect();
        assert_eq!(received.len(), 20, "each mail received once");
        assert_eq!(ids, rows.iter().map(|row| row.message_id.as_deref().unwrap()).collect());
    }
}

/// PostgreSQL: mail queued by another instance (here: queued without waking
/// this process's worker) wakes the worker through `LISTEN`, long before
/// its next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_elsewhere_wakes_the_worker_on_postgres() {
    let open = OpenApp::open(crate::harness::Backend::Postgres).await;
    let town = open.town("villeneuve").await;
    let (stop, stopped) = stop_signal();
    let worker = open
        .app
        .mail_worker()
        .unwrap()
        .with_poll(Duration::from_secs(120));
    let worker = tokio::spawn(worker.run(stopped()));
    // Past the first claim and the LISTEN.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let queued = Instant::now();
    queue_mails(&open.app, &town, "ailleurs", 3).await;
    open.mail
        .wait_for_count("ailleurs", "mot de passe", 3)
        .await;
    assert!(
        queued.elapsed() < Duration::from_secs(10),
        "{:?}",
        queued.elapsed()
    );
    stop.send(true).unwrap();
    assert_eq!(worker.await.unwrap().sent, 3);
}

on_both_databases! {
    async fn mails_queued_before_the_upgrade_get_their_own_message_id(backend) {
        use guichet_migrations::{Migrator, MigratorTrait as _};
        use sea_orm::ConnectionTrait as _;

        let database = crate::harness::TestDatabase::create(backend).await;
        let db = guichet::db::connect(&database.url).await.unwrap();
        // The schema of the release before Message-IDs, with mail in it.
        Migrator::up(&db, Some(9)).await.unwrap();
        let at = "'2026-06-01 10:00:00+00:00'";
        db.execute_unprepared(&format!(
            "INSERT INTO tenant (slug, display_name, theme, timezone, definition, definition_hash, created_at, updated_at) \
             VALUES ('ancienne', 'Ancienne', 'default', 'Europe/Paris', '{{}}', 'x', {at}, {at})"
        ))
        .await
        .unwrap();
        for (recipient, status) in [("a@example.org", "pending"), ("b@example.org", "sent"), ("c@example.org", "failed")] {
            db.execute_unprepared(&format!(
                "INSERT INTO mail_outbox (tenant_id, kind, from_name, from_address, recipient, subject, \
                 text_body, html_body, status, attempts, next_attempt_at, created_at) \
                 VALUES ((SELECT id FROM tenant WHERE slug = 'ancienne'), 'activation', 'Mairie', \
                 'ne-pas-repondre@Ancienne.example.fr', '{recipient}', 'Sujet', 'texte', '<p>html</p>', \
                 '{status}', 0, {at}, {at})"
            ))
            .await
            .unwrap();
        }

        Migrator::up(&db, None).await.unwrap();
        let rows = all_rows(&db).await;
        assert_eq!(rows.len(), 3);
        let ids: HashSet<&str> = rows.iter().map(|row| row.message_id.as_deref().unwrap()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        for row in &rows {
            let id = row.message_id.as_deref().unwrap();
            let random = id
                .strip_prefix("<guichet.")
                .and_then(|rest| rest.strip_suffix("@ancienne.example.fr>"))
                .unwrap_or_else(|| panic!("{id}"));
            assert!(random.len() == 32 && random.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
            assert!(row.claimed_by.is_none());
        }
        let statuses: Vec<MailStatus> = rows.iter().map(|row| row.status).collect();
        assert_eq!(statuses, [MailStatus::Pending, MailStatus::Sent, MailStatus::Failed]);
        db.close().await.unwrap();
    }
}
