//! Module host benchmarks: what a tile costs, and what the sandbox adds.
//!
//! - `tile/wasm`: a fresh instance of the invoices module rendering "Mes
//!   factures" for a resident with three invoices, the host storage read
//!   included (SQLite) — what a tile of the home page costs.
//! - `tile/native`: the same tile written as native Rust in this file (the
//!   same storage read, JSON decoding, sorting, total and view) — the
//!   baseline the sandbox is compared with (target: wasm ≤ native + 20 µs).
//! - `tile/native+timer`: the native tile raced against a far tokio timer,
//!   as a call is against its wall-clock limit: what the timer costs.
//! - `tile/instantiate`: a fresh store and instance, no call.
//! - `tile/instantiate+describe`: instantiation with the smallest call.
//!
//! - `neighbours`: Saint-Martin's home page, one request at a time, while
//!   Villeneuve's modules are saturated (40 clients holding slow calls, 6
//!   loading a page of hostile tiles), with the call slots shared by all
//!   towns (what `module_concurrency_town_percent = 100` gives) and shared
//!   per town (the defaults); prints p50, p99 and the pages that showed an
//!   "indisponible" tile. Not a criterion measure: fixed request counts, so
//!   the percentiles are of single pages.
//!
//! Run with `cargo bench -p guichet --bench modules` (`-- neighbours` for
//! the last one alone); figures in docs/PERFORMANCE.md. None of this runs
//! under `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The server's allocator (core/src/main.rs): host code allocates at every
/// step of a call (the rows read, the context lowered, the view lifted), and
/// glibc's malloc, which a bench gets by default, made each tile some 34k
/// instructions dearer than in the server (docs/PERFORMANCE.md, ninth
/// round).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use criterion::{Criterion, criterion_group};
use guichet::accounts::NewAccount;
use guichet::app::{App, Mode};
use guichet::audit::Origin;
use guichet::config::{Config, ConfigFile};
use guichet::modules::ViewRequest;

struct Setup {
    runtime: tokio::runtime::Runtime,
    app: App,
    _folder: tempfile::TempDir,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // What the bench owns, whatever the environment says: its own database
    // in its temporary folder (a `GUICHET_DATABASE_URL` left in a shell
    // must not receive the demo towns), its key, themes, cache and log.
    let own = |config: Config| Config {
        database_url: format!("sqlite://{}/bench.sqlite", folder.path().display()),
        secret_key: Some("YmVuY2gtc2VjcmV0LWtleS1ieXRlcy0zMi1sb25nISE=".to_owned()),
        themes_dir: root.join("themes"),
        module_cache_dir: folder.path().join("modules"),
        log: "error".to_owned(),
        ..config
    };
    // The other `GUICHET_*` variables apply, as they do for the server:
    // under valgrind, whose calls run some fifty times slower,
    // `GUICHET_MODULE_CPU_MS` and `GUICHET_MODULE_TIMEOUT_MS` must grow
    // (docs/PERFORMANCE.md, eighth round).
    let config = own(Config::load_over(own(Config::default()), &ConfigFile::Default).unwrap());
    let app = runtime.block_on(async {
        let app = App::open(config, Mode::Serve).await.unwrap();
        let towns = guichet::towns::load_definitions(&root.join("tenants")).unwrap();
        app.apply_towns(&towns).await.unwrap();
        app
    });
    Setup {
        runtime,
        app,
        _folder: folder,
    }
}

fn tiles(criterion: &mut Criterion) {
    let Setup {
        runtime,
        app,
        _folder,
    } = setup();
    let (tenant, module, account) = runtime.block_on(async {
        let tenant = Arc::new(
            app.tenants
                .find_by_slug("saint-martin")
                .await
                .unwrap()
                .unwrap(),
        );
        let module = app
            .modules
            .enabled_module(&tenant, "invoices")
            .await
            .unwrap()
            .unwrap();
        let new = NewAccount {
            email: "bench@example.org".to_owned(),
            first_name: "Michel".to_owned(),
            last_name: "Arpège".to_owned(),
            civility: None,
            address: None,
            phone: None,
        };
        let origin = Origin {
            ip: None,
            user_agent: None,
        };
        let created = app
            .accounts
            .create(&tenant, new, &origin)
            .await
            .unwrap()
            .unwrap();
        let account = app
            .accounts
            .find_by_identifier(&tenant, &created.identifier)
            .await
            .unwrap()
            .unwrap();
        let invoices = guichet::modules::storage::DataScope::resident(&tenant, "invoices", account.id);
        for month in 4..=6 {
            let invoice = serde_json::json!({
                "number": format!("2020-0{month}-0042"), "period": format!("2020-0{month}"),
                "amount_cents": 4250, "due_date": format!("2020-0{month}-15"), "status": "payee",
                "lines": [{"label": "Cantine", "quantity": 17, "unit_cents": 250, "amount_cents": 4250}]
            });
            guichet::modules::storage::write(&app.db, &invoices, &format!("facture:{month}"), Some(&invoice.to_string()))
                .await
                .unwrap();
        }
        // Compiled once, outside the measure.
        app.modules.host().prepared(&module.release).await.unwrap();
        (tenant, module, account)
    });
    let request = ViewRequest {
        view: "factures".to_owned(),
        params: Vec::new(),
    };

    let storage_scope =
        guichet::modules::storage::DataScope::resident(&tenant, "invoices", account.id);
    // Same answer both ways, or the comparison means nothing.
    let (wasm_view, native_view) = runtime.block_on(async {
        let wasm = app
            .modules
            .render(&tenant, &module, Some(&account), &request)
            .await
            .unwrap();
        let native = native::invoices_tile(&app.db, &storage_scope, &module.config)
            .await
            .unwrap();
        (wasm, native)
    });
    assert_eq!(
        serde_json::to_value(&wasm_view).unwrap(),
        serde_json::to_value(&native_view).unwrap(),
        "the native tile renders what the module renders"
    );

    let mut group = criterion.benchmark_group("tile");
    group.bench_function("native", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                native::invoices_tile(&app.db, &storage_scope, &module.config)
                    .await
                    .unwrap()
            })
        });
    });
    // The native tile raced against a far timer, as a call's wall-clock
    // limit was until modules/deadline.rs: what registering a timer per
    // call costs when the runtime's timer driver sleeps (it is woken to
    // look at the new deadline). Criterion's means are too noisy to show
    // it on some machines; docs/PERFORMANCE.md (seventh round) counts it
    // with `perf stat`.
    group.bench_function("native+timer", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                let far = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
                let read = native::invoices_tile(&app.db, &storage_scope, &module.config);
                tokio::pin!(read);
                tokio::select! {
                    biased;
                    () = tokio::time::sleep_until(far) => unreachable!("the read takes 2 s"),
                    view = &mut read => view.unwrap(),
                }
            })
        });
    });
    group.bench_function("instantiate", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                let pre = app.modules.host().prepared(&module.release).await.unwrap();
                app.modules.host().instantiate(&pre).await.unwrap()
            })
        });
    });
    group.bench_function("wasm", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                app.modules
                    .render(&tenant, &module, Some(&account), &request)
                    .await
                    .unwrap()
            })
        });
    });
    // What a page pays when nothing the tile read has changed
    // (modules/view_cache.rs): the view from memory, then the same with the
    // version counters read first, as each request does (one query).
    let versions = guichet::versions::Versions::new(app.db.clone());
    let stamp = runtime.block_on(async {
        let stamp = versions.read(&tenant, Some(account.id)).await.unwrap();
        app.modules
            .render_at(&tenant, &module, &account, &request, &stamp)
            .await
            .unwrap();
        stamp
    });
    group.bench_function("reused", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                app.modules
                    .render_at(&tenant, &module, &account, &request, &stamp)
                    .await
                    .unwrap()
            })
        });
    });
    group.bench_function("counters+reused", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                let stamp = versions.read(&tenant, Some(account.id)).await.unwrap();
                app.modules
                    .render_at(&tenant, &module, &account, &request, &stamp)
                    .await
                    .unwrap()
            })
        });
    });
    group.bench_function("instantiate+describe", |bench| {
        bench.iter(|| {
            runtime.block_on(async {
                let pre = app.modules.host().prepared(&module.release).await.unwrap();
                app.modules.host().describe(&pre).await.unwrap()
            })
        });
    });
    group.finish();
}

/// "Mes factures" as native Rust: what modules/invoices does, on the host's
/// types, reading the same storage.
mod native {
    use guichet::modules::storage::{self, DataScope};
    use guichet::modules::wit::v0_2::types::{KeyValue, Link, Table};
    use guichet::modules::{Block, Notice, Tone, Value, View};
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Config {
        payment_info: String,
        #[serde(default = "default_shown")]
        shown: usize,
    }

    fn default_shown() -> usize {
        5
    }

    #[derive(Deserialize)]
    struct Invoice {
        number: String,
        period: String,
        amount_cents: i64,
        due_date: String,
        status: String,
    }

    fn status(invoice: &Invoice) -> Value {
        let (tone, text) = match invoice.status.as_str() {
            "payee" => (Tone::Success, "Payée"),
            "en-retard" => (Tone::Error, "En retard"),
            _ => (Tone::Warning, "À payer"),
        };
        Value::Status(Notice {
            tone,
            text: text.to_owned(),
        })
    }

    pub async fn invoices_tile(
        db: &sea_orm::DatabaseConnection,
        scope: &DataScope,
        config: &str,
    ) -> Result<View, Box<dyn std::error::Error>> {
        let config: Config = serde_json::from_str(config)?;
        let mut invoices: Vec<Invoice> = storage::list(db, scope, "facture:")
            .await?
            .iter()
            .map(|(_, value)| serde_json::from_str(value))
            .collect::<Result<_, _>>()?;
        let mut blocks = Vec::new();
        if invoices.is_empty() {
            blocks.push(Block::Paragraph(
                "Vous n'avez pas de facture pour le moment.".to_owned(),
            ));
            return Ok(View {
                title: "Mes factures".to_owned(),
                blocks,
            });
        }
        invoices.sort_by(|a, b| {
            b.due_date
                .cmp(&a.due_date)
                .then_with(|| b.number.cmp(&a.number))
        });
        let due: i64 = invoices
            .iter()
            .filter(|invoice| invoice.status != "payee")
            .map(|invoice| invoice.amount_cents)
            .sum();
        let rows = invoices
            .iter()
            .take(config.shown)
            .map(|invoice| {
                vec![
                    Value::Link(Link {
                        label: format!("Facture {}", invoice.number),
                        view: "facture".to_owned(),
                        params: vec![("numero".to_owned(), invoice.number.clone())],
                    }),
                    Value::Text(invoice.period.clone()),
                    Value::Date(invoice.due_date.clone()),
                    Value::Amount(invoice.amount_cents),
                    status(invoice),
                ]
            })
            .collect();
        blocks.push(Block::KeyValues(vec![KeyValue {
            key: "Total à régler".to_owned(),
            value: Value::Amount(due),
        }]));
        blocks.push(Block::Table(Table {
            caption: "Mes dernières factures".to_owned(),
            headers: ["Facture", "Période", "Échéance", "Montant", "État"]
                .iter()
                .map(|header| (*header).to_owned())
                .collect(),
            rows,
        }));
        if due > 0 {
            blocks.push(Block::Notice(Notice {
                tone: Tone::Info,
                text: config.payment_info,
            }));
        }
        Ok(View {
            title: "Mes factures".to_owned(),
            blocks,
        })
    }
}

/// argon2id at Guichet's parameters (m=19456 KiB, t=2, p=1): one login's
/// verification. The login bound is cores ÷ this time.
fn password_hashing(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let hasher = guichet::accounts::PasswordHasher::new(1, b"bench key").unwrap();
    let stored = runtime
        .block_on(hasher.hash("charge-mot-de-passe-2026"))
        .unwrap();
    let mut group = criterion.benchmark_group("login");
    group.sample_size(30);
    group.bench_function("argon2id-verify", |bench| {
        bench.iter(|| {
            runtime
                .block_on(hasher.verify("charge-mot-de-passe-2026", Some(&stored)))
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, tiles, password_hashing);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let benching = args.iter().any(|arg| arg == "--bench");
    let filter = args
        .iter()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .cloned();
    if benching
        && filter
            .as_deref()
            .is_none_or(|filter| "neighbours".contains(filter))
    {
        neighbours::run();
    }
    if filter.as_deref() != Some("neighbours") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
}

/// A neighbour town's home page while another town's modules are
/// saturated.
mod neighbours {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use guichet::app::{App, Mode};
    use guichet::audit::Origin;
    use guichet::config::{Config, PublicScheme};
    use guichet::modules::ModuleEnablement;
    use guichet::towns::load_definitions;

    /// Saint-Martin's home pages measured in each case.
    const PAGES: usize = 150;
    /// At most this long per case (a page may wait for a slot a second).
    const CASE_TIME: Duration = Duration::from_secs(120);
    /// What the attack pass ran against Villeneuve.
    const SLOW_CLIENTS: usize = 40;
    const HOSTILE_PAGE_CLIENTS: usize = 6;

    struct Server {
        port: u16,
        villeneuve: String,
        saint_martin: String,
        _app: App,
        shutdown: rocket::Shutdown,
        _folder: tempfile::TempDir,
    }

    /// A server whose Villeneuve enables the hostile test module, with
    /// Michel ARPEGE logged in in both towns (session cookies).
    async fn start(town_percent: u32, module_percent: u32) -> Server {
        let folder = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let config = Config {
            database_url: format!("sqlite://{}/bench.sqlite", folder.path().display()),
            secret_key: Some("YmVuY2gtc2VjcmV0LWtleS1ieXRlcy0zMi1sb25nISE=".to_owned()),
            themes_dir: root.join("themes"),
            module_cache_dir: folder.path().join("modules"),
            public_scheme: PublicScheme::Http,
            port: 0,
            log: "error".to_owned(),
            module_concurrency_town_percent: town_percent,
            module_concurrency_module_percent: module_percent,
            ..Config::default()
        };
        let app = App::open(config, Mode::Serve).await.unwrap();
        let hostile =
            std::path::PathBuf::from(env!("MODULES_BUILD_DIR")).join("guichet_module_hostile.wasm");
        app.modules
            .publish(&std::fs::read(hostile).unwrap())
            .await
            .unwrap();
        let mut towns = load_definitions(&root.join("tenants")).unwrap();
        for town in &mut towns {
            if town.definition.slug == "villeneuve" {
                town.definition
                    .edit_section(|modules: &mut Vec<ModuleEnablement>| {
                        modules.push(ModuleEnablement {
                            id: "hostile".to_owned(),
                            version: "*".to_owned(),
                            config: serde_json::json!({}),
                            storage: None,
                        });
                    })
                    .unwrap();
            }
        }
        app.apply_towns(&towns).await.unwrap();
        let resident = guichet::demo::ensure_residents(&app, &towns).await.unwrap();
        let mut sessions = Vec::new();
        for slug in ["villeneuve", "saint-martin"] {
            let tenant = app.tenants.find_by_slug(slug).await.unwrap().unwrap();
            let origin = Origin::default();
            let outcome = app
                .accounts
                .login(
                    &tenant,
                    &resident.identifier,
                    &resident.password,
                    None,
                    &origin,
                )
                .await
                .unwrap();
            let guichet::accounts::LoginOutcome::Success {
                session_token,
                account,
                ..
            } = outcome
            else {
                panic!("Michel cannot log in to {slug}");
            };
            if let Some(terms) = app.terms.current(&tenant).await.unwrap() {
                app.terms
                    .accept(&tenant, account.id, terms.id, &origin)
                    .await
                    .unwrap()
                    .unwrap();
            }
            sessions.push(format!("guichet_session={session_token}"));
        }
        let (ready, started) = tokio::sync::oneshot::channel();
        let server = app.clone();
        tokio::spawn(async move {
            let _ = server
                .serve(move |port, shutdown| {
                    let _ = ready.send((port, shutdown));
                })
                .await;
        });
        let (port, shutdown) = started.await.unwrap();
        let saint_martin = sessions.pop().unwrap();
        let villeneuve = sessions.pop().unwrap();
        Server {
            port,
            villeneuve,
            saint_martin,
            _app: app,
            shutdown,
            _folder: folder,
        }
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    async fn get(
        client: &reqwest::Client,
        port: u16,
        host: &str,
        cookie: &str,
        path: &str,
    ) -> (u16, String) {
        let response = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .header("Host", host)
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Villeneuve's load: clients holding slow calls and clients loading
    /// its page of hostile tiles, each in a loop until `stop`.
    fn saturate(server: &Server, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
        let paths = std::iter::repeat_n("/services/hostile/sommeil", SLOW_CLIENTS)
            .chain(std::iter::repeat_n("/", HOSTILE_PAGE_CLIENTS));
        paths
            .map(|path| {
                let (stop, port, cookie) = (stop.clone(), server.port, server.villeneuve.clone());
                tokio::spawn(async move {
                    let client = client();
                    while !stop.load(Ordering::Relaxed) {
                        get(&client, port, "villeneuve.localhost", &cookie, path).await;
                    }
                })
            })
            .collect()
    }

    /// Saint-Martin's home page, one request at a time.
    async fn measure(server: &Server, case: &str) {
        let client = client();
        let mut times = Vec::with_capacity(PAGES);
        let mut unavailable = 0;
        let started = Instant::now();
        while times.len() < PAGES && started.elapsed() < CASE_TIME {
            let sent = Instant::now();
            let (status, body) = get(
                &client,
                server.port,
                "saint-martin.localhost",
                &server.saint_martin,
                "/",
            )
            .await;
            times.push(sent.elapsed());
            assert_eq!(status, 200, "{body}");
            if body.contains("indisponible") {
                unavailable += 1;
            }
        }
        times.sort();
        let percentile = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
        println!(
            "neighbours/{case}: {} pages, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {unavailable} with an \"indisponible\" tile",
            times.len(),
            percentile(50).as_secs_f64() * 1000.0,
            percentile(99).as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0,
        );
    }

    pub fn run() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            // (case, town percent, module percent): 100 % is one bound for
            // every town, as before the shares.
            for (case, town, module) in [("shared", 100, 100), ("per-town", 50, 25)] {
                let server = start(town, module).await;
                let client = client();
                for _ in 0..20 {
                    get(
                        &client,
                        server.port,
                        "saint-martin.localhost",
                        &server.saint_martin,
                        "/",
                    )
                    .await;
                }
                if case == "shared" {
                    measure(&server, "idle").await;
                }
                let stop = Arc::new(AtomicBool::new(false));
                let load = saturate(&server, &stop);
                // Long enough for every slow call to hold its slot.
                tokio::time::sleep(Duration::from_secs(3)).await;
                measure(&server, &format!("villeneuve-saturated/{case}")).await;
                stop.store(true, Ordering::Relaxed);
                for task in load {
                    task.abort();
                }
                server.shutdown.clone().notify();
            }
        });
    }
}
