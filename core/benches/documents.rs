//! What a document costs to issue ("Edition de documents"), on SQLite, for
//! the demo resident of Villeneuve (Michel ARPEGE: Léa, Hugo, the invoices
//! of 2020 and 2025):
//!
//! - `issue/attestation-fiscale` and `issue/attestation-paiement`: the
//!   whole issuing path as the agent's POST runs it (a resident's adds
//!   one count of their last hour's documents) — the parameters'
//!   form rendered by the module (a WebAssembly call), the module's
//!   `document` (another call, reading the resident's invoices and
//!   household), the number taken, the PDF laid out, written and validated
//!   (krilla, PDF/UA-1), its SHA-256, the row and the journal event;
//! - `issue/attestation-presence-year`: the heaviest first-party document,
//!   a year of a child's school meals and evening club (≈ 300 booked days,
//!   12 pages), from the bookings module's town storage;
//! - `render/one-page`: the PDF alone for a one-page document (layout,
//!   fonts subsetted and embedded, QR code, tagging, validation).
//!
//! Run with `cargo bench -p guichet --bench documents`; figures in
//! docs/PERFORMANCE.md. None of this runs under `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// The server's allocator (core/src/main.rs): a bench measures what the
/// server runs (docs/PERFORMANCE.md, "How to measure").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use guichet::app::{App, Mode};
use guichet::audit::Origin;
use guichet::config::Config;
use guichet::documents::Requester;

fn documents(criterion: &mut Criterion) {
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
    let (app, tenant, account, child, agent) = runtime.block_on(async {
        let app = App::open(config, Mode::Serve).await.unwrap();
        let towns = guichet::towns::load_definitions(&root.join("tenants")).unwrap();
        app.apply_towns(&towns).await.unwrap();
        let resident = guichet::demo::ensure_residents(&app, &towns).await.unwrap();
        guichet::demo::ensure_staff(&app, &towns).await.unwrap();
        let tenant = Arc::new(app.tenants.find_by_slug("villeneuve").await.unwrap().unwrap());
        let account = app
            .accounts
            .find_by_identifier(&tenant, &resident.identifier)
            .await
            .unwrap()
            .unwrap();
        let members = app.households.members(tenant.scope(), account.id).await.unwrap();
        let lea = members.iter().find(|member| member.first_name == "Léa").unwrap();
        let child = format!("m{}", lea.id);
        // A year of Léa's meals and evening club, as the bookings module
        // stores them (the family index and each booking's record).
        let scope = guichet::modules::storage::DataScope::town(&tenant, "bookings");
        let transaction = guichet::db::begin_write(&app.db).await.unwrap();
        let mut day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        while day.format("%Y").to_string() == "2025" {
            use chrono::Datelike as _;
            if day.weekday().number_from_monday() <= 5 && day.weekday() != chrono::Weekday::Wed {
                for activity in ["cantine", "soir"] {
                    let date = day.to_string();
                    let family = format!("family:{}:{date}:{activity}:{child}", account.identifier);
                    let entry = serde_json::json!({"activity": activity, "date": date, "child": child, "child_name": "Léa", "state": "booked"});
                    guichet::modules::storage::write(&transaction, &scope, &family, Some(&entry.to_string())).await.unwrap();
                    let booking = format!("booking:{activity}:{date}:{}~{child}", account.identifier);
                    let record = serde_json::json!({"activity": activity, "date": date, "child": child, "attendance": "present"});
                    guichet::modules::storage::write(&transaction, &scope, &booking, Some(&record.to_string())).await.unwrap();
                }
            }
            day = day.succ_opt().unwrap();
        }
        transaction.commit().await.unwrap();
        // Issued as the agent at the counter: a resident may ask for 30
        // an hour, and the benchmark asks for hundreds.
        let agent = app
            .staff
            .members(&tenant)
            .await
            .unwrap()
            .into_iter()
            .find(|member| member.role == guichet::staff::StaffRole::Agent)
            .unwrap();
        (app, tenant, account, child, agent)
    });
    let origin = Origin::default();
    let issue = |module: &str, document: &str, params: Vec<(String, String)>| {
        let issued = runtime.block_on(app.documents.issue(
            &tenant,
            &account,
            module,
            document,
            &params,
            Requester::Staff(&agent),
            &origin,
        ));
        issued.unwrap_or_else(|error| panic!("{document}: {error}"))
    };
    let year = |year: &str| vec![("annee".to_owned(), year.to_owned())];
    let presence = vec![
        ("enfant".to_owned(), child.clone()),
        ("du".to_owned(), "2025-01-01".to_owned()),
        ("au".to_owned(), "2025-12-31".to_owned()),
    ];
    // Once, outside the measure: the modules compiled, and the sizes.
    for (module, document, params) in [
        ("invoices", "attestation-fiscale", year("2025")),
        ("invoices", "attestation-paiement", year("2025")),
        ("bookings", "attestation-presence", presence.clone()),
    ] {
        let issued = issue(module, document, params);
        let file = runtime
            .block_on(app.documents.file(tenant.scope(), account.id, issued.id))
            .unwrap()
            .unwrap();
        println!("{document}: {} bytes", file.pdf.len());
    }

    let mut group = criterion.benchmark_group("issue");
    group.sample_size(20);
    group.bench_function("attestation-fiscale", |bench| {
        bench.iter(|| issue("invoices", "attestation-fiscale", year("2025")));
    });
    group.bench_function("attestation-paiement", |bench| {
        bench.iter(|| issue("invoices", "attestation-paiement", year("2025")));
    });
    group.sample_size(10);
    group.bench_function("attestation-presence-year", |bench| {
        bench.iter(|| issue("bookings", "attestation-presence", presence.clone()));
    });
    group.finish();

    let themes = guichet::theme::ThemeSet::load(&root.join("themes"), false).unwrap();
    let look =
        guichet::documents::DocumentTheme::load(&themes.get("villeneuve"), "villeneuve").unwrap();
    let blocks = vec![
        guichet::modules::Block::Paragraph("La régie de recettes de la Ville de Villeneuve atteste que Monsieur ARPEGE a réglé en 2025, pour la garde de ses enfants de moins de six ans au 1er janvier 2025, les sommes suivantes.".to_owned()),
        guichet::modules::Block::KeyValues(vec![guichet::modules::KeyValue {
            key: "Total".to_owned(),
            value: guichet::modules::Value::Amount(13_720),
        }]),
    ];
    let letterhead = guichet::documents::pdf::Letterhead {
        town: "Ville de Villeneuve".to_owned(),
        address: vec![
            "1 place de la Mairie".to_owned(),
            "00100 Villeneuve".to_owned(),
        ],
        contact: None,
    };
    let recipient = guichet::documents::pdf::Recipient {
        name: "Monsieur Michel ARPEGE".to_owned(),
        address: vec!["10 la rue Creuse".to_owned()],
    };
    let signature = guichet::documents::pdf::Signature {
        place_and_date: "Fait à Villeneuve, le 2 décembre 2026.".to_owned(),
        title: Some("Le maire".to_owned()),
        name: Some("Claire MARTIN".to_owned()),
    };
    let verification = guichet::documents::pdf::Verification {
        code: "K7QF-3M2P-XW9A-TC4D".to_owned(),
        url: "https://villeneuve.example.fr/documents/verifier/K7QF-3M2P-XW9A-TC4D".to_owned(),
    };
    let sheet = guichet::documents::pdf::Sheet {
        letterhead: &letterhead,
        recipient: &recipient,
        title: "Attestation fiscale — frais de garde des jeunes enfants",
        number: "A-2026-000042",
        issued_on: "2 décembre 2026",
        blocks: &blocks,
        signature: &signature,
        verification: &verification,
        issued_at: chrono::Utc::now(),
    };
    criterion.bench_function("render/one-page", |bench| {
        bench.iter(|| guichet::documents::pdf::render(&sheet, &look).unwrap());
    });
}

criterion_group!(benches, documents);
criterion_main!(benches);
