//! Module host benchmarks: what a tile costs, and what the sandbox adds.
//!
//! - `tile/wasm`: a fresh instance of the invoices module rendering "Mes
//!   factures" for a resident with three invoices, the host storage read
//!   included (SQLite) — what a tile of the home page costs.
//! - `tile/native`: the same tile written as native Rust in this file (the
//!   same storage read, JSON decoding, sorting, total and view) — the
//!   baseline the sandbox is compared with (target: wasm ≤ native + 20 µs).
//! - `tile/instantiate`: a fresh store and instance, no call.
//! - `tile/instantiate+describe`: instantiation with the smallest call.
//!
//! Run with `cargo bench -p guichet --bench modules`; figures in
//! docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use guichet::accounts::NewAccount;
use guichet::app::{App, Mode};
use guichet::audit::Origin;
use guichet::config::Config;
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
    let config = Config {
        database_url: format!("sqlite://{}/bench.sqlite", folder.path().display()),
        secret_key: Some("YmVuY2gtc2VjcmV0LWtleS1ieXRlcy0zMi1sb25nISE=".to_owned()),
        themes_dir: root.join("themes"),
        module_cache_dir: folder.path().join("modules"),
        log: "error".to_owned(),
        ..Config::default()
    };
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
    use guichet::modules::wit::v0_1::types::{KeyValue, Link, Table};
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
    let hasher = guichet::accounts::PasswordHasher::new(1).unwrap();
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
criterion_main!(benches);
