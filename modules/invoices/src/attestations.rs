//! The two documents the module offers, as blocks the host lays out and
//! renders as PDF (letterhead, the resident's name and address, title,
//! number, date of issue, signatory and verification code are the host's):
//!
//! - [`PAYMENT`], "Attestation de paiement": what the resident paid in a
//!   year, payment by payment;
//! - [`TAX`], "Attestation fiscale — frais de garde des jeunes enfants":
//!   the childcare fees paid in a year for the children under six on 1
//!   January of that year (article 200 quater B of the code général des
//!   impôts, as Noethysweb applies it): `garde` lines only, never meals,
//!   penalties or anything else, counted when paid, in proportion to the
//!   payment.

use std::collections::{BTreeMap, BTreeSet};

use guichet_module_sdk::{Choice, Document, Field, FieldKind, ModuleError, Value};

use crate::model::{Invoice, Line, LineKind};
use crate::words;

/// "Attestation de paiement".
pub const PAYMENT: &str = "attestation-paiement";
pub const PAYMENT_TITLE: &str = "Attestation de paiement";
/// "Attestation fiscale — frais de garde des jeunes enfants".
pub const TAX: &str = "attestation-fiscale";
pub const TAX_TITLE: &str = "Attestation fiscale — frais de garde des jeunes enfants";
/// The parameter of both: a year ("2025").
pub const YEAR: &str = "annee";

const PAYMENT_YEAR_LABEL: &str = "Année des règlements";
const TAX_YEAR_LABEL: &str = "Année des revenus déclarés";
const TAX_YEAR_HINT: &str =
    "L'année où les frais ont été réglés : celle des revenus, déclarés l'année suivante.";
const PAYMENT_YEAR_HINT: &str = "L'année où les factures ont été réglées.";

/// Who attests, and for whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Parties {
    /// E.g. "La régie de recettes de Villeneuve".
    pub regie: String,
    /// The resident as greeted, e.g. "Monsieur ARPEGE".
    pub resident: String,
}

/// A member of the resident's household, as the host gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Relative {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<String>,
}

/// The parameters of document `id`: the year, a select of the years the
/// resident may choose, newest first — the years of their payments, and
/// for the tax attestation the year before `today`'s too, chosen by
/// default (the payment attestation's default: the latest year paid in). The manifest declares them with no choice and no default (it
/// is built once, at publication, without a resident or a date). Empty for
/// an unknown document.
pub fn params(id: &str, invoices: &[Invoice], today: Option<&str>) -> Vec<Field> {
    let (label, years, default) = match id {
        PAYMENT => {
            let years = payment_years(invoices);
            // The latest year paid in, the one most often asked for.
            let latest = years.first().copied();
            (PAYMENT_YEAR_LABEL, years, latest)
        }
        TAX => {
            let today = today.unwrap_or_default();
            let previous = year_of(today).map(|year| year - 1);
            (TAX_YEAR_LABEL, tax_years(invoices, today), previous)
        }
        _ => return Vec::new(),
    };
    let choices = years
        .iter()
        .map(|year| Choice {
            value: year.to_string(),
            label: year.to_string(),
        })
        .collect();
    let mut field = Field::new(YEAR, label, FieldKind::Select(choices)).required();
    field = match id {
        TAX => field.hint(TAX_YEAR_HINT),
        _ => field.hint(PAYMENT_YEAR_HINT),
    };
    if let Some(year) = default {
        field = field.value(&year.to_string());
    }
    vec![field]
}

/// The document `id` for the resident, from the parameters they picked.
/// `household` is asked only when a birth date is missing from the
/// invoices.
pub fn document(
    id: &str,
    parties: &Parties,
    invoices: &[Invoice],
    household: impl FnOnce() -> Result<Vec<Relative>, ModuleError>,
    today: &str,
    params: &[(String, String)],
) -> Result<Document, ModuleError> {
    match id {
        PAYMENT => {
            let year = chosen_year(params, &payment_years(invoices))?;
            payment_attestation(parties, invoices, year)
        }
        TAX => {
            let year = chosen_year(params, &tax_years(invoices, today))?;
            let household = if needs_household(invoices, year) {
                household()?
            } else {
                Vec::new()
            };
            tax_attestation(parties, invoices, &household, year)
        }
        other => Err(ModuleError::NotFound(other.to_owned())),
    }
}

/// The year of an ISO date ("2025-04-10"), if it is one.
pub fn year_of(date: &str) -> Option<i32> {
    let bytes = date.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range.clone())
            .filter(|part| part.iter().all(u8::is_ascii_digit))
            .and_then(|_| date.get(range))
            .and_then(|part| part.parse::<u32>().ok())
    };
    let well_formed = bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-';
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let year = digits(0..4)?;
    (well_formed && (1..=12).contains(&month) && (1..=31).contains(&day)).then_some(year as i32)
}

/// The years of the resident's payments, newest first.
pub fn payment_years(invoices: &[Invoice]) -> Vec<i32> {
    let years: BTreeSet<i32> = invoices
        .iter()
        .flat_map(|invoice| &invoice.payments)
        .filter_map(|payment| year_of(&payment.date))
        .collect();
    years.into_iter().rev().collect()
}

/// The years of the tax attestation: those of the payments and the
/// previous year (the one being declared), newest first.
pub fn tax_years(invoices: &[Invoice], today: &str) -> Vec<i32> {
    let mut years: BTreeSet<i32> = payment_years(invoices).into_iter().collect();
    if let Some(year) = year_of(today) {
        years.insert(year - 1);
    }
    years.into_iter().rev().collect()
}

/// The `annee` parameter, a year among `choices`.
fn chosen_year(params: &[(String, String)], choices: &[i32]) -> Result<i32, ModuleError> {
    if choices.is_empty() {
        return Err(ModuleError::NotFound(
            "Aucun règlement n'est enregistré sur vos factures : il n'y a pas d'attestation à établir."
                .to_owned(),
        ));
    }
    let value = params
        .iter()
        .find(|(name, _)| name == YEAR)
        .map_or("", |(_, value)| value.trim());
    let year = (value.len() == 4 && value.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| value.parse::<i32>().ok())
        .flatten()
        .filter(|year| choices.contains(year));
    year.ok_or_else(|| {
        let listed: Vec<String> = choices.iter().map(i32::to_string).collect();
        ModuleError::NotFound(format!(
            "Choisissez une année dans la liste : {}.",
            listed.join(", ")
        ))
    })
}

/// A payment of the attestation de paiement.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRow {
    pub invoice: String,
    pub period: String,
    pub date: String,
    pub means: &'static str,
    pub amount_cents: i64,
}

/// The payments dated in `year`, by date, then invoice number.
pub fn payments_of(invoices: &[Invoice], year: i32) -> Vec<PaymentRow> {
    let mut rows: Vec<PaymentRow> = invoices
        .iter()
        .flat_map(|invoice| {
            invoice
                .payments
                .iter()
                .filter(move |payment| year_of(&payment.date) == Some(year))
                .map(move |payment| PaymentRow {
                    invoice: invoice.number.clone(),
                    period: invoice.period.clone(),
                    date: payment.date.clone(),
                    means: payment.means.label(),
                    amount_cents: payment.amount_cents,
                })
        })
        .collect();
    rows.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.invoice.cmp(&b.invoice)));
    rows
}

/// "Attestation de paiement" for `year`.
pub fn payment_attestation(
    parties: &Parties,
    invoices: &[Invoice],
    year: i32,
) -> Result<Document, ModuleError> {
    let payments = payments_of(invoices, year);
    if payments.is_empty() {
        return Err(ModuleError::NotFound(format!(
            "Aucun règlement n'est enregistré en {year} : il n'y a pas d'attestation de paiement à établir."
        )));
    }
    let total: i64 = payments.iter().map(|payment| payment.amount_cents).sum();
    let rows = payments
        .into_iter()
        .map(|payment| {
            vec![
                Value::text(payment.invoice),
                Value::text(payment.period),
                Value::Date(payment.date),
                Value::text(payment.means),
                Value::Amount(payment.amount_cents),
            ]
        })
        .collect();
    Ok(Document::new(PAYMENT_TITLE)
        .paragraph(format!(
            "{} certifie avoir reçu de {} la somme de {} ({}) au titre des factures ci-dessous, réglées en {year}.",
            parties.regie,
            parties.resident,
            words::amount(total),
            words::amount_in_words(total),
        ))
        .table(
            &format!("Règlements de {year}"),
            &[
                "Facture",
                "Objet",
                "Date du règlement",
                "Mode de règlement",
                "Montant",
            ],
            rows,
        )
        .key_values(vec![("Total réglé", Value::Amount(total))]))
}

/// What a child's care cost, paid in the year.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildFees {
    /// As the invoices name the child, e.g. "Hugo ARPEGE".
    pub name: String,
    /// ISO.
    pub birth_date: String,
    pub amount_cents: i64,
}

/// Names compared case- and accent-insensitively, hyphens as spaces.
pub fn name_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for character in name.chars().flat_map(char::to_lowercase) {
        match character {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => key.push('a'),
            'ç' => key.push('c'),
            'è' | 'é' | 'ê' | 'ë' => key.push('e'),
            'ì' | 'í' | 'î' | 'ï' => key.push('i'),
            'ñ' => key.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => key.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => key.push('u'),
            'ý' | 'ÿ' => key.push('y'),
            'æ' => key.push_str("ae"),
            'œ' => key.push_str("oe"),
            '-' | '\'' | '’' => key.push(' '),
            character => key.push(character),
        }
    }
    key.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The child a line concerns (its own member, else the invoice's), and the
/// birth date the invoice gives for that child, if any.
fn line_child<'a>(invoice: &'a Invoice, line: &'a Line) -> Option<(&'a str, Option<&'a str>)> {
    let filled = |text: &'a Option<String>| text.as_deref().filter(|text| !text.trim().is_empty());
    let invoice_member = filled(&invoice.member);
    match filled(&line.member) {
        // Another member than the invoice's: only the line's own date.
        Some(name) if invoice_member.is_none_or(|member| name_key(member) != name_key(name)) => {
            Some((name, filled(&line.member_birth_date)))
        }
        Some(name) => Some((
            name,
            filled(&line.member_birth_date).or(filled(&invoice.member_birth_date)),
        )),
        None => Some((
            invoice_member?,
            filled(&line.member_birth_date).or(filled(&invoice.member_birth_date)),
        )),
    }
    .map(|(name, birth)| (name, birth.filter(|date| year_of(date).is_some())))
}

/// Whether some `garde` line paid in `year` lacks a birth date the
/// household may give.
pub fn needs_household(invoices: &[Invoice], year: i32) -> bool {
    invoices
        .iter()
        .filter(|invoice| {
            invoice
                .payments
                .iter()
                .any(|payment| year_of(&payment.date) == Some(year))
        })
        .flat_map(|invoice| {
            invoice
                .lines
                .iter()
                .filter(|line| line.kind == LineKind::Garde)
                .map(move |line| line_child(invoice, line))
        })
        .any(|child| matches!(child, Some((_, None))))
}

fn household_birth_date<'a>(household: &'a [Relative], name: &str) -> Option<&'a str> {
    let key = name_key(name);
    household
        .iter()
        .filter(|relative| {
            name_key(&format!("{} {}", relative.first_name, relative.last_name)) == key
                || name_key(&format!("{} {}", relative.last_name, relative.first_name)) == key
        })
        .find_map(|relative| {
            relative
                .birth_date
                .as_deref()
                .filter(|date| year_of(date).is_some())
        })
}

/// Under six on 1 January of `year` as the tax administration reads it:
/// born on or after 1 January of `year` − 6 ("enfants nés à compter du
/// 1er janvier 2019" for the income of 2025); a child born during the
/// year counts.
pub fn under_six_on_new_year(birth_date: &str, year: i32) -> bool {
    year_of(birth_date).is_some() && birth_date >= format!("{:04}-01-01", year - 6).as_str()
}

/// `amount × paid / total`, rounded to the nearest cent, halves away from
/// zero (`total` > 0).
pub fn prorated(amount: i64, paid: i64, total: i64) -> i64 {
    let (numerator, denominator) = (i128::from(amount) * i128::from(paid), i128::from(total));
    let rounded = if numerator >= 0 {
        (2 * numerator + denominator) / (2 * denominator)
    } else {
        -((-2 * numerator + denominator) / (2 * denominator))
    };
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

/// The childcare fees paid in `year` per child under six on 1 January of
/// `year`: for each payment dated in the year, the child's `garde` lines of
/// the invoice paid, in proportion to the payment (never more than was
/// paid: discounts lower the lines, an overpayment pays nothing). Children without a
/// known birth date cannot be shown eligible and are left out. Eldest
/// first.
pub fn childcare_fees(invoices: &[Invoice], household: &[Relative], year: i32) -> Vec<ChildFees> {
    let mut children: BTreeMap<String, ChildFees> = BTreeMap::new();
    for invoice in invoices.iter().filter(|invoice| invoice.amount_cents > 0) {
        // The invoice's eligible childcare, per child.
        let mut care: BTreeMap<String, ChildFees> = BTreeMap::new();
        for line in invoice
            .lines
            .iter()
            .filter(|line| line.kind == LineKind::Garde)
        {
            let Some((name, birth)) = line_child(invoice, line) else {
                continue;
            };
            let Some(birth) = birth.or_else(|| household_birth_date(household, name)) else {
                continue;
            };
            if !under_six_on_new_year(birth, year) {
                continue;
            }
            care.entry(name_key(name))
                .or_insert_with(|| ChildFees {
                    name: name.trim().to_owned(),
                    birth_date: birth.to_owned(),
                    amount_cents: 0,
                })
                .amount_cents += line.amount_cents;
        }
        // A discount or an aid (a negative line) lowers every line in
        // proportion: the childcare share of a payment is taken on the sum
        // of the positive lines when it exceeds the invoice's total.
        let positive: i64 = invoice
            .lines
            .iter()
            .map(|line| line.amount_cents.max(0))
            .sum();
        let base = invoice.amount_cents.max(positive);
        // Payments in date order; what exceeds the invoice's total (an
        // overpayment) pays no childcare.
        let mut payments: Vec<_> = invoice.payments.iter().collect();
        payments.sort_by(|a, b| a.date.cmp(&b.date));
        let mut settled: i64 = 0;
        for payment in payments {
            let effective = payment
                .amount_cents
                .min(invoice.amount_cents - settled)
                .max(0);
            settled += payment.amount_cents.max(0);
            if year_of(&payment.date) != Some(year) {
                continue;
            }
            for (key, fees) in &care {
                let paid = prorated(fees.amount_cents, effective, base);
                children
                    .entry(key.clone())
                    .or_insert_with(|| ChildFees {
                        amount_cents: 0,
                        ..fees.clone()
                    })
                    .amount_cents += paid;
            }
        }
    }
    let mut children: Vec<ChildFees> = children
        .into_values()
        .filter(|child| child.amount_cents > 0)
        .collect();
    children.sort_by(|a, b| {
        a.birth_date
            .cmp(&b.birth_date)
            .then_with(|| a.name.cmp(&b.name))
    });
    children
}

/// "Attestation fiscale — frais de garde des jeunes enfants" for `year`.
pub fn tax_attestation(
    parties: &Parties,
    invoices: &[Invoice],
    household: &[Relative],
    year: i32,
) -> Result<Document, ModuleError> {
    let children = childcare_fees(invoices, household, year);
    let total: i64 = children.iter().map(|child| child.amount_cents).sum();
    if total <= 0 {
        return Err(ModuleError::NotFound(format!(
            "Aucun frais de garde d'un enfant de moins de six ans au 1er janvier {year} n'a été réglé en {year} : il n'y a pas d'attestation à établir."
        )));
    }
    let rows = children
        .into_iter()
        .map(|child| {
            vec![
                Value::text(child.name),
                Value::Date(child.birth_date),
                Value::Amount(child.amount_cents),
            ]
        })
        .collect();
    Ok(Document::new(TAX_TITLE)
        .paragraph(format!(
            "{} atteste que {} a réglé en {year}, pour la garde de ses enfants de moins de six ans au 1er janvier {year}, les sommes suivantes (article 200 quater B du code général des impôts). Les frais de repas et les pénalités ne sont pas compris.",
            parties.regie, parties.resident,
        ))
        .table(
            &format!("Frais de garde réglés en {year}"),
            &["Enfant", "Date de naissance", "Montant réglé"],
            rows,
        )
        .key_values(vec![
            ("Total", Value::Amount(total)),
            ("Total en lettres", Value::text(words::amount_in_words(total))),
        ])
        .paragraph("Document établi pour servir et valoir ce que de droit."))
}
