//! Requests ("demandes"): references stay unique per town when residents
//! submit at the same time, and go on from the requests that exist.

use std::collections::HashSet;

use chrono::Datelike as _;
use guichet::requests::entity::request;
use guichet::requests::{NewRequest, RequestStatus, Requests};
use guichet_migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ActiveValue::Set, EntityTrait as _};

use crate::harness::TestApp;

fn attestation(title: &str) -> NewRequest {
    NewRequest {
        kind: "attestation-residence".to_owned(),
        module_id: None,
        title: title.to_owned(),
        details: vec![("Message".to_owned(), "Pour l'école.".to_owned())],
    }
}

fn this_year(number: u32) -> String {
    format!("D-{}-{number:06}", chrono::Utc::now().year())
}

/// A request row as an older version of Guichet wrote it (without
/// RETURNING: the columns of later migrations do not exist yet).
async fn stored_request(app: &TestApp, tenant_id: i32, account_id: i32, reference: &str) {
    let now = chrono::Utc::now();
    let row = request::ActiveModel {
        tenant_id: Set(tenant_id),
        account_id: Set(account_id),
        reference: Set(reference.to_owned()),
        kind: Set("attestation-residence".to_owned()),
        module_id: Set(None),
        title: Set("Demander une attestation de résidence".to_owned()),
        details: Set("[]".to_owned()),
        status: Set(RequestStatus::Accepted),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    request::Entity::insert(row)
        .exec_without_returning(&app.app.db)
        .await
        .unwrap();
}

on_both_databases! {
    async fn concurrent_submissions_get_distinct_references(backend) {
        let app = TestApp::spawn(backend).await;
        let town = std::sync::Arc::new(app.town("villeneuve").await);
        let account = app.create_resident("villeneuve", "Michel", "Arpège", "m@example.org").await;
        let requests = Requests::new(app.app.db.clone());
        let tasks: Vec<_> = (0..50)
            .map(|number| {
                let (requests, town) = (requests.clone(), town.clone());
                tokio::spawn(async move {
                    requests
                        .submit(&town, account.account_id, attestation(&format!("Demande {number}")))
                        .await
                })
            })
            .collect();
        let mut references = HashSet::new();
        for task in tasks {
            references.insert(task.await.unwrap().expect("every submission succeeds"));
        }
        assert_eq!(references.len(), 50, "{references:?}");
        let expected: HashSet<String> = (1..=50).map(this_year).collect();
        assert_eq!(references, expected, "numbered 1 to 50, without a gap");

        // Another town numbers on its own.
        let other = app.town("saint-martin").await;
        let resident = app.create_resident("saint-martin", "Anne", "Durand", "a@example.org").await;
        let first = requests.submit(&other, resident.account_id, attestation("Une")).await.unwrap();
        assert_eq!(first, this_year(1));
    }

    async fn the_counter_goes_on_after_the_existing_requests(backend) {
        let app = TestApp::spawn(backend).await;
        let db = &app.app.db;
        // The resident first, with today's schema (later migrations change
        // what creating an account writes).
        let villeneuve = app.town("villeneuve").await;
        let account = app.create_resident("villeneuve", "Michel", "Arpège", "m@example.org").await;
        // Back to the schema before the counter, with the requests a town
        // had then: numbers with a gap (a request deleted with its account),
        // so that their count (2) is below their highest number (41).
        let migrations = Migrator::migrations();
        let counter = migrations
            .iter()
            .position(|migration| migration.name() == "m20261126_000008_request_counter")
            .expect("the counter's migration");
        Migrator::down(db, Some((migrations.len() - counter) as u32)).await.unwrap();
        stored_request(&app, villeneuve.id().get(), account.account_id, "D-2025-000007").await;
        stored_request(&app, villeneuve.id().get(), account.account_id, "D-2026-000041").await;
        Migrator::up(db, None).await.unwrap();

        let requests = Requests::new(db.clone());
        let next = requests.submit(&villeneuve, account.account_id, attestation("Suivante")).await.unwrap();
        assert_eq!(next, this_year(42));
        let after = requests.submit(&villeneuve, account.account_id, attestation("Encore")).await.unwrap();
        assert_eq!(after, this_year(43));
        // The old ones keep their references and statuses.
        let (old, _) = guichet::requests::find(db, villeneuve.scope(), account.account_id, "D-2026-000041")
            .await
            .unwrap()
            .expect("still there");
        assert_eq!(old.status, RequestStatus::Accepted);

        // A town without requests starts at 1.
        let saint_martin = app.town("saint-martin").await;
        let resident = app.create_resident("saint-martin", "Anne", "Durand", "a@example.org").await;
        let first = requests.submit(&saint_martin, resident.account_id, attestation("Une")).await.unwrap();
        assert_eq!(first, this_year(1));
    }
}
