//! The resident's views: the tile "Mes factures" (the newest invoices, the
//! total still due, what may be paid online) and an invoice's detail.

use guichet_module_sdk::{Block, Link, Notice, Tone, Value, View};

use crate::words;

use crate::model::{Config, Invoice, listed, sorted_with_total};
use crate::payment::{self, References};

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

/// The tile on "Mon accueil": what is left to pay and by when, and the way
/// to the list (where each invoice due offers "Payer en ligne").
pub fn summary(invoices: Vec<Invoice>) -> View {
    let view = View::new("Mes factures");
    if invoices.is_empty() {
        return view.paragraph("Aucune facture pour le moment.");
    }
    let (invoices, due) = sorted_with_total(invoices);
    let waiting: Vec<&Invoice> = invoices.iter().filter(|invoice| invoice.is_due()).collect();
    if due > 0 {
        let first = waiting
            .iter()
            .map(|invoice| invoice.due_date.as_str())
            .min()
            .unwrap_or_default();
        let when = if waiting.len() == 1 {
            format!("Échéance : {}", french_date(first))
        } else {
            format!(
                "{} factures, échéance : {}",
                waiting.len(),
                french_date(first)
            )
        };
        view.paragraph(format!("{} à régler", words::amount(due)))
            .paragraph(when)
            .link(Link::new("Voir et payer", LIST))
    } else {
        let view = view.paragraph("Tout est réglé");
        let view = match invoices.first() {
            Some(newest) => view.paragraph(format!("Dernière facture : {}", newest.period)),
            None => view,
        };
        view.link(Link::new("Voir mes factures", LIST))
    }
}

/// "2020-06-15" as "15/06/2020"; anything else as it is.
fn french_date(iso: &str) -> String {
    match iso.split('-').collect::<Vec<_>>().as_slice() {
        [year, month, day] => format!("{day}/{month}/{year}"),
        _ => iso.to_owned(),
    }
}

pub fn list(config: &Config, invoices: Vec<Invoice>) -> View {
    let view = View::new("Mes factures");
    if invoices.is_empty() {
        return view.paragraph("Vous n'avez pas de facture pour le moment.");
    }
    let (invoices, due) = sorted_with_total(invoices);
    let listed = listed(&invoices, config.shown);
    let rows = listed
        .iter()
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
    let mut view = view.table(
        "Mes dernières factures",
        &["Facture", "Période", "Échéance", "Montant", "État"],
        rows,
    );
    // In the table's order; every invoice still due is listed, so none is
    // payable without its row.
    let references = References::of(&invoices);
    for invoice in &listed {
        if let Some(payable) = payment::payable(invoice, &references) {
            view = view.block(Block::Payable(payable));
        }
    }
    if due > 0 {
        view.notice(Tone::Info, config.payment_info.clone())
    } else {
        view
    }
}

/// `invoice`'s detail; `invoices` are all the resident's (a reference
/// another invoice has too is not paid online).
pub fn detail(config: &Config, invoice: &Invoice, invoices: &[Invoice]) -> View {
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
    if let Some(payable) = payment::payable(invoice, &References::of(invoices)) {
        view = view.block(Block::Payable(payable));
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
    use guichet_module_sdk::Payable;

    fn config(shown: usize) -> Config {
        Config {
            payment_info: "À la régie.".to_owned(),
            shown,
            regie: None,
        }
    }

    fn parse(invoices: &[&str]) -> Result<Vec<Invoice>, serde_json::Error> {
        invoices
            .iter()
            .map(|json| serde_json::from_str(json))
            .collect()
    }

    const APRIL: &str = r#"{"number": "2020-04-0042", "period": "Avril 2020", "amount_cents": 3840, "due_date": "2020-05-15", "status": "payee"}"#;
    const JUNE: &str = r#"{"number": "2020-06-0042", "period": "Juin 2020", "amount_cents": 4500, "due_date": "2020-07-15", "status": "a-payer", "member": "Léa ARPEGE",
        "lines": [{"label": "Restauration scolaire", "quantity": 16, "unit_cents": 250, "amount_cents": 4000}]}"#;
    /// Due, half paid by cheque.
    const MAY: &str = r#"{"number": "2020-05-0042", "period": "Mai 2020", "amount_cents": 1200, "due_date": "2020-06-15", "status": "en-retard",
        "payments": [{"date": "2020-06-20", "means": "cheque", "amount_cents": 500, "reference": "0001234"}]}"#;

    fn invoices() -> Result<Vec<Invoice>, serde_json::Error> {
        parse(&[APRIL, JUNE])
    }

    fn payables(view: &View) -> Vec<&Payable> {
        view.blocks
            .iter()
            .filter_map(|block| match block {
                Block::Payable(payable) => Some(payable),
                _ => None,
            })
            .collect()
    }

    fn payable(reference: &str, label: &str, amount: i64) -> Payable {
        Payable {
            reference: reference.to_owned(),
            label: label.to_owned(),
            amount,
        }
    }

    #[test]
    fn quantities_read_the_french_way() {
        assert_eq!(format_quantity(16.0), "16");
        assert_eq!(format_quantity(2.5), "2,5");
    }

    #[test]
    fn the_tile_is_a_summary_of_what_is_due_and_leads_to_the_list() -> Result<(), serde_json::Error>
    {
        let view = summary(parse(&[APRIL, JUNE, MAY])?);
        let [
            Block::Paragraph(total),
            Block::Paragraph(when),
            Block::Link(link),
        ] = view.blocks.as_slice()
        else {
            panic!("a summary: {:?}", view.blocks);
        };
        assert_eq!(total, "57,00\u{a0}€ à régler");
        assert_eq!(when, "2 factures, échéance : 15/06/2020");
        assert_eq!(
            (link.label.as_str(), link.view.as_str()),
            ("Voir et payer", LIST)
        );
        let settled = summary(parse(&[APRIL])?);
        assert!(
            matches!(settled.blocks.first(), Some(Block::Paragraph(text)) if text == "Tout est réglé")
        );
        Ok(())
    }

    #[test]
    fn the_tile_lists_the_newest_with_the_total_due() -> Result<(), serde_json::Error> {
        let view = list(&config(1), invoices()?);
        assert_eq!(view.title, "Mes factures");
        let [
            Block::KeyValues(total),
            Block::Table(table),
            Block::Payable(june),
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
        assert_eq!(
            *june,
            payable("2020060042", "Facture 2020-06-0042 — Juin 2020", 4500)
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
    fn the_tile_offers_what_is_left_of_each_due_invoice_newest_first()
    -> Result<(), serde_json::Error> {
        let view = list(&config(5), parse(&[APRIL, MAY, JUNE])?);
        assert_eq!(
            payables(&view),
            [
                &payable("2020060042", "Facture 2020-06-0042 — Juin 2020", 4500),
                &payable("2020050042", "Facture 2020-05-0042 — Mai 2020", 700),
            ]
        );
        // After the table, before the town's notice.
        assert!(matches!(view.blocks[1], Block::Table(_)));
        assert!(matches!(view.blocks[4], Block::Notice(_)));
        assert_eq!(view.blocks.len(), 5, "{view:?}");
        Ok(())
    }

    #[test]
    fn nothing_is_offered_when_paid_in_full_or_when_references_collide()
    -> Result<(), serde_json::Error> {
        // Paid in full by cheque, the billing software not yet told: due,
        // with nothing left to pay online.
        let settled = MAY.replace("\"amount_cents\": 500", "\"amount_cents\": 1200");
        let view = list(&config(5), parse(&[APRIL, &settled])?);
        assert!(payables(&view).is_empty(), "{view:?}");
        assert!(matches!(view.blocks.last(), Some(Block::Notice(_))));
        // Two invoices whose numbers differ only by their punctuation:
        // neither is paid online; the other due one still is.
        let twin = JUNE.replace("2020-06-0042", "2020/06/0042");
        let view = list(&config(5), parse(&[MAY, JUNE, &twin])?);
        assert_eq!(
            payables(&view),
            [&payable(
                "2020050042",
                "Facture 2020-05-0042 — Mai 2020",
                700
            )]
        );
        let invoices = parse(&[JUNE, &twin])?;
        let detail = detail(&config(5), &invoices[0], &invoices);
        assert!(payables(&detail).is_empty(), "{detail:?}");
        assert!(
            detail
                .blocks
                .contains(&Block::Notice(Notice::new(Tone::Info, "À la régie."))),
            "the town's notice stays: {detail:?}"
        );
        Ok(())
    }

    #[test]
    fn an_invoice_in_detail() -> Result<(), serde_json::Error> {
        let invoices = invoices()?;
        let view = detail(&config(5), &invoices[1], &invoices);
        assert_eq!(view.title, "Facture 2020-06-0042");
        let [
            Block::KeyValues(_),
            Block::Table(_),
            Block::Payable(june),
            Block::Notice(notice),
            Block::Link(_),
        ] = view.blocks.as_slice()
        else {
            panic!("{view:?}");
        };
        assert_eq!(
            *june,
            payable("2020060042", "Facture 2020-06-0042 — Juin 2020", 4500)
        );
        assert_eq!(notice.text, "À la régie.");
        let paid = detail(&config(5), &invoices[0], &invoices);
        assert_eq!(paid.blocks.len(), 2, "no detail, nothing to pay: {paid:?}");
        let partly = parse(&[MAY])?;
        let view = detail(&config(5), &partly[0], &partly);
        assert_eq!(
            payables(&view),
            [&payable(
                "2020050042",
                "Facture 2020-05-0042 — Mai 2020",
                700
            )]
        );
        Ok(())
    }
}
