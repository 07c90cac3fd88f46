//! The resident's views: the tile "Mes factures" (the newest invoices, the
//! total still due) and an invoice's detail.

use guichet_module_sdk::{Link, Notice, Tone, Value, View};

use crate::model::{Config, Invoice, listed, sorted_with_total};

/// The tile, also the list's page.
pub const LIST: &str = "factures";
/// An invoice (`numero=<number>`).
pub const DETAIL: &str = "facture";

fn status(invoice: &Invoice) -> Value {
    let (tone, text) = match invoice.status.as_str() {
        "payee" => (Tone::Success, "Payée"),
        "en-retard" => (Tone::Error, "En retard"),
        _ => (Tone::Warning, "À payer"),
    };
    Value::Status(Notice::new(tone, text))
}

pub fn list(config: &Config, invoices: Vec<Invoice>) -> View {
    let view = View::new("Mes factures");
    if invoices.is_empty() {
        return view.paragraph("Vous n'avez pas de facture pour le moment.");
    }
    let (invoices, due) = sorted_with_total(invoices);
    let rows = listed(&invoices, config.shown)
        .into_iter()
        .map(|invoice| {
            vec![
                Value::Link(
                    Link::new(&format!("Facture {}", invoice.number), DETAIL)
                        .param("numero", &invoice.number),
                ),
                Value::text(invoice.period.clone()),
                Value::Date(invoice.due_date.clone()),
                Value::Amount(invoice.amount_cents),
                status(invoice),
            ]
        })
        .collect();
    let view = view.key_values(vec![("Total à régler", Value::Amount(due))]);
    let view = view.table(
        "Mes dernières factures",
        &["Facture", "Période", "Échéance", "Montant", "État"],
        rows,
    );
    if due > 0 {
        view.notice(Tone::Info, config.payment_info.clone())
    } else {
        view
    }
}

pub fn detail(config: &Config, invoice: &Invoice) -> View {
    let mut pairs = vec![
        ("Numéro", Value::text(invoice.number.clone())),
        ("Période", Value::text(invoice.period.clone())),
    ];
    if let Some(member) = &invoice.member {
        pairs.push(("Concerne", Value::text(member.clone())));
    }
    pairs.push(("Échéance", Value::Date(invoice.due_date.clone())));
    pairs.push(("Montant", Value::Amount(invoice.amount_cents)));
    pairs.push(("État", status(invoice)));
    let mut view = View::new(&format!("Facture {}", invoice.number)).key_values(pairs);
    if !invoice.lines.is_empty() {
        let rows = invoice
            .lines
            .iter()
            .map(|line| {
                vec![
                    Value::text(line.label.clone()),
                    Value::text(format_quantity(line.quantity)),
                    Value::Amount(line.unit_cents),
                    Value::Amount(line.amount_cents),
                ]
            })
            .collect();
        view = view.table(
            "Détail",
            &["Prestation", "Quantité", "Prix unitaire", "Montant"],
            rows,
        );
    }
    if invoice.is_due() {
        view = view.notice(Tone::Info, config.payment_info.clone());
    }
    view.link(Link::new("Toutes mes factures", LIST))
}

/// "16", or "2,5".
pub fn format_quantity(quantity: f64) -> String {
    if quantity.fract() == 0.0 {
        format!("{quantity:.0}")
    } else {
        format!("{quantity}").replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guichet_module_sdk::Block;

    fn config(shown: usize) -> Config {
        Config {
            payment_info: "À la régie.".to_owned(),
            shown,
            regie: None,
        }
    }

    fn invoices() -> Result<Vec<Invoice>, serde_json::Error> {
        [
            r#"{"number": "2020-04-0042", "period": "Avril 2020", "amount_cents": 3840, "due_date": "2020-05-15", "status": "payee"}"#,
            r#"{"number": "2020-06-0042", "period": "Juin 2020", "amount_cents": 4500, "due_date": "2020-07-15", "status": "a-payer", "member": "Léa ARPEGE",
                "lines": [{"label": "Restauration scolaire", "quantity": 16, "unit_cents": 250, "amount_cents": 4000}]}"#,
        ]
        .iter()
        .map(|json| serde_json::from_str(json))
        .collect()
    }

    #[test]
    fn quantities_read_the_french_way() {
        assert_eq!(format_quantity(16.0), "16");
        assert_eq!(format_quantity(2.5), "2,5");
    }

    #[test]
    fn the_tile_lists_the_newest_with_the_total_due() -> Result<(), serde_json::Error> {
        let view = list(&config(1), invoices()?);
        assert_eq!(view.title, "Mes factures");
        let [
            Block::KeyValues(total),
            Block::Table(table),
            Block::Notice(notice),
        ] = view.blocks.as_slice()
        else {
            panic!("{view:?}");
        };
        assert_eq!(total[0].value, Value::Amount(4500));
        assert_eq!(table.rows.len(), 1);
        assert_eq!(
            table.rows[0][0],
            Value::Link(
                Link::new("Facture 2020-06-0042", "facture").param("numero", "2020-06-0042")
            )
        );
        assert_eq!(notice.text, "À la régie.");
        let empty = list(&config(5), Vec::new());
        assert_eq!(
            empty.blocks,
            [Block::Paragraph(
                "Vous n'avez pas de facture pour le moment.".to_owned()
            )]
        );
        Ok(())
    }

    #[test]
    fn an_invoice_in_detail() -> Result<(), serde_json::Error> {
        let invoices = invoices()?;
        let view = detail(&config(5), &invoices[1]);
        assert_eq!(view.title, "Facture 2020-06-0042");
        assert_eq!(view.blocks.len(), 4, "{view:?}");
        let paid = detail(&config(5), &invoices[0]);
        assert_eq!(paid.blocks.len(), 2, "no detail, nothing to pay: {paid:?}");
        Ok(())
    }
}
