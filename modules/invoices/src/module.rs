//! The module's exports and its use of the host: the manifest, the
//! resident's invoices (resident storage), the household's birth dates, the
//! payments confirmed online.

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;

use crate::attestations::{self, Parties, Relative};
use crate::model::{Config, Invoice};
use crate::payment::{self, INVOICE_PREFIX, PaymentWrite};
use crate::views::{self, DETAIL, LIST};

fn invoices() -> Result<Vec<Invoice>, ModuleError> {
    Ok(
        storage::list_json::<Invoice>(Scope::Resident, INVOICE_PREFIX)?
            .into_iter()
            .map(|(_, invoice)| invoice)
            .collect(),
    )
}

fn relatives() -> Result<Vec<Relative>, ModuleError> {
    Ok(household()?
        .into_iter()
        .map(|member| Relative {
            first_name: member.first_name,
            last_name: member.last_name,
            birth_date: member.birth_date,
        })
        .collect())
}

struct Invoices;

impl Module for Invoices {
    fn describe() -> Manifest {
        crate::manifest::manifest()
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        let config: Config = config(&context)?;
        match request.view.as_str() {
            LIST if is_tile(&request) => Ok(views::summary(invoices()?)),
            LIST => Ok(views::list(&config, invoices()?)),
            DETAIL => {
                let number = param(&request, "numero").unwrap_or_default();
                let invoices = invoices()?;
                let invoice = invoices
                    .iter()
                    .find(|invoice| invoice.number == number)
                    .ok_or_else(|| ModuleError::NotFound(format!("facture {number}")))?;
                Ok(views::detail(&config, invoice, &invoices))
            }
            // A document's parameters as this resident fills them (the
            // host's convention: the view named after a document gives its
            // form): the years they paid in.
            id @ (attestations::PAYMENT | attestations::TAX) => Ok(View::new(id).form(
                id,
                "Obtenir l'attestation",
                attestations::params(id, &invoices()?, Some(&context.now.date)),
            )),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }

    fn document(
        context: Context,
        id: String,
        params: Vec<(String, String)>,
    ) -> Result<Document, ModuleError> {
        if id != attestations::PAYMENT && id != attestations::TAX {
            return Err(ModuleError::NotFound(id));
        }
        let config: Config = config(&context)?;
        let resident = context
            .resident
            .as_ref()
            .ok_or_else(|| ModuleError::Failed("a document without a resident".to_owned()))?;
        let parties = Parties {
            regie: config.regie(&context.town.name),
            resident: resident.display_name.clone(),
        };
        attestations::document(
            &id,
            &parties,
            &invoices()?,
            relatives,
            &context.now.date,
            &params,
        )
    }

    /// A payment the provider confirmed: recorded on its invoice, or kept
    /// aside under `paiement:` when no invoice has its reference any more.
    /// Fails only when the storage does, so that the host delivers it
    /// again.
    fn handle_event(_: Context, event: Event) -> Result<(), ModuleError> {
        let Event::PaymentConfirmed(confirmed) = event;
        // Before reading: two payments of one invoice confirmed at once
        // (two tabs) are recorded one after the other, neither overwriting
        // the other's.
        storage::lock(Scope::Resident, payment::LOCK)?;
        // Every invoice, not the first page only: the one paid may be
        // anywhere. Read as text: an entry that does not decode must not
        // fail the payment (see `apply_payment`).
        let stored = storage::entries(Scope::Resident, INVOICE_PREFIX)
            .map(|entry| entry.map(|entry| (entry.key, entry.value)))
            .collect::<Result<Vec<_>, _>>()?;
        match payment::apply_payment(&stored, &confirmed)? {
            PaymentWrite::Nothing => Ok(()),
            PaymentWrite::Invoice { key, value, .. } => {
                Ok(storage::put(Scope::Resident, &key, &value)?)
            }
            PaymentWrite::Unmatched { key, value } => {
                log(
                    Level::Warn,
                    &format!(
                        "payment {} {} of {} cents for `{}`: no invoice has this reference, kept under `{key}`",
                        confirmed.provider,
                        confirmed.transaction,
                        confirmed.amount,
                        confirmed.reference
                    ),
                );
                Ok(storage::put(Scope::Resident, &key, &value)?)
            }
        }
    }
}

export!(Invoices);
