//! The attestations' rules, on plain invoices, and on the demo's.

use guichet_module_sdk::{Block, FieldKind, KeyValue, ModuleError, Value};

use crate::attestations::*;
use crate::model::Invoice;

type Test = Result<(), Box<dyn std::error::Error>>;

fn parse(json: &str) -> Result<Invoice, serde_json::Error> {
    serde_json::from_str(json)
}

fn parties() -> Parties {
    Parties {
        regie: "La régie de recettes de Villeneuve".to_owned(),
        resident: "Monsieur ARPEGE".to_owned(),
    }
}

fn relative(first_name: &str, last_name: &str, birth_date: Option<&str>) -> Relative {
    Relative {
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        birth_date: birth_date.map(str::to_owned),
    }
}

/// An invoice of `member` (born `birth`), its lines as (kind, amount), its
/// payments as (date, amount).
fn invoice(
    number: &str,
    member: &str,
    birth: Option<&str>,
    lines: &[(&str, i64)],
    payments: &[(&str, i64)],
) -> Result<Invoice, serde_json::Error> {
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|(kind, amount)| {
            serde_json::json!({"label": kind, "quantity": 1, "unit_cents": amount, "amount_cents": amount, "kind": kind})
        })
        .collect();
    let payments: Vec<serde_json::Value> = payments
        .iter()
        .map(|(date, amount)| serde_json::json!({"date": date, "means": "carte", "amount_cents": amount}))
        .collect();
    let total: i64 = lines
        .iter()
        .filter_map(|line| line["amount_cents"].as_i64())
        .sum();
    serde_json::from_value(serde_json::json!({
        "number": number, "period": format!("Période {number}"), "amount_cents": total,
        "due_date": "2025-01-15", "status": "payee", "member": member, "member_birth_date": birth,
        "lines": lines, "payments": payments,
    }))
}

fn fees(children: &[ChildFees]) -> Vec<(&str, &str, i64)> {
    children
        .iter()
        .map(|child| {
            (
                child.name.as_str(),
                child.birth_date.as_str(),
                child.amount_cents,
            )
        })
        .collect()
}

#[test]
fn under_six_on_the_first_of_january() -> Test {
    assert!(under_six_on_new_year("2019-01-02", 2025));
    assert!(
        under_six_on_new_year("2019-01-01", 2025),
        "born on 1 January 2019: counted for 2025, as impots.gouv.fr reads it"
    );
    assert!(!under_six_on_new_year("2018-12-31", 2025));
    assert!(
        under_six_on_new_year("2025-03-10", 2025),
        "born during the year"
    );
    assert!(!under_six_on_new_year("", 2025));
    assert!(!under_six_on_new_year("2025-13-01", 2025));

    let born = |birth: &str| {
        invoice(
            "1",
            "Hugo ARPEGE",
            Some(birth),
            &[("garde", 1000)],
            &[("2025-03-01", 1000)],
        )
    };
    for (birth, counted) in [
        ("2019-01-02", true),
        ("2019-01-01", true),
        ("2018-12-31", false),
        ("2025-06-30", true),
    ] {
        let children = childcare_fees(&[born(birth)?], &[], 2025);
        assert_eq!(!children.is_empty(), counted, "born {birth}");
    }
    // No birth date, in the invoice or the household: not shown eligible.
    let unknown = invoice(
        "1",
        "Hugo ARPEGE",
        None,
        &[("garde", 1000)],
        &[("2025-03-01", 1000)],
    )?;
    let household = [
        relative("Hugo", "ARPEGE", None),
        relative("Léa", "ARPEGE", Some("2012-09-03")),
    ];
    assert!(childcare_fees(std::slice::from_ref(&unknown), &household, 2025).is_empty());
    assert!(childcare_fees(std::slice::from_ref(&unknown), &[], 2025).is_empty());
    Ok(())
}

#[test]
fn birth_dates_come_from_the_household_when_the_invoice_has_none() -> Test {
    let unknown = invoice(
        "1",
        "HUGO Arpège",
        None,
        &[("garde", 1000)],
        &[("2025-03-01", 1000)],
    )?;
    let household = [
        relative("Léa", "ARPEGE", Some("2012-09-03")),
        relative("Hugo", "ARPEGE", Some("2021-05-14")),
    ];
    assert_eq!(
        fees(&childcare_fees(
            std::slice::from_ref(&unknown),
            &household,
            2025
        )),
        [("HUGO Arpège", "2021-05-14", 1000)]
    );
    assert!(needs_household(std::slice::from_ref(&unknown), 2025));
    assert!(
        !needs_household(std::slice::from_ref(&unknown), 2024),
        "nothing paid in 2024"
    );
    // The invoice's date wins over the household's.
    let dated = invoice(
        "1",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 1000)],
        &[("2025-03-01", 1000)],
    )?;
    let wrong = [relative("Hugo", "ARPEGE", Some("2010-01-01"))];
    assert_eq!(
        childcare_fees(std::slice::from_ref(&dated), &wrong, 2025).len(),
        1
    );
    assert!(!needs_household(&[dated], 2025));
    Ok(())
}

#[test]
fn meals_penalties_and_other_lines_are_left_out() -> Test {
    let mixed = invoice(
        "1",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[
            ("garde", 3720),
            ("repas", 4900),
            ("penalite", 500),
            ("autre", 300),
            ("transport", 200),
        ],
        &[("2025-04-10", 9620)],
    )?;
    assert_eq!(
        fees(&childcare_fees(&[mixed], &[], 2025)),
        [("Hugo ARPEGE", "2021-05-14", 3720)]
    );
    let no_care = invoice(
        "2",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("repas", 4900), ("penalite", 500)],
        &[("2025-04-10", 5400)],
    )?;
    assert!(childcare_fees(&[no_care], &[], 2025).is_empty());
    Ok(())
}

#[test]
fn only_payments_dated_in_the_year_count() -> Test {
    // December's invoice, paid on 8 January: next year's.
    let december = invoice(
        "2025-12",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 2100), ("repas", 4200)],
        &[("2026-01-08", 6300)],
    )?;
    assert!(childcare_fees(std::slice::from_ref(&december), &[], 2025).is_empty());
    assert_eq!(
        fees(&childcare_fees(std::slice::from_ref(&december), &[], 2026)),
        [("Hugo ARPEGE", "2021-05-14", 2100)]
    );
    // Unpaid: nothing, whatever its date.
    let unpaid = invoice(
        "2025-11",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 2100)],
        &[],
    )?;
    assert!(childcare_fees(&[unpaid], &[], 2025).is_empty());
    Ok(())
}

#[test]
fn partial_payments_are_prorated_and_rounded() -> Test {
    assert_eq!(prorated(1, 1, 2), 1, "half a cent rounds up");
    assert_eq!(prorated(3, 1, 2), 2);
    assert_eq!(prorated(10_000, 7000, 13_080), 5352, "5351.68");
    assert_eq!(prorated(10_000, 6080, 13_080), 4648, "4648.32");
    assert_eq!(prorated(-3, 1, 2), -2, "halves away from zero");
    // Garde 37,20 € of 91,20 €: paid 50,00 € in March, 41,20 € in April,
    // the rest never.
    let split = invoice(
        "1",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 3720), ("repas", 5400)],
        &[("2025-03-10", 5000), ("2024-12-20", 1000)],
    )?;
    // 3720 × 5000 / 9120 = 2039.47.
    assert_eq!(
        fees(&childcare_fees(std::slice::from_ref(&split), &[], 2025)),
        [("Hugo ARPEGE", "2021-05-14", 2039)]
    );
    // 3720 × 1000 / 9120 = 407.89.
    assert_eq!(
        fees(&childcare_fees(std::slice::from_ref(&split), &[], 2024)),
        [("Hugo ARPEGE", "2021-05-14", 408)]
    );
    // An invoice of nothing (or a credit note) is skipped.
    let mut credit = split.clone();
    credit.amount_cents = 0;
    assert!(childcare_fees(&[credit], &[], 2025).is_empty());
    Ok(())
}

#[test]
fn several_children_each_with_their_own_care() -> Test {
    // A household invoice with a line per child, their own dates.
    let family: Invoice = parse(
        r#"{"number": "F-1", "period": "Mars 2025", "amount_cents": 10000, "due_date": "2025-04-15", "status": "payee",
            "lines": [
              {"label": "Crèche", "quantity": 1, "unit_cents": 4000, "amount_cents": 4000, "kind": "garde", "member": "Zoé MARTIN", "member_birth_date": "2024-02-01"},
              {"label": "Garderie", "quantity": 1, "unit_cents": 3000, "amount_cents": 3000, "kind": "garde", "member": "Tom MARTIN"},
              {"label": "Garderie", "quantity": 1, "unit_cents": 2000, "amount_cents": 2000, "kind": "garde", "member": "Paul MARTIN", "member_birth_date": "2015-06-01"},
              {"label": "Repas", "quantity": 1, "unit_cents": 1000, "amount_cents": 1000, "kind": "repas", "member": "Tom MARTIN"}],
            "payments": [{"date": "2025-04-01", "means": "virement", "amount_cents": 10000}]}"#,
    )?;
    // Tom's invoice of his own, and a line of Zoé's on it.
    let tom = parse(
        r#"{"number": "F-2", "period": "Avril 2025", "amount_cents": 3000, "due_date": "2025-05-15", "status": "payee",
            "member": "Tom MARTIN", "member_birth_date": "2020-03-03",
            "lines": [
              {"label": "Centre de loisirs", "quantity": 1, "unit_cents": 2000, "amount_cents": 2000, "kind": "garde"},
              {"label": "Crèche", "quantity": 1, "unit_cents": 1000, "amount_cents": 1000, "kind": "garde", "member": "Zoé Martin"}],
            "payments": [{"date": "2025-05-02", "means": "cesu", "amount_cents": 1500}, {"date": "2025-05-20", "means": "cheque", "amount_cents": 1500}]}"#,
    )?;
    let household = [relative("Zoé", "MARTIN", Some("2024-02-01"))];
    // Tom: his own invoice's 2000, half paid twice; his line on the
    // family invoice has no date (his invoice's concerns that invoice
    // only) and the household does not know him. Zoé: 4000, and her 1000
    // on Tom's invoice (her date from the household). Paul: too old.
    assert_eq!(
        fees(&childcare_fees(
            &[family.clone(), tom.clone()],
            &household,
            2025
        )),
        [
            ("Tom MARTIN", "2020-03-03", 2000),
            ("Zoé MARTIN", "2024-02-01", 5000)
        ]
    );
    let household = [
        relative("Zoé", "MARTIN", Some("2024-02-01")),
        relative("Tom", "Martin", Some("2020-03-03")),
    ];
    let children = childcare_fees(&[family, tom], &household, 2025);
    assert_eq!(
        fees(&children),
        [
            ("Tom MARTIN", "2020-03-03", 5000),
            ("Zoé MARTIN", "2024-02-01", 5000)
        ],
        "eldest first"
    );
    let document = tax_attestation(&parties(), &[], &[], 2025);
    assert!(matches!(document, Err(ModuleError::NotFound(_))));
    Ok(())
}

#[test]
fn the_payment_attestation_lists_the_years_payments_in_date_order() -> Test {
    let march = invoice(
        "2025-03",
        "Hugo ARPEGE",
        None,
        &[("garde", 9000), ("repas", 120)],
        &[("2025-04-10", 9120)],
    )?;
    let mut july = invoice(
        "2025-07",
        "Hugo ARPEGE",
        None,
        &[("garde", 13_080)],
        &[("2025-09-05", 6080), ("2025-08-05", 7000)],
    )?;
    // The September debit (listed first) by direct debit.
    july.payments[0].means = crate::model::Means::Prelevement;
    let december = invoice(
        "2025-12",
        "Hugo ARPEGE",
        None,
        &[("garde", 6300)],
        &[("2026-01-08", 6300)],
    )?;
    let invoices = [december, july, march];
    assert_eq!(payment_years(&invoices), [2026, 2025]);
    let rows: Vec<(String, String, i64)> = payments_of(&invoices, 2025)
        .into_iter()
        .map(|row| (row.invoice, row.date, row.amount_cents))
        .collect();
    assert_eq!(
        rows,
        [
            ("2025-03".to_owned(), "2025-04-10".to_owned(), 9120),
            ("2025-07".to_owned(), "2025-08-05".to_owned(), 7000),
            ("2025-07".to_owned(), "2025-09-05".to_owned(), 6080),
        ]
    );
    let document = payment_attestation(&parties(), &invoices, 2025)?;
    assert_eq!(document.title, "Attestation de paiement");
    let [
        Block::Paragraph(text),
        Block::Table(table),
        Block::KeyValues(total),
    ] = document.blocks.as_slice()
    else {
        panic!("{document:?}");
    };
    assert_eq!(
        text,
        "La régie de recettes de Villeneuve certifie avoir reçu de Monsieur ARPEGE la somme de 222,00\u{a0}€ (deux cent vingt-deux euros) au titre des factures ci-dessous, réglées en 2025."
    );
    assert_eq!(table.caption, "Règlements de 2025");
    assert_eq!(
        table.headers,
        [
            "Facture",
            "Objet",
            "Date du règlement",
            "Mode de règlement",
            "Montant"
        ]
    );
    assert_eq!(
        table.rows[2],
        [
            Value::text("2025-07"),
            Value::text("Période 2025-07"),
            Value::Date("2025-09-05".to_owned()),
            Value::text("Prélèvement"),
            Value::Amount(6080),
        ]
    );
    assert_eq!(table.rows[1][3], Value::text("Carte bancaire"));
    assert_eq!(
        total,
        &[KeyValue {
            key: "Total réglé".to_owned(),
            value: Value::Amount(22_200)
        }]
    );
    Ok(())
}

#[test]
fn the_year_is_one_of_the_choices() -> Test {
    let paid = invoice(
        "1",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 1000)],
        &[("2024-03-01", 1000)],
    )?;
    let invoices = [paid];
    let never = || -> Result<Vec<Relative>, ModuleError> {
        Err(ModuleError::Failed("not asked".to_owned()))
    };
    let ask = |id: &str, year: &str| {
        document(
            id,
            &parties(),
            &invoices,
            never,
            "2026-12-02",
            &[(YEAR.to_owned(), year.to_owned())],
        )
    };
    for year in ["", "2023", "24", "2024 ", "deux"] {
        let refused = ask(PAYMENT, year);
        match (year, refused) {
            ("2024 ", Ok(_)) => {}
            (_, Err(ModuleError::NotFound(message))) => {
                assert_eq!(
                    message, "Choisissez une année dans la liste : 2024.",
                    "{year:?}"
                );
            }
            (_, other) => panic!("{year:?}: {other:?}"),
        }
    }
    // The tax attestation offers the previous year too, where nothing was
    // paid: the resident is told so.
    assert_eq!(tax_years(&invoices, "2026-12-02"), [2025, 2024]);
    assert_eq!(
        ask(TAX, "2025"),
        Err(ModuleError::NotFound(
            "Aucun frais de garde d'un enfant de moins de six ans au 1er janvier 2025 n'a été réglé en 2025 : il n'y a pas d'attestation à établir.".to_owned()
        ))
    );
    assert!(
        ask(TAX, "2024").is_ok(),
        "the birth date is on the invoice: no household asked"
    );
    assert!(matches!(ask("inconnu", "2024"), Err(ModuleError::NotFound(id)) if id == "inconnu"));
    let none = document(PAYMENT, &parties(), &[], never, "2026-12-02", &[]);
    assert!(
        matches!(none, Err(ModuleError::NotFound(message)) if message.starts_with("Aucun règlement"))
    );
    Ok(())
}

#[test]
fn params_list_the_years_newest_first() -> Test {
    let invoices = [
        invoice(
            "1",
            "Hugo ARPEGE",
            None,
            &[("garde", 1000)],
            &[("2023-03-01", 500), ("2025-03-01", 500)],
        )?,
        invoice(
            "2",
            "Hugo ARPEGE",
            None,
            &[("garde", 1000)],
            &[("2025-05-01", 1000), ("pas une date", 1)],
        )?,
    ];
    let years = |field: &guichet_module_sdk::Field| -> Vec<String> {
        match &field.kind {
            FieldKind::Select(choices) => {
                choices.iter().map(|choice| choice.value.clone()).collect()
            }
            other => panic!("{other:?}"),
        }
    };
    let [payment] = <[_; 1]>::try_from(params(PAYMENT, &invoices, Some("2026-12-02")))
        .map_err(|_| "one field")?;
    assert_eq!(
        (
            payment.name.as_str(),
            payment.label.as_str(),
            payment.required,
            payment.value.as_str()
        ),
        ("annee", "Année des règlements", true, "2025"),
        "the latest year paid in by default"
    );
    assert_eq!(years(&payment), ["2025", "2023"]);
    let [tax] =
        <[_; 1]>::try_from(params(TAX, &invoices, Some("2026-12-02"))).map_err(|_| "one field")?;
    assert_eq!(
        (years(&tax), tax.value.as_str()),
        (vec!["2025".to_owned(), "2023".to_owned()], "2025"),
        "the previous year by default"
    );
    let [tax] =
        <[_; 1]>::try_from(params(TAX, &invoices, Some("2027-01-05"))).map_err(|_| "one field")?;
    assert_eq!(
        (years(&tax), tax.value.as_str()),
        (
            vec!["2026".to_owned(), "2025".to_owned(), "2023".to_owned()],
            "2026"
        )
    );
    assert!(params("inconnu", &invoices, Some("2026-12-02")).is_empty());
    // As the manifest declares them: no resident, no date.
    for id in [PAYMENT, TAX] {
        let [field] = <[_; 1]>::try_from(params(id, &[], None)).map_err(|_| "one field")?;
        assert_eq!(
            (
                field.name.as_str(),
                &field.kind,
                field.required,
                field.value.as_str()
            ),
            ("annee", &FieldKind::Select(Vec::new()), true, "")
        );
    }
    Ok(())
}

/// Michel ARPEGE's invoices, as the demo pushes them (core/src/demo.rs
/// reads the same file): the integration tests assert the attestations
/// below on the demo.
const DEMO_INVOICES: &str = include_str!("../demo-invoices.json");

fn demo() -> Result<Vec<Invoice>, serde_json::Error> {
    serde_json::from_str(DEMO_INVOICES)
}

fn demo_household() -> Vec<Relative> {
    vec![
        relative("Michel", "ARPEGE", None),
        relative("Léa", "ARPEGE", Some("2012-09-03")),
        relative("Hugo", "ARPEGE", Some("2021-05-14")),
    ]
}

fn ask_demo(id: &str, year: &str) -> Result<guichet_module_sdk::Document, ModuleError> {
    let invoices = demo().map_err(|error| ModuleError::Failed(error.to_string()))?;
    document(
        id,
        &parties(),
        &invoices,
        || Ok(demo_household()),
        "2026-12-02",
        &[(YEAR.to_owned(), year.to_owned())],
    )
}

#[test]
fn the_demo_tile_still_shows_the_invoice_due() -> Test {
    let config: crate::model::Config =
        serde_json::from_str(r#"{"payment_info": "À la régie.", "shown": 5}"#)?;
    let view = crate::views::list(&config, demo()?);
    let Block::Table(table) = &view.blocks[1] else {
        panic!("{view:?}")
    };
    let due_dates: Vec<&Value> = table.rows.iter().map(|row| &row[2]).collect();
    assert_eq!(
        due_dates,
        [
            "2026-01-15",
            "2025-08-15",
            "2025-06-15",
            "2025-04-15",
            "2020-07-15"
        ]
        .map(|date| Value::Date(date.to_owned()))
        .iter()
        .collect::<Vec<_>>()
    );
    assert_eq!(
        view.blocks[0],
        Block::KeyValues(vec![KeyValue {
            key: "Total à régler".to_owned(),
            value: Value::Amount(4500)
        }])
    );
    // June 2020's, payable online where the town has a payment provider.
    assert_eq!(
        view.blocks[2],
        Block::Payable(guichet_module_sdk::Payable {
            reference: "2020060042".to_owned(),
            label: "Facture 2020-06-0042 — Juin 2020".to_owned(),
            amount: 4500,
        })
    );
    assert_eq!(view.blocks.len(), 4, "{view:?}");
    Ok(())
}

#[test]
fn the_demo_attestation_fiscale_of_2025() -> Test {
    let document = ask_demo(TAX, "2025")?;
    assert_eq!(
        document.title,
        "Attestation fiscale — frais de garde des jeunes enfants"
    );
    assert_eq!(
        document.blocks,
        [
            Block::Paragraph("La régie de recettes de Villeneuve atteste que Monsieur ARPEGE a réglé en 2025, pour la garde de ses enfants de moins de six ans au 1er janvier 2025, les sommes suivantes (article 200 quater B du code général des impôts). Les frais de repas et les pénalités ne sont pas compris.".to_owned()),
            Block::Table(guichet_module_sdk::Table {
                caption: "Frais de garde réglés en 2025".to_owned(),
                headers: vec!["Enfant".to_owned(), "Date de naissance".to_owned(), "Montant réglé".to_owned()],
                // 12,00 + 25,20 € (March, by card) + 53,52 + 46,48 € (July's
                // 100,00 € of care, prorated over its two debits).
                rows: vec![vec![Value::text("Hugo ARPEGE"), Value::Date("2021-05-14".to_owned()), Value::Amount(13_720)]],
            }),
            Block::KeyValues(vec![
                KeyValue { key: "Total".to_owned(), value: Value::Amount(13_720) },
                KeyValue { key: "Total en lettres".to_owned(), value: Value::text("cent trente-sept euros et vingt centimes") },
            ]),
            Block::Paragraph("Document établi pour servir et valoir ce que de droit.".to_owned()),
        ]
    );
    // December 2025, paid on 8 January 2026: 2026's.
    let next = ask_demo(TAX, "2026")?;
    let Block::Table(table) = &next.blocks[1] else {
        panic!("{next:?}")
    };
    assert_eq!(
        table.rows,
        [vec![
            Value::text("Hugo ARPEGE"),
            Value::Date("2021-05-14".to_owned()),
            Value::Amount(2100)
        ]]
    );
    assert!(
        matches!(ask_demo(TAX, "2020"), Err(ModuleError::NotFound(_))),
        "not a choice"
    );
    Ok(())
}

#[test]
fn the_demo_attestation_de_paiement_of_2025() -> Test {
    let document = ask_demo(PAYMENT, "2025")?;
    let row = |number: &str, period: &str, date: &str, means: &str, cents: i64| {
        vec![
            Value::text(number),
            Value::text(period),
            Value::Date(date.to_owned()),
            Value::text(means),
            Value::Amount(cents),
        ]
    };
    assert_eq!(
        document.blocks,
        [
            Block::Paragraph("La régie de recettes de Villeneuve certifie avoir reçu de Monsieur ARPEGE la somme de 285,70\u{a0}€ (deux cent quatre-vingt-cinq euros et soixante-dix centimes) au titre des factures ci-dessous, réglées en 2025.".to_owned()),
            Block::Table(guichet_module_sdk::Table {
                caption: "Règlements de 2025".to_owned(),
                headers: ["Facture", "Objet", "Date du règlement", "Mode de règlement", "Montant"].map(str::to_owned).to_vec(),
                rows: vec![
                    row("2025-03-0043", "Mars 2025", "2025-04-10", "Carte bancaire", 9120),
                    row("2025-05-0042", "Mai 2025", "2025-06-12", "Chèque", 6370),
                    row("2025-07-0043", "Juillet 2025 — centre de loisirs", "2025-08-05", "Prélèvement", 7000),
                    row("2025-07-0043", "Juillet 2025 — centre de loisirs", "2025-09-05", "Prélèvement", 6080),
                ],
            }),
            Block::KeyValues(vec![KeyValue { key: "Total réglé".to_owned(), value: Value::Amount(28_570) }]),
        ]
    );
    let next = ask_demo(PAYMENT, "2026")?;
    let Block::Table(table) = &next.blocks[1] else {
        panic!("{next:?}")
    };
    assert_eq!(
        table.rows,
        [row(
            "2025-12-0043",
            "Décembre 2025",
            "2026-01-08",
            "Paiement en ligne",
            6300
        )]
    );
    Ok(())
}

#[test]
fn never_more_than_was_paid() -> Test {
    // Childcare 100 €, an aid of 40 €: 60 € to pay, paid; 60 € attested.
    let aided = invoice(
        "1",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 10_000), ("autre", -4_000)],
        &[("2025-03-01", 6_000)],
    )?;
    assert_eq!(
        fees(&childcare_fees(&[aided], &[], 2025)),
        [("Hugo ARPEGE", "2021-05-14", 6_000)]
    );
    // Paid twice by mistake: the second payment pays no childcare.
    let twice = invoice(
        "2",
        "Hugo ARPEGE",
        Some("2021-05-14"),
        &[("garde", 5_000)],
        &[("2025-03-01", 5_000), ("2025-03-02", 5_000)],
    )?;
    assert_eq!(
        fees(&childcare_fees(&[twice], &[], 2025)),
        [("Hugo ARPEGE", "2021-05-14", 5_000)]
    );
    Ok(())
}
