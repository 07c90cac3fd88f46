//! What Guichet needs of a payment provider: create a payment and send the
//! resident to it, then ask what became of it. PayFiP is the first
//! (payfip.rs); another provider implements [`PaymentProvider`] and gets
//! its [`ProviderKind`](super::ProviderKind).
//!
//! A provider's answers are facts as it states them; what they mean for a
//! payment (how long "not yet known" is waiting, whether an amount that
//! does not match is believed) is decided in settle.rs, the same for every
//! provider.

use chrono::{DateTime, Utc};

use super::entity::Saisie;

/// A town's contract with the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// PayFiP's client number (6 digits).
    pub numcli: String,
    pub saisie: Saisie,
}

/// What to ask the provider to collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The debt's reference (letters and digits, at most 30).
    pub reference: String,
    /// What it is for, as the provider shows it.
    pub object: String,
    pub amount_cents: i64,
    /// Where the provider sends its receipt.
    pub email: String,
    /// The budget year.
    pub year: i32,
    /// Where the provider notifies the result (server to server).
    pub notify_url: String,
    /// Where it sends the resident's browser back.
    pub return_url: String,
}

/// A payment the provider created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The provider's operation id.
    pub provider_id: String,
    /// Where to send the resident to pay.
    pub redirect_url: String,
}

/// How the provider says it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    PaidByCard,
    PaidByDirectDebit,
    CardRefused,
    DirectDebitRefused,
    Cancelled,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::PaidByCard => "payé par carte",
            Self::PaidByDirectDebit => "payé par prélèvement",
            Self::CardRefused => "carte refusée",
            Self::DirectDebitRefused => "prélèvement refusé",
            Self::Cancelled => "annulé",
        }
    }
}

/// The provider's account of a payment that has a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub outcome: Outcome,
    /// The result code as the provider wrote it (PayFiP's `resultrans`).
    pub code: String,
    /// The bank's authorization number, for paid ones.
    pub authorization: Option<String>,
    /// When it happened, as the provider says.
    pub at: Option<DateTime<Utc>>,
    /// What the provider says was paid, and for which debt and contract:
    /// checked against the payment before anything is believed.
    pub amount_cents: Option<i64>,
    pub reference: String,
    pub numcli: String,
    pub provider_id: String,
}

/// What the provider says of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Settled(Settlement),
    /// No result yet (PayFiP's P5).
    NotYetKnown,
    /// The provider does not know the operation (PayFiP's P1: never
    /// created, or purged).
    Unknown,
}

/// What a contract check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractInfo {
    /// The creditor's name as the provider knows it.
    pub label: String,
}

/// Why the provider gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request (a parameter, the contract).
    #[error("the provider refused: {code} — {label}")]
    Refused { code: String, label: String },
    /// It could not be reached, or said it cannot answer now.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// It answered something that is not its protocol.
    #[error("the provider's answer cannot be read: {0}")]
    Protocol(String),
}

/// A payment provider.
pub trait PaymentProvider: Send + Sync {
    /// Creates a payment; the resident is then sent to
    /// [`Created::redirect_url`].
    fn create(
        &self,
        contract: &Contract,
        order: &Order,
    ) -> impl Future<Output = Result<Created, ProviderError>> + Send;

    /// The page where the resident pays an operation (sent back to it
    /// when they click again while it is still payable).
    fn page_url(&self, provider_id: &str) -> String;

    /// What became of a payment.
    fn report(
        &self,
        provider_id: &str,
    ) -> impl Future<Output = Result<Report, ProviderError>> + Send;

    /// Checks a town's contract.
    fn check_contract(
        &self,
        contract: &Contract,
    ) -> impl Future<Output = Result<ContractInfo, ProviderError>> + Send;
}
