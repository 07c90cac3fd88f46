//! Mes factures: the invoices the town's billing software pushes through
//! the data API (resident storage, keys `facture:<number>`), newest first,
//! with the total still due and each invoice's detail.

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;
use serde::{Deserialize, Serialize};

const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "payment_info": { "type": "string", "minLength": 1 },
    "shown": { "type": "integer", "minimum": 1, "maximum": 100 }
  },
  "required": ["payment_info"],
  "additionalProperties": false
}"#;

#[derive(Deserialize)]
struct Config {
    /// How to pay, in the town's words.
    payment_info: String,
    /// Invoices listed on the tile (default 5).
    #[serde(default = "default_shown")]
    shown: usize,
}

fn default_shown() -> usize {
    5
}

/// An invoice as the billing software pushes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    /// What it bills, e.g. "Mai 2020".
    pub period: String,
    pub amount_cents: i64,
    /// ISO date.
    pub due_date: String,
    /// "a-payer", "payee" or "en-retard".
    pub status: String,
    /// The household member it concerns, if any.
    #[serde(default)]
    pub member: Option<String>,
    #[serde(default)]
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub label: String,
    pub quantity: f64,
    pub unit_cents: i64,
    pub amount_cents: i64,
}

impl Invoice {
    fn is_due(&self) -> bool {
        self.status != "payee"
    }

    fn status(&self) -> Value {
        let (tone, text) = match self.status.as_str() {
            "payee" => (Tone::Success, "Payée"),
            "en-retard" => (Tone::Error, "En retard"),
            _ => (Tone::Warning, "À payer"),
        };
        Value::Status(Notice::new(tone, text))
    }
}

/// Newest first (by due date, then number), and the total still due.
pub fn sorted_with_total(mut invoices: Vec<Invoice>) -> (Vec<Invoice>, i64) {
    invoices.sort_by(|a, b| {
        b.due_date
            .cmp(&a.due_date)
            .then_with(|| b.number.cmp(&a.number))
    });
    let due = invoices
        .iter()
        .filter(|invoice| invoice.is_due())
        .map(|invoice| invoice.amount_cents)
        .sum();
    (invoices, due)
}

fn invoices() -> Result<Vec<Invoice>, ModuleError> {
    Ok(storage::list_json::<Invoice>(Scope::Resident, "facture:")?
        .into_iter()
        .map(|(_, invoice)| invoice)
        .collect())
}

struct Invoices;

impl Module for Invoices {
    fn describe() -> Manifest {
        Manifest::new("invoices", "Mes factures", env!("CARGO_PKG_VERSION"))
            .description("Les factures de votre foyer, leur détail et le total à régler.")
            .tile("factures", "Mes factures", Slot::Dashboard)
            .config_schema(CONFIG_SCHEMA)
            .capability(Capability::ResidentStorage)
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        let config: Config = config(&context)?;
        match request.view.as_str() {
            "factures" => Ok(list(&config, invoices()?)),
            "facture" => {
                let number = param(&request, "numero").unwrap_or_default();
                let invoice = invoices()?
                    .into_iter()
                    .find(|invoice| invoice.number == number)
                    .ok_or_else(|| ModuleError::NotFound(format!("facture {number}")))?;
                Ok(detail(&config, &invoice))
            }
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }
}

fn list(config: &Config, invoices: Vec<Invoice>) -> View {
    let view = View::new("Mes factures");
    if invoices.is_empty() {
        return view.paragraph("Vous n'avez pas de facture pour le moment.");
    }
    let (invoices, due) = sorted_with_total(invoices);
    let rows = invoices
        .iter()
        .take(config.shown)
        .map(|invoice| {
            vec![
                Value::Link(
                    Link::new(&format!("Facture {}", invoice.number), "facture")
                        .param("numero", &invoice.number),
                ),
                Value::text(invoice.period.clone()),
                Value::Date(invoice.due_date.clone()),
                Value::Amount(invoice.amount_cents),
                invoice.status(),
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

fn detail(config: &Config, invoice: &Invoice) -> View {
    let mut pairs = vec![
        ("Numéro", Value::text(invoice.number.clone())),
        ("Période", Value::text(invoice.period.clone())),
    ];
    if let Some(member) = &invoice.member {
        pairs.push(("Concerne", Value::text(member.clone())));
    }
    pairs.push(("Échéance", Value::Date(invoice.due_date.clone())));
    pairs.push(("Montant", Value::Amount(invoice.amount_cents)));
    pairs.push(("État", invoice.status()));
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
    view.link(Link::new("Toutes mes factures", "factures"))
}

/// "16", or "2,5".
fn format_quantity(quantity: f64) -> String {
    if quantity.fract() == 0.0 {
        format!("{quantity:.0}")
    } else {
        format!("{quantity}").replace('.', ",")
    }
}

export!(Invoices);

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(number: &str, due_date: &str, amount_cents: i64, status: &str) -> Invoice {
        Invoice {
            number: number.to_owned(),
            period: String::new(),
            amount_cents,
            due_date: due_date.to_owned(),
            status: status.to_owned(),
            member: None,
            lines: Vec::new(),
        }
    }

    #[test]
    fn newest_first_and_only_unpaid_ones_count() {
        let (sorted, due) = sorted_with_total(vec![
            invoice("A", "2020-04-15", 1000, "payee"),
            invoice("C", "2020-06-15", 2550, "a-payer"),
            invoice("B", "2020-05-15", 1200, "en-retard"),
        ]);
        let order: Vec<&str> = sorted
            .iter()
            .map(|invoice| invoice.number.as_str())
            .collect();
        assert_eq!(order, ["C", "B", "A"]);
        assert_eq!(due, 3750);
    }

    #[test]
    fn quantities_read_the_french_way() {
        assert_eq!(format_quantity(16.0), "16");
        assert_eq!(format_quantity(2.5), "2,5");
    }
}
