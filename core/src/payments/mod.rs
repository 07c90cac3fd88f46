//! Online payment of what a resident owes (invoices first): a module shows
//! an amount as `payable`; the resident pays it with the town's provider
//! (PayFiP); once the provider confirms it, the module learns of it
//! through `handle-event` and the resident gets a receipt.
//!
//! - provider.rs: what Guichet needs of a provider; payfip.rs: PayFiP's
//!   SOAP service, its rules and its answers.
//! - settings.rs: `[payments]` of tenant.toml; admin.rs: the back-office's
//!   settings (which the database owns once saved).
//! - start.rs: a resident starts paying (the amount is the module's, read
//!   again on the server; one payment at a time per debt).
//! - settle.rs: what the provider says, judged against the payment and
//!   applied once (the state machine, in entity.rs).
//! - deliver.rs: the module's event, delivered once in the transaction of
//!   its writes.
//! - reconcile.rs: the periodic round that asks the provider about the
//!   payments left waiting, and delivers the events not yet delivered.
//! - list.rs: the staff's list, its CSV and the data API's feed.
//!
//! The policy, which every path keeps:
//!
//! - **Nothing is believed unasked.** A notification or a return carries
//!   only an id: Guichet asks the provider and checks the amount, the
//!   reference and the contract of its answer against the payment before
//!   changing anything; an answer that does not match is refused and
//!   logged (and kept on the payment's page).
//! - **Nothing counted twice.** Every change of state is a compare-and-set
//!   on the state read before asking (`UPDATE … WHERE state = <read>`): a
//!   return and a notification arriving together, on two instances, make
//!   one change; the others see it done. `paid` is final.
//! - **Nothing lost.** A payment is recorded before the resident leaves for
//!   the provider; the reconciliation asks about every payment left
//!   waiting from 5 minutes to 3 hours old, so a notification that never
//!   came (the server was down, the provider did not send it) is made up
//!   for. The receipt mail is queued in the transaction that records the
//!   payment; the module's event is delivered, retried with backoff, and
//!   marked delivered in the transaction of the module's own writes.
//!
//! Error policy: a provider that does not answer is not an error of the
//! page that asked (the payment stays waiting, the reconciliation asks
//! again); [`StartError`] says in French why a payment cannot start;
//! database errors go up as they are.

mod admin;
mod deliver;
pub mod entity;
mod list;
pub mod payfip;
pub mod personal_data;
pub mod provider;
mod reconcile;
mod settings;
mod settle;
mod start;

use sea_orm::{ColumnTrait as _, DatabaseConnection, DbErr, QueryFilter as _, QueryOrder as _};

pub use admin::{SettingsError, SettingsInput};
pub use deliver::Delivery;
pub use entity::{AnswerSource, PaymentState, ProviderKind, Saisie};
pub use list::{ApiPayment, ExportError, PaymentFilter, PaymentPage, PaymentsCursor};
pub use payfip::PayFiP;
pub use provider::{Contract, PaymentProvider, ProviderError};
pub use reconcile::{ReconcileReport, Reconciler};
pub use settings::{PaymentSection, PaymentSettings};
pub use settle::{judge, transition};
pub use start::{PayChoice, PayableState, StartError, Started};

use crate::mail::{Mailer, PublicLinks};
use crate::modules::Modules;
use crate::tenancy::Tenant;
use entity::{payment, payment_answer, payment_settings};

/// A payment waiting for its result blocks another for the same debt
/// this long; PayFiP's answer "not yet known" counts as waiting as long.
pub const WAITING_FOR: chrono::Duration = chrono::Duration::minutes(20);

/// The payments service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Payments {
    db: DatabaseConnection,
    modules: Modules,
    mailer: Mailer,
    links: PublicLinks,
    payfip: PayFiP,
}

impl Payments {
    /// `payfip_url`: PayFiP's address, or a server in its shape.
    pub fn new(
        db: DatabaseConnection,
        modules: Modules,
        mailer: Mailer,
        links: PublicLinks,
        payfip_url: &str,
    ) -> Result<Self, String> {
        Ok(Self {
            payfip: PayFiP::new(payfip_url)?,
            db,
            modules,
            mailer,
            links,
        })
    }

    /// The provider of a payment.
    fn provider(&self, kind: ProviderKind) -> &impl PaymentProvider {
        match kind {
            ProviderKind::PayFiP => &self.payfip,
        }
    }

    /// The town's settings: the back-office's when it saved some, else
    /// `[payments]` of its tenant.toml.
    pub async fn settings(&self, tenant: &Tenant) -> Result<PaymentSettings, DbErr> {
        let saved = tenant
            .scope()
            .select::<payment_settings::Entity>()
            .one(&self.db)
            .await?;
        Ok(match saved {
            Some(row) => PaymentSettings {
                enabled: row.enabled,
                provider: ProviderKind::PayFiP,
                numcli: row.numcli,
                saisie: row.saisie,
                updated_by: row.updated_by,
                from_back_office: true,
            },
            None => settings::declared(tenant),
        })
    }

    /// A payment of the town.
    pub async fn find(&self, tenant: &Tenant, id: i32) -> Result<Option<payment::Model>, DbErr> {
        tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::Id.eq(id))
            .one(&self.db)
            .await
    }

    /// A payment of the town made by this resident.
    pub async fn find_for(
        &self,
        tenant: &Tenant,
        account_id: i32,
        id: i32,
    ) -> Result<Option<payment::Model>, DbErr> {
        Ok(self
            .find(tenant, id)
            .await?
            .filter(|payment| payment.account_id == Some(account_id)))
    }

    /// What the provider answered about a payment, oldest first.
    pub async fn answers(
        &self,
        tenant: &Tenant,
        payment_id: i32,
    ) -> Result<Vec<payment_answer::Model>, DbErr> {
        tenant
            .scope()
            .select::<payment_answer::Entity>()
            .filter(payment_answer::Column::PaymentId.eq(payment_id))
            .order_by_asc(payment_answer::Column::Id)
            .all(&self.db)
            .await
    }
}
