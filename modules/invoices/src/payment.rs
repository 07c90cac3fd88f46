//! Paying invoices online (interface 0.2.0): which invoices the resident
//! may pay, and how (the `payable` blocks of the views), and what a payment
//! the provider confirmed (`payment-confirmed`) writes.
//!
//! The module stays the owner of its invoices: a confirmed payment is
//! appended to the invoice's `payments`, as the billing software writes
//! them, with means `en-ligne`, and the invoice turns `payee` once paid in
//! full. The host delivers a payment once, and again only when a delivery
//! failed: recording one is idempotent all the same, by the provider's
//! transaction number.

use std::collections::BTreeMap;

use guichet_module_sdk::{ModuleError, Payable, Payment as Confirmed};
use serde::{Deserialize, Serialize};

use crate::model::{Invoice, Means, Payment};

/// The longest reference a payable may have (PayFiP's `refdet`).
pub const MAX_REFERENCE: usize = 30;
/// Where the billing software pushes the invoices (`facture:<number>`).
pub const INVOICE_PREFIX: &str = "facture:";
/// Where a payment no invoice answers to is kept
/// (`paiement:<provider>-<transaction>`).
pub const UNMATCHED_PREFIX: &str = "paiement:";
/// The resident-scope key every payment of the resident locks before
/// reading the invoices (it holds nothing): two payments of one invoice
/// confirmed at once are both recorded, one after the other.
pub const LOCK: &str = "paiements";

/// An invoice's reference for the payment provider: its number with every
/// character that is not an ASCII letter or digit removed ("2025-03-0043"
/// gives "2025030043"). `None` when nothing is left or more than 30
/// characters are: such an invoice is not paid online.
pub fn reference(number: &str) -> Option<String> {
    let reference: String = number.chars().filter(char::is_ascii_alphanumeric).collect();
    (!reference.is_empty() && reference.len() <= MAX_REFERENCE).then_some(reference)
}

/// The references of a resident's invoices that may be paid online: an
/// invoice's [`reference`], unless another invoice of the resident has the
/// same. Letters are compared without their case, in case a provider gives
/// the reference back in capitals: the reference a payment carries then
/// still names one invoice only.
#[derive(Debug, Clone, Default)]
pub struct References {
    /// How many of the invoices have each reference, in lower case.
    counts: BTreeMap<String, usize>,
}

impl References {
    pub fn of<'a>(invoices: impl IntoIterator<Item = &'a Invoice>) -> Self {
        let mut counts = BTreeMap::new();
        for invoice in invoices {
            if let Some(reference) = reference(&invoice.number) {
                *counts.entry(reference.to_ascii_lowercase()).or_insert(0) += 1;
            }
        }
        Self { counts }
    }

    /// The invoice's reference, when it is one of the invoices this was
    /// built of and no other has the same.
    pub fn get(&self, invoice: &Invoice) -> Option<String> {
        let reference = reference(&invoice.number)?;
        (self.counts.get(&reference.to_ascii_lowercase()) == Some(&1)).then_some(reference)
    }
}

/// What is left to pay of an invoice: its amount less its payments (0 or
/// less when paid in full).
pub fn remaining(invoice: &Invoice) -> i64 {
    invoice.amount_cents.saturating_sub(paid(invoice))
}

fn paid(invoice: &Invoice) -> i64 {
    invoice
        .payments
        .iter()
        .map(|payment| payment.amount_cents)
        .fold(0, i64::saturating_add)
}

/// The `payable` block of an invoice: when it is due, has a reference of
/// its own (`references`, built of all the resident's invoices) and
/// something is left to pay, which is the amount. "Facture 2025-03-0043 —
/// Mars 2025".
pub fn payable(invoice: &Invoice, references: &References) -> Option<Payable> {
    if !invoice.is_due() {
        return None;
    }
    let amount = remaining(invoice);
    if amount <= 0 {
        return None;
    }
    let reference = references.get(invoice)?;
    let period = invoice.period.trim();
    let label = if period.is_empty() {
        format!("Facture {}", invoice.number)
    } else {
        format!("Facture {} — {period}", invoice.number)
    };
    Some(Payable {
        reference,
        label,
        amount,
    })
}

/// A confirmed payment no invoice answers to (the billing software removed
/// or renumbered it meanwhile), kept under
/// `paiement:<provider>-<transaction>` for the town to settle by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnmatchedPayment {
    /// The reference paid (an invoice's, see [`reference`]).
    pub reference: String,
    pub amount_cents: i64,
    /// ISO date, in the town's time zone.
    pub date: String,
    /// "HH:MM".
    pub time: String,
    /// E.g. "PayFiP".
    pub provider: String,
    /// The provider's transaction number.
    pub transaction: String,
    /// The resident who paid.
    pub resident: String,
}

/// What a confirmed payment writes in the resident's storage.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentWrite {
    /// The payment is already recorded (a delivery again): nothing.
    Nothing,
    /// The invoice stored under `key`, the payment appended (and `payee`
    /// when `paid` in full), as `value`.
    Invoice {
        key: String,
        value: String,
        paid: bool,
    },
    /// No invoice has the reference: the payment, as an
    /// [`UnmatchedPayment`] under `key`.
    Unmatched { key: String, value: String },
}

/// The reference a payment is recorded with: "PayFiP 7f3e…".
pub fn payment_reference(payment: &Confirmed) -> String {
    format!("{} {}", payment.provider, payment.transaction)
}

/// What `payment` writes, given the resident's stored invoices as (key,
/// JSON) pairs (every `facture:` entry).
///
/// The invoice is rewritten from its stored JSON, not from [`Invoice`]:
/// the fields this module does not know, and a `kind` or `means` it reads
/// as `autre`, stay as the billing software pushed them. An entry that is
/// not an invoice is skipped rather than failing the payment: the host
/// would deliver it again and again, and it would fail as often.
pub fn apply_payment(
    stored: &[(String, String)],
    payment: &Confirmed,
) -> Result<PaymentWrite, ModuleError> {
    let invoices: Vec<(&str, serde_json::Value, Invoice)> = stored
        .iter()
        .filter_map(|(key, text)| {
            let json: serde_json::Value = serde_json::from_str(text).ok()?;
            let invoice = Invoice::deserialize(&json).ok()?;
            Some((key.as_str(), json, invoice))
        })
        .collect();
    let recorded_as = payment_reference(payment);
    // On any invoice, not only the one the reference names now: the
    // billing software may have renumbered it since the first delivery.
    let recorded = invoices.iter().any(|(_, _, invoice)| {
        invoice
            .payments
            .iter()
            .any(|paid| paid.reference.as_deref() == Some(recorded_as.as_str()))
    });
    if recorded {
        return Ok(PaymentWrite::Nothing);
    }
    let references = References::of(invoices.iter().map(|(_, _, invoice)| invoice));
    let paid_invoice = invoices.into_iter().find(|(_, _, invoice)| {
        references
            .get(invoice)
            .is_some_and(|reference| reference.eq_ignore_ascii_case(&payment.reference))
    });
    let Some((key, mut json, mut invoice)) = paid_invoice else {
        let unmatched = UnmatchedPayment {
            reference: payment.reference.clone(),
            amount_cents: payment.amount,
            date: payment.paid_at.date.clone(),
            time: payment.paid_at.time.clone(),
            provider: payment.provider.clone(),
            transaction: payment.transaction.clone(),
            resident: payment.resident.clone(),
        };
        return Ok(PaymentWrite::Unmatched {
            key: format!(
                "{UNMATCHED_PREFIX}{}-{}",
                payment.provider, payment.transaction
            ),
            value: encode(&unmatched)?,
        });
    };
    let online = Payment {
        date: payment.paid_at.date.clone(),
        means: Means::EnLigne,
        amount_cents: payment.amount,
        reference: Some(recorded_as),
    };
    let encoded = serde_json::to_value(&online).map_err(failed)?;
    let Some(fields) = json.as_object_mut() else {
        // It decoded as an invoice, so it is an object.
        return Err(ModuleError::Failed(format!(
            "stored `{key}` is not an object"
        )));
    };
    match fields.get_mut("payments") {
        Some(serde_json::Value::Array(payments)) => payments.push(encoded),
        // None yet: the field is optional.
        _ => {
            fields.insert(
                "payments".to_owned(),
                serde_json::Value::Array(vec![encoded]),
            );
        }
    }
    invoice.payments.push(online);
    let paid = remaining(&invoice) <= 0;
    if paid {
        fields.insert("status".to_owned(), "payee".into());
    }
    Ok(PaymentWrite::Invoice {
        key: key.to_owned(),
        value: encode(&json)?,
        paid,
    })
}

fn encode<T: Serialize>(value: &T) -> Result<String, ModuleError> {
    serde_json::to_string(value).map_err(failed)
}

fn failed(error: serde_json::Error) -> ModuleError {
    ModuleError::Failed(format!("cannot encode a payment: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use guichet_module_sdk::DateTime;

    type Test = Result<(), Box<dyn std::error::Error>>;

    fn invoice(number: &str, amount_cents: i64, status: &str, paid: &[i64]) -> Invoice {
        Invoice {
            number: number.to_owned(),
            period: "Mars 2025".to_owned(),
            amount_cents,
            due_date: "2025-04-15".to_owned(),
            status: status.to_owned(),
            member: None,
            member_birth_date: None,
            lines: Vec::new(),
            payments: paid
                .iter()
                .map(|amount_cents| Payment {
                    date: "2025-04-01".to_owned(),
                    means: Means::Cheque,
                    amount_cents: *amount_cents,
                    reference: None,
                })
                .collect(),
        }
    }

    fn confirmed(reference: &str, amount: i64, transaction: &str) -> Confirmed {
        Confirmed {
            reference: reference.to_owned(),
            amount,
            paid_at: DateTime {
                date: "2025-04-12".to_owned(),
                time: "14:32".to_owned(),
            },
            provider: "PayFiP".to_owned(),
            transaction: transaction.to_owned(),
            resident: "michel.arpege".to_owned(),
        }
    }

    /// The storage's `facture:` entries, as the billing software pushed
    /// them.
    fn stored(invoices: &[&str]) -> Vec<(String, String)> {
        invoices
            .iter()
            .map(|json| {
                let number = serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .and_then(|value| value["number"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                (format!("facture:{number}"), (*json).to_owned())
            })
            .collect()
    }

    const MARCH: &str = r#"{"number": "2025-03-0043", "period": "Mars 2025", "amount_cents": 9120, "due_date": "2025-04-15", "status": "a-payer", "portail": {"lot": 7},
        "lines": [{"label": "Transport scolaire", "quantity": 1, "unit_cents": 9120, "amount_cents": 9120, "kind": "transport"}]}"#;
    const APRIL: &str = r#"{"number": "2025-04-0043", "period": "Avril 2025", "amount_cents": 5000, "due_date": "2025-05-15", "status": "en-retard",
        "payments": [{"date": "2025-05-02", "means": "cheque", "amount_cents": 2000, "reference": "1234567"}]}"#;

    /// The invoice a write puts, read back.
    fn written(
        write: &PaymentWrite,
    ) -> Result<(String, serde_json::Value, bool), serde_json::Error> {
        match write {
            PaymentWrite::Invoice { key, value, paid } => {
                Ok((key.clone(), serde_json::from_str(value)?, *paid))
            }
            other => panic!("not an invoice: {other:?}"),
        }
    }

    #[test]
    fn a_reference_is_the_number_s_letters_and_digits() {
        assert_eq!(reference("2025-03-0043").as_deref(), Some("2025030043"));
        assert_eq!(
            reference("FAC 2025/03-n°43").as_deref(),
            Some("FAC202503n43")
        );
        assert_eq!(reference("Éte-1").as_deref(), Some("te1"), "ASCII only");
        assert_eq!(reference("--/--"), None, "nothing left");
        assert_eq!(reference(""), None);
        let thirty = "1234567890".repeat(3);
        assert_eq!(reference(&format!("{thirty}-")), Some(thirty.clone()));
        assert_eq!(reference(&format!("{thirty}1")), None, "31 characters");
    }

    #[test]
    fn invoices_with_the_same_reference_are_not_paid_online() {
        let invoices = [
            invoice("2025-03-0043", 100, "a-payer", &[]),
            invoice("2025/03/0043", 100, "a-payer", &[]),
            invoice("A-1", 100, "a-payer", &[]),
            invoice("a1", 100, "payee", &[]),
            invoice("2025-04-0043", 100, "a-payer", &[]),
            invoice("---", 100, "a-payer", &[]),
        ];
        let references = References::of(&invoices);
        let offered: Vec<Option<String>> = invoices
            .iter()
            .map(|invoice| references.get(invoice))
            .collect();
        assert_eq!(
            offered,
            [None, None, None, None, Some("2025040043".to_owned()), None],
            "the same digits, the same letters in another case, no reference"
        );
        // Another resident's invoices, or none: no reference is offered.
        assert_eq!(References::default().get(&invoices[4]), None);
    }

    #[test]
    fn what_is_payable_is_what_is_left_of_a_due_invoice() {
        let invoices = [
            invoice("2025-03-0043", 9120, "a-payer", &[]),
            invoice("2025-04-0043", 5000, "en-retard", &[2000, 1000]),
            invoice("2025-05-0043", 5000, "a-payer", &[5000]),
            invoice("2025-06-0043", 5000, "payee", &[]),
            invoice("2025-07-0043", 0, "a-payer", &[]),
        ];
        let references = References::of(&invoices);
        let payables: Vec<Option<Payable>> = invoices
            .iter()
            .map(|invoice| payable(invoice, &references))
            .collect();
        assert_eq!(
            payables[0],
            Some(Payable {
                reference: "2025030043".to_owned(),
                label: "Facture 2025-03-0043 — Mars 2025".to_owned(),
                amount: 9120,
            })
        );
        assert_eq!(
            payables[1].as_ref().map(|payable| payable.amount),
            Some(2000)
        );
        assert_eq!(
            payables[2..],
            [None, None, None],
            "paid in full though still due, paid, nothing to pay"
        );
        assert_eq!(remaining(&invoices[2]), 0);
    }

    #[test]
    fn a_first_delivery_appends_the_payment_and_marks_the_invoice_paid() -> Test {
        let write = apply_payment(
            &stored(&[MARCH, APRIL]),
            &confirmed("2025030043", 9120, "7f3e21"),
        )?;
        let (key, invoice, paid) = written(&write)?;
        assert_eq!(key, "facture:2025-03-0043");
        assert!(paid);
        assert_eq!(invoice["status"], "payee");
        assert_eq!(
            invoice["payments"],
            serde_json::json!([{"date": "2025-04-12", "means": "en-ligne", "amount_cents": 9120, "reference": "PayFiP 7f3e21"}])
        );
        // What the billing software pushed stays as it was.
        assert_eq!(invoice["portail"], serde_json::json!({"lot": 7}));
        assert_eq!(invoice["lines"][0]["kind"], "transport");
        // And it reads as an invoice, paid online.
        let read: Invoice = serde_json::from_value(invoice)?;
        assert!(!read.is_due());
        assert_eq!(read.payments[0].means, Means::EnLigne);
        assert_eq!(read.payments[0].means.label(), "Paiement en ligne");
        Ok(())
    }

    #[test]
    fn a_second_delivery_writes_nothing() -> Test {
        let payment = confirmed("2025030043", 9120, "7f3e21");
        let PaymentWrite::Invoice { key, value, .. } =
            apply_payment(&stored(&[MARCH, APRIL]), &payment)?
        else {
            panic!("the first delivery writes the invoice");
        };
        let after = vec![(key, value), stored(&[APRIL]).remove(0)];
        assert_eq!(apply_payment(&after, &payment)?, PaymentWrite::Nothing);
        // Another transaction of the same invoice is another payment.
        assert!(matches!(
            apply_payment(&after, &confirmed("2025030043", 100, "8a01"))?,
            PaymentWrite::Invoice { .. }
        ));
        Ok(())
    }

    #[test]
    fn a_partial_payment_leaves_the_invoice_due() -> Test {
        let write = apply_payment(
            &stored(&[MARCH, APRIL]),
            &confirmed("2025040043", 2000, "c9"),
        )?;
        let (key, invoice, paid) = written(&write)?;
        assert_eq!(key, "facture:2025-04-0043");
        assert!(!paid);
        assert_eq!(invoice["status"], "en-retard");
        let read: Invoice = serde_json::from_value(invoice)?;
        assert_eq!(read.payments.len(), 2);
        assert_eq!(remaining(&read), 1000);
        let references = References::of([&read]);
        assert_eq!(
            payable(&read, &references).map(|payable| payable.amount),
            Some(1000)
        );
        // The rest, paid: the invoice is paid.
        let write = apply_payment(
            &[(
                "facture:2025-04-0043".to_owned(),
                serde_json::to_string(&read)?,
            )],
            &confirmed("2025040043", 1000, "d0"),
        )?;
        let (_, invoice, paid) = written(&write)?;
        assert!(paid);
        assert_eq!(invoice["status"], "payee");
        Ok(())
    }

    #[test]
    fn a_payment_without_its_invoice_is_kept_aside() -> Test {
        let payment = confirmed("2025020043", 4500, "7f3e21");
        let unmatched = UnmatchedPayment {
            reference: "2025020043".to_owned(),
            amount_cents: 4500,
            date: "2025-04-12".to_owned(),
            time: "14:32".to_owned(),
            provider: "PayFiP".to_owned(),
            transaction: "7f3e21".to_owned(),
            resident: "michel.arpege".to_owned(),
        };
        for invoices in [stored(&[MARCH, APRIL]), Vec::new()] {
            let PaymentWrite::Unmatched { key, value } = apply_payment(&invoices, &payment)? else {
                panic!("no invoice has the reference");
            };
            assert_eq!(key, "paiement:PayFiP-7f3e21");
            assert_eq!(serde_json::from_str::<UnmatchedPayment>(&value)?, unmatched);
        }
        // A reference two invoices have names neither.
        let twins = stored(&[MARCH, &MARCH.replace("2025-03-0043", "2025/03/0043")]);
        assert!(matches!(
            apply_payment(&twins, &confirmed("2025030043", 9120, "e1"))?,
            PaymentWrite::Unmatched { .. }
        ));
        Ok(())
    }

    #[test]
    fn an_entry_that_is_not_an_invoice_does_not_stop_a_payment() -> Test {
        let mut invoices = stored(&[MARCH]);
        invoices.push(("facture:abime".to_owned(), "{\"number\": 3".to_owned()));
        invoices.push(("facture:vide".to_owned(), "{}".to_owned()));
        let (key, _, paid) = written(&apply_payment(
            &invoices,
            &confirmed("2025030043", 9120, "7f3e21"),
        )?)?;
        assert_eq!((key.as_str(), paid), ("facture:2025-03-0043", true));
        Ok(())
    }

    #[test]
    fn a_provider_s_capitals_still_name_the_invoice() -> Test {
        let lower = MARCH.replace("2025-03-0043", "fa-2025-03");
        let write = apply_payment(&stored(&[&lower]), &confirmed("FA202503", 9120, "f1"))?;
        assert_eq!(written(&write)?.0, "facture:fa-2025-03");
        Ok(())
    }
}
