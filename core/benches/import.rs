//! CSV import of residents' accounts: 10,000 lines simulated, then
//! executed, then the same file simulated again (every line known), on
//! SQLite and on PostgreSQL. Target (issue 16): ≤ 10 s for each of the
//! simulation and the execution, on the 2-core reference machine.
//!
//! Not a criterion measure: one import is seconds long and changes the
//! database. Each round imports a new file of 10,000 residents into the
//! same town (so round 3 runs against 20,000 existing accounts); the
//! figures are each round's, then the slowest.
//!
//! Run with `cargo bench -p guichet --bench import` (PostgreSQL at
//! `TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! `-- sqlite` or `-- postgres` for one backend). Figures in
//! docs/PERFORMANCE.md. None of this runs under `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The server's allocator (core/src/main.rs): a bench measures what the
/// server runs (docs/PERFORMANCE.md, "How to measure").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use guichet::accounts::import::ImportUpload;
use guichet::app::{App, Mode};
use guichet::audit::{Actor, Origin};
use guichet::config::Config;
use sea_orm::{ConnectionTrait as _, Database};

const LINES: usize = 10_000;
const ROUNDS: usize = 3;

/// A file of `LINES` residents for round `round`: names drawn from short
/// lists, so that homonyms are frequent (identifiers get numbered, as in a
/// real town), with addresses and phones.
fn file(round: usize) -> Vec<u8> {
    const FIRST: [&str; 12] = [
        "Léa", "Jean", "Marie", "Michel", "Chloé", "Hugo", "Inès", "Louis", "Zoé", "Nathan",
        "Élodie", "Théo",
    ];
    const LAST: [&str; 10] = [
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre",
        "Arpège",
    ];
    let mut out = String::from("civilite;prenom;nom;courriel;adresse;telephone\n");
    for n in 0..LINES {
        let civility = if n % 2 == 0 { "Mme" } else { "M" };
        out.push_str(&format!(
            "{civility};{};{};usager.{round}.{n}@example.org;{} rue de la Mairie;06 12 34 {:02} {:02}\n",
            FIRST[n % FIRST.len()],
            LAST[(n / FIRST.len()) % LAST.len()],
            n % 200,
            n % 100,
            (n / 100) % 100,
        ));
    }
    out.into_bytes()
}

async fn open(database_url: String, folder: &std::path::Path) -> App {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = Config {
        database_url,
        secret_key: Some("YmVuY2gtc2VjcmV0LWtleS1ieXRlcy0zMi1sb25nISE=".to_owned()),
        themes_dir: root.join("themes"),
        module_cache_dir: folder.join("modules"),
        log: "error".to_owned(),
        ..Config::default()
    };
    let app = App::open(config, Mode::Serve).await.unwrap();
    let towns = guichet::towns::load_definitions(&root.join("tenants")).unwrap();
    app.apply_towns(&towns).await.unwrap();
    app
}

async fn measure(backend: &str, app: &App) {
    let town = app
        .tenants
        .find_by_slug("villeneuve")
        .await
        .unwrap()
        .unwrap();
    let actor = Actor::Staff {
        id: 1,
        label: "Banc d'essai (gestionnaire)".to_owned(),
    };
    let origin = Origin::default();
    let mut slowest = [Duration::ZERO; 3];
    for round in 1..=ROUNDS {
        let bytes = file(round);
        let upload = |bytes: &Vec<u8>| ImportUpload {
            file_name: "usagers.csv".to_owned(),
            bytes: bytes.clone(),
            update_known: false,
        };
        let started = Instant::now();
        let simulation = app
            .accounts
            .simulate_import(&town, &actor, &origin, upload(&bytes))
            .await
            .unwrap()
            .unwrap();
        let simulated = started.elapsed();
        assert_eq!(simulation.report.counts().to_create, LINES);

        let started = Instant::now();
        let report = app
            .accounts
            .execute_import(
                &town,
                simulation.import_id,
                &simulation.file_sha256,
                &actor,
                &origin,
            )
            .await
            .unwrap()
            .unwrap();
        let executed = started.elapsed();
        assert_eq!(report.counts().to_create, LINES);

        let started = Instant::now();
        let again = app
            .accounts
            .simulate_import(&town, &actor, &origin, upload(&bytes))
            .await
            .unwrap()
            .unwrap();
        let resimulated = started.elapsed();
        assert_eq!(again.report.counts().unchanged, LINES);

        println!(
            "import/{backend} round {round} ({} accounts before): simulation {:.2} s, execution {:.2} s, same file again {:.2} s",
            (round - 1) * LINES,
            simulated.as_secs_f64(),
            executed.as_secs_f64(),
            resimulated.as_secs_f64()
        );
        for (slot, took) in slowest.iter_mut().zip([simulated, executed, resimulated]) {
            *slot = (*slot).max(took);
        }
    }
    println!(
        "import/{backend} slowest of {ROUNDS}: simulation {:.2} s, execution {:.2} s, same file again {:.2} s",
        slowest[0].as_secs_f64(),
        slowest[1].as_secs_f64(),
        slowest[2].as_secs_f64()
    );
}

fn main() {
    // `GUICHET_BENCH_LOG=guichet=info` shows where each run's time goes.
    if let Ok(filter) = std::env::var("GUICHET_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .init();
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let folder = tempfile::tempdir().unwrap();
    if wanted("sqlite") {
        runtime.block_on(async {
            let url = format!("sqlite://{}/bench.sqlite", folder.path().display());
            let app = open(url, folder.path()).await;
            measure("sqlite", &app).await;
        });
    }
    if wanted("postgres") {
        runtime.block_on(async {
            let admin_url = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let name = format!("guichet_bench_import_{}", std::process::id());
            let admin = Database::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&name);
            let app = open(url.to_string(), folder.path()).await;
            measure("postgres", &app).await;
            app.db.clone().close().await.ok();
            drop(app);
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
        });
    }
}
