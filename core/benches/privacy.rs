//! What residents' rights cost, on SQLite, for the demo resident of
//! Villeneuve (Michel ARPEGE: Léa, Hugo, the invoices of 2020 and 2025)
//! with a year of Léa's bookings (≈ 420 entries of the bookings module's
//! town storage naming him) among 10 other families' (≈ 4,200 entries):
//!
//! - `export/counts`: what "Mes données" counts, every declared table;
//! - `export/archive`: the whole export as the background producer makes
//!   it — every declared table read, the town storage sifted for his
//!   mentions, the HTML summary through the theme, the JSON, the ZIP;
//! - `closure/close`: one account closed — the compare-and-set, every
//!   declared rule (deletions, kept rows erased, his bookings rewritten),
//!   the identifier retired, the journal, the last mail — for a new
//!   resident with 40 entries of his own module storage and two bookings
//!   in the town's (made before each closure, outside the measure).
//!
//! Run with `cargo bench -p guichet --bench privacy`; figures in
//! docs/PERFORMANCE.md. None of this runs under `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The server's allocator (core/src/main.rs): a bench measures what the
/// server runs (docs/PERFORMANCE.md, "How to measure").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use chrono::{Datelike as _, TimeDelta, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use guichet::accounts::entity::account;
use guichet::app::{App, Mode};
use guichet::config::Config;
use guichet::modules::storage::{self, DataScope};
use guichet::privacy::ClosureReason;
use guichet::tenancy::Tenant;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

/// `months` of 2025 of a child's meals and evening club for `identifier`,
/// as the bookings module stores them (the family index).
async fn bookings(app: &App, tenant: &Tenant, identifier: &str, child: &str, months: u32) {
    let scope = DataScope::town(tenant, "bookings");
    let transaction = guichet::db::begin_write(&app.db).await.unwrap();
    let mut day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    while day.year() == 2025 && day.month() <= months {
        if day.weekday().number_from_monday() <= 5 && day.weekday() != chrono::Weekday::Wed {
            for activity in ["cantine", "soir"] {
                let date = day.to_string();
                let family = format!("family:{identifier}:{date}:{activity}:{child}");
                let entry = serde_json::json!({"activity": activity, "date": date, "child": child, "child_name": "Léa", "state": "booked"});
                storage::write(&transaction, &scope, &family, Some(&entry.to_string()))
                    .await
                    .unwrap();
            }
        }
        day = day.succ_opt().unwrap();
    }
    transaction.commit().await.unwrap();
}

fn privacy(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = Config {
        database_url: format!("sqlite://{}/bench.sqlite", folder.path().display()),
        secret_key: Some("YmVuY2gtc2VjcmV0LWtleS1ieXRlcy0zMi1sb25nISE=".to_owned()),
        themes_dir: root.join("themes"),
        module_cache_dir: folder.path().join("modules"),
        log: "error".to_owned(),
        ..Config::default()
    };
    let (app, tenant, michel) = runtime.block_on(async {
        let app = App::open(config, Mode::Serve).await.unwrap();
        let towns = guichet::towns::load_definitions(&root.join("tenants")).unwrap();
        app.apply_towns(&towns).await.unwrap();
        let resident = guichet::demo::ensure_residents(&app, &towns).await.unwrap();
        let tenant = Arc::new(
            app.tenants
                .find_by_slug("villeneuve")
                .await
                .unwrap()
                .unwrap(),
        );
        let michel = app
            .accounts
            .find_by_identifier(&tenant, &resident.identifier)
            .await
            .unwrap()
            .unwrap();
        bookings(&app, &tenant, &michel.identifier, "m1", 12).await;
        // The other families of the town, in the same storage.
        for family in 0..10 {
            bookings(&app, &tenant, &format!("famille.{family}"), "m2", 12).await;
        }
        (app, tenant, michel)
    });
    let bytes = runtime
        .block_on(app.privacy.archive(&tenant, michel.id, Utc::now()))
        .unwrap()
        .unwrap();
    println!("archive: {} bytes", bytes.len());

    let mut group = criterion.benchmark_group("export");
    group.sample_size(20);
    group.bench_function("counts", |bench| {
        bench.iter(|| {
            runtime
                .block_on(app.privacy.counts(&tenant, michel.id))
                .unwrap()
                .unwrap()
        });
    });
    group.bench_function("archive", |bench| {
        bench.iter(|| {
            runtime
                .block_on(app.privacy.archive(&tenant, michel.id, Utc::now()))
                .unwrap()
                .unwrap()
        });
    });
    group.finish();

    let mut group = criterion.benchmark_group("closure");
    group.sample_size(10);
    let mut next = 0_u32;
    group.bench_function("close", |bench| {
        bench.iter_batched(
            || {
                next += 1;
                runtime.block_on(async {
                    let created = app
                        .accounts
                        .create(
                            &tenant,
                            guichet::accounts::NewAccount {
                                email: format!("closing{next}@example.fr"),
                                first_name: "Paul".to_owned(),
                                last_name: format!("Fermant{next}"),
                                civility: None,
                                address: Some("1 rue du Bench".to_owned()),
                                phone: None,
                            },
                            &guichet::audit::Origin::default(),
                        )
                        .await
                        .unwrap()
                        .unwrap();
                    // His storage (deleted by the closure) and two entries
                    // of the town's naming him (rewritten, kept): what
                    // stays does not pile up over the iterations.
                    let mine = DataScope::resident(&tenant, "invoices", created.account_id);
                    let town = DataScope::town(&tenant, "bookings");
                    let transaction = guichet::db::begin_write(&app.db).await.unwrap();
                    for month in 1..=40 {
                        let invoice = serde_json::json!({"number": format!("2025-{month:02}"), "amount_cents": 4250, "member": "Léa"});
                        storage::write(&transaction, &mine, &format!("facture:{month}"), Some(&invoice.to_string())).await.unwrap();
                    }
                    for day in ["2025-09-01", "2025-09-02"] {
                        let entry = serde_json::json!({"resident": created.identifier, "child_name": "Léa", "family": "Monsieur FERMANT"});
                        storage::write(&transaction, &town, &format!("booking:cantine:{day}:{}~m3", created.identifier), Some(&entry.to_string())).await.unwrap();
                    }
                    transaction.commit().await.unwrap();
                    account::Entity::update_many()
                        .col_expr(
                            account::Column::ClosesAt,
                            sea_orm::sea_query::Expr::value(Some(Utc::now() - TimeDelta::minutes(1))),
                        )
                        .filter(account::Column::Id.eq(created.account_id))
                        .exec(&app.db)
                        .await
                        .unwrap();
                    created.account_id
                })
            },
            |id| {
                runtime
                    .block_on(app.privacy.close(&tenant, id, ClosureReason::Requested, Utc::now()))
                    .unwrap()
                    .expect("closed")
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, privacy);
criterion_main!(benches);
