//! The staff's list of residents on 100,000 accounts of one town (beside
//! the demo towns' few), on SQLite and on PostgreSQL: what each kind of
//! query of `/admin/usagers` costs through `Accounts::directory` and
//! `Accounts::state_counts`, the count of matches included.
//!
//! Method: the accounts are written straight into the database (names from
//! 60 first names × 400 last names, with accents, numbered e-mail
//! addresses, a third active, one in fifty disabled, creation dates over a
//! year), with the sort key and search words `accounts::index_account`
//! writes, then `ANALYZE`. Each query runs 5 times to warm up, then 40
//! times; the median and the 95th percentile are printed. Not a criterion
//! measure: a few fixed runs of each of a dozen queries on two databases
//! keep it to minutes on two shared cores.
//!
//! Run with `cargo bench -p guichet --bench residents`; PostgreSQL too
//! when `GUICHET_BENCH_POSTGRES` names a server whose user may create
//! databases (e.g. `postgres://postgres@127.0.0.1:5432`). Figures in
//! docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The server's allocator (core/src/main.rs): a bench measures what the
/// server runs (docs/PERFORMANCE.md, "How to measure").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};
use guichet::accounts::search::{sort_key, words};
use guichet::accounts::{Accounts, DirectoryQuery, PageCursor, ResidentState};
use guichet::app::{App, Mode};
use guichet::config::Config;
use guichet::tenancy::Tenant;
use sea_orm::{ConnectionTrait as _, DbBackend, Statement, Value};

const RESIDENTS: usize = 100_000;
const BATCH: usize = 1_000;
const WARM_UP: usize = 5;
const RUNS: usize = 40;

const FIRST_NAMES: [&str; 60] = [
    "Marie",
    "Jean",
    "Hélène",
    "Pierre",
    "Anne",
    "Michel",
    "Léa",
    "Louis",
    "Chloé",
    "Hugo",
    "Emma",
    "Lucas",
    "Zoé",
    "Jules",
    "Inès",
    "Paul",
    "Camille",
    "Noé",
    "Manon",
    "Théo",
    "Sarah",
    "Nathan",
    "Julie",
    "Enzo",
    "Clara",
    "Arthur",
    "Lina",
    "Raphaël",
    "Eva",
    "Tom",
    "Jade",
    "Gabriel",
    "Alice",
    "Adam",
    "Lou",
    "Victor",
    "Rose",
    "Martin",
    "Anaïs",
    "Sacha",
    "Léna",
    "Maël",
    "Agathe",
    "Éric",
    "Margaux",
    "Noah",
    "Océane",
    "Bastien",
    "Élodie",
    "Cédric",
    "Inès-Marie",
    "Jean-Éric",
    "Françoise",
    "Gérard",
    "Agnès",
    "Benoît",
    "Cécile",
    "Dominique",
    "Joël",
    "Thérèse",
];
const LAST_STEMS: [&str; 40] = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "D'Arc",
];
const LAST_SUFFIXES: [&str; 10] = [
    "",
    "-Lemaire",
    "in",
    "eau",
    " de la Tour",
    "y",
    "on",
    "ez",
    "-Roche",
    "ot",
];

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let folder = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}/bench.sqlite?mode=rwc", folder.path().display());
        if std::env::var_os("GUICHET_BENCH_SKIP_SQLITE").is_none() {
            run("SQLite", sqlite, &folder).await;
        }
        match std::env::var("GUICHET_BENCH_POSTGRES") {
            Ok(server) => {
                let server = server.trim_end_matches('/').to_owned();
                let admin = sea_orm::Database::connect(format!("{server}/postgres"))
                    .await
                    .unwrap();
                for sql in [
                    "DROP DATABASE IF EXISTS guichet_bench_residents",
                    "CREATE DATABASE guichet_bench_residents",
                ] {
                    admin.execute_unprepared(sql).await.unwrap();
                }
                run(
                    "PostgreSQL",
                    format!("{server}/guichet_bench_residents"),
                    &folder,
                )
                .await;
                // Kept on request, to look at query plans.
                if std::env::var_os("GUICHET_BENCH_KEEP").is_some() {
                    return;
                }
                admin
                    .execute_unprepared(
                        "DROP DATABASE IF EXISTS guichet_bench_residents WITH (FORCE)",
                    )
                    .await
                    .unwrap();
            }
            Err(_) => println!("PostgreSQL skipped: set GUICHET_BENCH_POSTGRES"),
        }
    });
}

async fn run(name: &str, database_url: String, folder: &tempfile::TempDir) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = Config {
        database_url,
        secret_key: Some("YmVuY2gtc2VjcmV0LWtleS1ieXRlcy0zMi1sb25nISE=".to_owned()),
        themes_dir: root.join("themes"),
        module_cache_dir: folder.path().join("modules"),
        log: "error".to_owned(),
        ..Config::default()
    };
    let app = App::open(config, Mode::Serve).await.unwrap();
    let towns = guichet::towns::load_definitions(&root.join("tenants")).unwrap();
    app.apply_towns(&towns).await.unwrap();
    let town = app
        .tenants
        .find_by_slug("villeneuve")
        .await
        .unwrap()
        .unwrap();

    let started = Instant::now();
    fill(&app, &town).await;
    println!(
        "{name}: {RESIDENTS} residents written with their keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let accounts = &app.accounts;
    let deep = accounts
        .directory(&town, &DirectoryQuery::default())
        .await
        .unwrap();
    // A cursor half-way down the list: the cost of a deep page.
    let middle = middle_id(&app, &town).await;
    let today = Utc::now().with_timezone(&town.timezone).date_naive();
    let cases: Vec<(&str, DirectoryQuery)> = vec![
        ("first page, no search", DirectoryQuery::default()),
        (
            "page after the 50,000th",
            DirectoryQuery {
                page: PageCursor::After(middle),
                ..Default::default()
            },
        ),
        (
            "page before the 50,000th",
            DirectoryQuery {
                page: PageCursor::Before(middle),
                ..Default::default()
            },
        ),
        ("search « dupont » (1 in 40)", search("dupont")),
        ("search « hél » (prefix, accents)", search("hél")),
        ("search « marie dupont »", search("marie dupont")),
        ("search « m » (a third of the town)", search("m")),
        (
            "search an e-mail address",
            search("marie.martin.0@example.org"),
        ),
        ("search « zzz » (nothing)", search("zzz")),
        (
            "awaiting activation + « ma »",
            DirectoryQuery {
                state: Some(ResidentState::AwaitingActivation),
                search: "ma".to_owned(),
                ..Default::default()
            },
        ),
        (
            "disabled",
            DirectoryQuery {
                state: Some(ResidentState::Disabled),
                ..Default::default()
            },
        ),
        (
            "created in the last 30 days",
            DirectoryQuery {
                created_from: Some(today - Days::days(30)),
                created_to: Some(today),
                ..Default::default()
            },
        ),
    ];
    assert!(deep.next.is_some());
    println!("{name}: query | median | p95 | matches");
    for (label, query) in cases {
        let (median, p95, matching) = measure(accounts, &town, &query).await;
        println!(
            "{name}: {label} | {:.1} ms | {:.1} ms | {matching}",
            ms(median),
            ms(p95)
        );
    }
    let mut times = Vec::new();
    for run in 0..WARM_UP + RUNS {
        let started = Instant::now();
        accounts.state_counts(&town).await.unwrap();
        if run >= WARM_UP {
            times.push(started.elapsed());
        }
    }
    times.sort();
    println!(
        "{name}: counts per state | {:.1} ms | {:.1} ms | -",
        ms(times[RUNS / 2]),
        ms(times[RUNS * 95 / 100])
    );
}

fn search(text: &str) -> DirectoryQuery {
    DirectoryQuery {
        search: text.to_owned(),
        ..Default::default()
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn measure(
    accounts: &Accounts,
    town: &Tenant,
    query: &DirectoryQuery,
) -> (Duration, Duration, u64) {
    let mut times = Vec::with_capacity(RUNS);
    let mut matching = 0;
    for run in 0..WARM_UP + RUNS {
        let started = Instant::now();
        let page = accounts.directory(town, query).await.unwrap();
        if run >= WARM_UP {
            times.push(started.elapsed());
        }
        matching = page.matching;
    }
    times.sort();
    (times[RUNS / 2], times[RUNS * 95 / 100], matching)
}

async fn middle_id(app: &App, town: &Tenant) -> i32 {
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            app.db.get_database_backend(),
            format!(
                "SELECT id FROM account WHERE tenant_id = {} ORDER BY sort_key, id LIMIT 1 OFFSET {}",
                town.scope().tenant_id().get(),
                RESIDENTS / 2
            ),
            [],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "id").unwrap()
}

/// 100,000 accounts and their keys, in batches of multi-row inserts.
async fn fill(app: &App, town: &Tenant) {
    let db = &app.db;
    let backend = db.get_database_backend();
    let tenant_id = town.scope().tenant_id().get();
    let now = Utc::now();
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    let txn = guichet::db::begin_write(db).await.unwrap();
    let mut next_id: i64 = {
        let row = txn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COALESCE(MAX(id), 0) AS last FROM account",
            ))
            .await
            .unwrap()
            .unwrap();
        let last: i32 = row.try_get("", "last").unwrap();
        i64::from(last) + 1
    };
    for start in (0..RESIDENTS).step_by(BATCH) {
        let mut sql = String::from(
            "INSERT INTO account (id, tenant_id, identifier, email, email_key, first_name, last_name, \
             password_hash, password_is_temporary, status, created_at, activated_at, disabled_at, sort_key) VALUES ",
        );
        let mut values: Vec<Value> = Vec::new();
        let mut word_rows: Vec<(i32, String)> = Vec::new();
        for n in start..(start + BATCH).min(RESIDENTS) {
            let first = FIRST_NAMES[n % FIRST_NAMES.len()];
            let last = format!(
                "{}{}",
                LAST_STEMS[(n / FIRST_NAMES.len()) % LAST_STEMS.len()],
                LAST_SUFFIXES[(n / (FIRST_NAMES.len() * LAST_STEMS.len())) % LAST_SUFFIXES.len()]
            );
            let identifier = format!("{}.{}", sort_key(first, "").trim(), n);
            let email = format!(
                "{}.{}.{n}@example.org",
                sort_key(first, "").trim().replace(' ', "-"),
                sort_key("", &last).trim().replace(' ', "-")
            );
            let id = i32::try_from(next_id).unwrap();
            next_id += 1;
            let created = now - Days::minutes(i64::try_from(n).unwrap() * 5);
            let active = n % 3 == 0;
            let disabled = n % 50 == 7;
            let base = values.len();
            let marks: Vec<String> = (1..=14).map(|k| placeholder(base + k)).collect();
            if n > start {
                sql.push(',');
            }
            sql.push_str(&format!("({})", marks.join(", ")));
            values.extend([
                Value::from(id),
                Value::from(tenant_id),
                Value::from(identifier.clone()),
                Value::from(email.clone()),
                Value::from(email.to_lowercase()),
                Value::from(first.to_owned()),
                Value::from(last.clone()),
                Value::from("x".to_owned()),
                Value::from(!active),
                Value::from(if active { "active" } else { "pending" }.to_owned()),
                Value::from(created),
                Value::from(active.then_some(created)),
                Value::from(disabled.then_some(now)),
                Value::from(sort_key(first, &last)),
            ]);
            for word in words(&[first, &last, &identifier, &email]) {
                word_rows.push((id, word));
            }
        }
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .unwrap();
        for chunk in word_rows.chunks(BATCH) {
            let mut sql = String::from(
                "INSERT INTO account_search_word (tenant_id, account_id, word) VALUES ",
            );
            let mut values: Vec<Value> = Vec::new();
            for (k, (id, word)) in chunk.iter().enumerate() {
                if k > 0 {
                    sql.push(',');
                }
                let base = values.len();
                sql.push_str(&format!(
                    "({}, {}, {})",
                    placeholder(base + 1),
                    placeholder(base + 2),
                    placeholder(base + 3)
                ));
                values.extend([
                    Value::from(tenant_id),
                    Value::from(*id),
                    Value::from(word.clone()),
                ]);
            }
            txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .unwrap();
        }
    }
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!(
            "SELECT setval(pg_get_serial_sequence('account', 'id'), {next_id})"
        ))
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    db.execute_unprepared("ANALYZE").await.unwrap();
}
