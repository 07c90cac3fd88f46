//! The invoices as the town's billing software pushes them through the
//! data API (resident storage, keys `facture:<number>`), and the town's
//! configuration of the module.
//!
//! Every field added since the first format has a default, so that what
//! the billing software pushed before still reads; a line kind or a means
//! of payment this module does not know reads as `autre`.

use serde::{Deserialize, Serialize};

/// The JSON Schema of the town's configuration.
pub const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "payment_info": {
      "type": "string",
      "minLength": 1,
      "title": "Comment payer",
      "description": "Affiché sous les factures à régler."
    },
    "shown": {
      "type": "integer",
      "minimum": 1,
      "maximum": 100,
      "title": "Factures sur la tuile",
      "description": "Les plus récentes d'abord (5 par défaut)."
    },
    "regie": {
      "type": "string",
      "minLength": 1,
      "title": "Régie qui signe les attestations",
      "description": "Sujet des attestations, par exemple « La régie de recettes des services périscolaires de la Ville de Villeneuve ». Par défaut : « La régie de recettes de » suivi du nom de la commune."
    }
  },
  "required": ["payment_info"],
  "additionalProperties": false
}"#;

/// The town's configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// How to pay, in the town's words.
    pub payment_info: String,
    /// Invoices listed on the tile (default 5); those still due are
    /// listed besides, however old.
    #[serde(default = "default_shown")]
    pub shown: usize,
    /// Who attests, e.g. "La régie de recettes des services périscolaires
    /// de la Ville de Villeneuve".
    #[serde(default)]
    pub regie: Option<String>,
}

fn default_shown() -> usize {
    5
}

impl Config {
    /// The subject of the attestations' sentences: `regie`, else "La régie
    /// de recettes de" the town ("de la Ville de Villeneuve", "du Mans",
    /// "d'Orléans").
    pub fn regie(&self, town: &str) -> String {
        match &self.regie {
            Some(regie) if !regie.trim().is_empty() => regie.trim().to_owned(),
            _ => format!("La régie de recettes {}", of_town(town.trim())),
        }
    }
}

/// "de" and the town's name, contracted and elided as French writes it.
fn of_town(town: &str) -> String {
    for (article, contracted) in [
        ("Ville ", "de la Ville "),
        ("Commune ", "de la Commune "),
        ("Le ", "du "),
        ("Les ", "des "),
        ("La ", "de la "),
        ("L'", "de l'"),
        ("L’", "de l’"),
    ] {
        if let Some(rest) = town.strip_prefix(article) {
            return format!("{contracted}{rest}");
        }
    }
    let vowel = town
        .chars()
        .next()
        .is_some_and(|first| "AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜaeiouy".contains(first));
    if vowel {
        format!("d'{town}")
    } else {
        format!("de {town}")
    }
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
    /// The household member it concerns, if any, "first last".
    #[serde(default)]
    pub member: Option<String>,
    /// The birth date (ISO) of `member`.
    #[serde(default)]
    pub member_birth_date: Option<String>,
    #[serde(default)]
    pub lines: Vec<Line>,
    /// What was paid, and when.
    #[serde(default)]
    pub payments: Vec<Payment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub label: String,
    pub quantity: f64,
    pub unit_cents: i64,
    pub amount_cents: i64,
    #[serde(default)]
    pub kind: LineKind,
    /// The member this line concerns, when not the invoice's.
    #[serde(default)]
    pub member: Option<String>,
    /// The birth date (ISO) of the line's member.
    #[serde(default)]
    pub member_birth_date: Option<String>,
}

/// What a line bills: the childcare fees of a tax attestation are the
/// `garde` lines only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineKind {
    /// Childcare: périscolaire, centre de loisirs, crèche, garderie.
    Garde,
    /// Meals.
    Repas,
    /// Penalties (e.g. a child picked up late).
    Penalite,
    /// Anything else, and any kind this module does not know.
    #[default]
    #[serde(other)]
    Autre,
}

/// A payment of an invoice (or of part of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// ISO date.
    pub date: String,
    #[serde(default)]
    pub means: Means,
    pub amount_cents: i64,
    /// The cheque's number, the transaction's…
    #[serde(default)]
    pub reference: Option<String>,
}

/// How a payment was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Means {
    Carte,
    Cheque,
    Especes,
    Prelevement,
    Virement,
    EnLigne,
    Cesu,
    /// Any other, and any means this module does not know.
    #[default]
    #[serde(other)]
    Autre,
}

impl Means {
    pub fn label(self) -> &'static str {
        match self {
            Means::Carte => "Carte bancaire",
            Means::Cheque => "Chèque",
            Means::Especes => "Espèces",
            Means::Prelevement => "Prélèvement",
            Means::Virement => "Virement",
            Means::EnLigne => "Paiement en ligne",
            Means::Cesu => "CESU",
            Means::Autre => "Autre",
        }
    }
}

impl Invoice {
    pub fn is_due(&self) -> bool {
        self.status != "payee"
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

/// The invoices a list shows, newest first: every invoice still due,
/// however old, and the newest paid ones up to `shown` rows in all — the
/// total to pay is never made of invoices the list hides.
pub fn listed(sorted: &[Invoice], shown: usize) -> Vec<&Invoice> {
    let due = sorted.iter().filter(|invoice| invoice.is_due()).count();
    let mut room = shown.saturating_sub(due);
    sorted
        .iter()
        .filter(|invoice| {
            if invoice.is_due() {
                true
            } else if room > 0 {
                room -= 1;
                true
            } else {
                false
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_invoice_is_listed_however_old() {
        let invoice = |number: &str, due_date: &str, status: &str| {
            serde_json::from_value::<Invoice>(serde_json::json!({
                "number": number, "period": "", "amount_cents": 100,
                "due_date": due_date, "status": status
            }))
            .unwrap_or_else(|error| panic!("{error}"))
        };
        let (sorted, _) = sorted_with_total(vec![
            invoice("2020-06", "2020-07-15", "a-payer"),
            invoice("2025-03", "2025-04-15", "payee"),
            invoice("2025-05", "2025-06-15", "payee"),
            invoice("2025-07", "2025-08-15", "payee"),
            invoice("2025-12", "2026-01-15", "payee"),
        ]);
        let numbers = |shown| -> Vec<&str> {
            listed(&sorted, shown)
                .into_iter()
                .map(|invoice| invoice.number.as_str())
                .collect()
        };
        assert_eq!(numbers(3), ["2025-12", "2025-07", "2020-06"]);
        assert_eq!(numbers(1), ["2020-06"]);
        assert_eq!(numbers(9).len(), 5);
    }

    fn invoice(number: &str, due_date: &str, amount_cents: i64, status: &str) -> Invoice {
        Invoice {
            number: number.to_owned(),
            period: String::new(),
            amount_cents,
            due_date: due_date.to_owned(),
            status: status.to_owned(),
            member: None,
            member_birth_date: None,
            lines: Vec::new(),
            payments: Vec::new(),
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
    fn invoices_pushed_before_the_new_fields_still_read() -> Result<(), serde_json::Error> {
        // The demo's invoice of June 2020, as pushed by 0.1.1's billing
        // software.
        let old: Invoice = serde_json::from_str(
            r#"{"number": "2020-06-0042", "period": "Juin 2020", "amount_cents": 4500, "due_date": "2020-07-15", "status": "a-payer", "member": "Léa ARPEGE",
                "lines": [{"label": "Restauration scolaire", "quantity": 16, "unit_cents": 250, "amount_cents": 4000},
                          {"label": "Accueil périscolaire", "quantity": 5, "unit_cents": 100, "amount_cents": 500}]}"#,
        )?;
        assert_eq!(old.member_birth_date, None);
        assert!(old.payments.is_empty());
        assert_eq!(old.lines[0].kind, LineKind::Autre);
        assert_eq!(old.lines[1].member, None);
        let bare: Invoice = serde_json::from_str(
            r#"{"number": "1", "period": "", "amount_cents": 0, "due_date": "2020-01-01", "status": "payee"}"#,
        )?;
        assert!(bare.lines.is_empty() && bare.member.is_none());
        Ok(())
    }

    #[test]
    fn unknown_kinds_and_means_read_as_autre() -> Result<(), serde_json::Error> {
        let invoice: Invoice = serde_json::from_str(
            r#"{"number": "1", "period": "", "amount_cents": 100, "due_date": "2025-01-01", "status": "payee",
                "lines": [{"label": "a", "quantity": 1, "unit_cents": 1, "amount_cents": 1, "kind": "transport"},
                          {"label": "b", "quantity": 1, "unit_cents": 1, "amount_cents": 1, "kind": "garde", "member": "Hugo ARPEGE", "member_birth_date": "2021-05-14"},
                          {"label": "c", "quantity": 1, "unit_cents": 1, "amount_cents": 1, "kind": "penalite"}],
                "payments": [{"date": "2025-02-01", "means": "bitcoin", "amount_cents": 40},
                             {"date": "2025-02-02", "means": "en-ligne", "amount_cents": 30, "reference": "PAYFIP-1"},
                             {"date": "2025-02-03", "amount_cents": 30}]}"#,
        )?;
        let kinds: Vec<LineKind> = invoice.lines.iter().map(|line| line.kind).collect();
        assert_eq!(
            kinds,
            [LineKind::Autre, LineKind::Garde, LineKind::Penalite]
        );
        assert_eq!(invoice.lines[1].member.as_deref(), Some("Hugo ARPEGE"));
        let means: Vec<Means> = invoice
            .payments
            .iter()
            .map(|payment| payment.means)
            .collect();
        assert_eq!(means, [Means::Autre, Means::EnLigne, Means::Autre]);
        assert_eq!(invoice.payments[1].reference.as_deref(), Some("PAYFIP-1"));
        Ok(())
    }

    #[test]
    fn means_are_written_in_kebab_case_and_labelled_in_french() -> Result<(), serde_json::Error> {
        for (means, json, label) in [
            (Means::Carte, "\"carte\"", "Carte bancaire"),
            (Means::Cheque, "\"cheque\"", "Chèque"),
            (Means::Especes, "\"especes\"", "Espèces"),
            (Means::Prelevement, "\"prelevement\"", "Prélèvement"),
            (Means::Virement, "\"virement\"", "Virement"),
            (Means::EnLigne, "\"en-ligne\"", "Paiement en ligne"),
            (Means::Cesu, "\"cesu\"", "CESU"),
            (Means::Autre, "\"autre\"", "Autre"),
        ] {
            assert_eq!(serde_json::to_string(&means)?, json);
            assert_eq!(serde_json::from_str::<Means>(json)?, means);
            assert_eq!(means.label(), label);
        }
        Ok(())
    }

    #[test]
    fn the_regie_defaults_to_the_towns() -> Result<(), serde_json::Error> {
        let config: Config = serde_json::from_str(r#"{"payment_info": "À la régie."}"#)?;
        assert_eq!(config.shown, 5);
        for (town, regie) in [
            ("Villeneuve", "La régie de recettes de Villeneuve"),
            (
                "Ville de Villeneuve",
                "La régie de recettes de la Ville de Villeneuve",
            ),
            ("Saint-Martin", "La régie de recettes de Saint-Martin"),
            ("Le Mans", "La régie de recettes du Mans"),
            ("Les Ulis", "La régie de recettes des Ulis"),
            ("La Rochelle", "La régie de recettes de la Rochelle"),
            ("L'Haÿ-les-Roses", "La régie de recettes de l'Haÿ-les-Roses"),
            ("Orléans", "La régie de recettes d'Orléans"),
            ("Évry", "La régie de recettes d'Évry"),
        ] {
            assert_eq!(config.regie(town), regie);
        }
        let config: Config = serde_json::from_str(
            r#"{"payment_info": "À la régie.", "regie": "La régie des services périscolaires"}"#,
        )?;
        assert_eq!(
            config.regie("Villeneuve"),
            "La régie des services périscolaires"
        );
        Ok(())
    }
}
