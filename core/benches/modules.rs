//! Module host benchmarks: what a tile costs.
//!
//! - `tile/instantiate+render`: a fresh instance of the invoices module
//!   rendering "Mes factures" for a resident with three invoices, the host
//!   storage read included (SQLite) — what a tile of the home page costs.
//! - `tile/instantiate+describe`: a fresh instance answering its manifest —
//!   instantiation with the smallest call.
//!
//! Run with `cargo bench -p guichet --bench modules`.

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
        let towns = guichet::tenancy::load_definitions(&root.join("tenants")).unwrap();
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

    let mut group = criterion.benchmark_group("tile");
    group.bench_function("instantiate+render", |bench| {
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

criterion_group!(benches, tiles);
criterion_main!(benches);
