//! Rows of the payments tables (migration 000019) and their closed sets.

use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

/// An attempt to pay, from its creation to its final state.
pub mod payment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        /// The resident who pays; none once the account is deleted.
        pub account_id: Option<i32>,
        /// Their public identifier, as the data API names residents.
        pub resident_identifier: String,
        pub provider: super::ProviderKind,
        pub module_id: String,
        /// The module's `payable.reference` (PayFiP's `refdet`).
        pub reference: String,
        pub label: String,
        pub amount_cents: i64,
        /// The address given to the provider (PayFiP's `mel`).
        pub email: String,
        /// The town's contract when the payment was created.
        pub numcli: String,
        pub saisie: super::Saisie,
        /// The resident's view the payment was made from, to go back to.
        pub return_path: String,
        /// The secret of the address the provider sends the resident back
        /// to (`/paiements/retour/<token>`).
        pub return_token: String,
        /// The provider's operation (PayFiP's `idOp`).
        pub provider_id: Option<String>,
        pub state: super::PaymentState,
        /// The provider's result code (PayFiP's `resultrans`).
        pub result: Option<String>,
        /// The bank's authorization number (PayFiP's `numauto`).
        pub authorization: Option<String>,
        /// When the provider says it was paid.
        pub paid_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// When Guichet learnt its final state.
        pub recorded_at: Option<DateTimeUtc>,
        /// When the reconciliation last asked the provider about it.
        pub asked_at: Option<DateTimeUtc>,
        /// When the module's `handle-event` was committed.
        pub event_delivered_at: Option<DateTimeUtc>,
        /// When the next delivery may be tried (also the lease of a
        /// delivery under way).
        pub event_next_at: Option<DateTimeUtc>,
        pub event_attempts: i32,
        pub event_error: Option<String>,
    }

    crate::tenant_owned_entity!();
}

/// What the provider answered about a payment, and what it changed.
pub mod payment_answer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_answer")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub payment_id: i32,
        pub source: super::AnswerSource,
        /// What Guichet made of it, in French, for the staff.
        pub outcome: String,
        /// The provider's fields or fault, as received (JSON).
        #[sea_orm(column_type = "Text")]
        pub detail: String,
        pub received_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

/// The town's contract as the back-office set it.
pub mod payment_settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "payment_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        pub enabled: bool,
        pub numcli: String,
        pub saisie: super::Saisie,
        pub updated_by: Option<String>,
        pub updated_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

/// The payment providers Guichet speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ProviderKind {
    #[sea_orm(string_value = "payfip")]
    PayFiP,
}

impl ProviderKind {
    /// As residents and staff read it.
    pub fn label(self) -> &'static str {
        match self {
            Self::PayFiP => "PayFiP",
        }
    }
}

/// PayFiP's `saisie`: which of its environments a contract pays in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Default)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(1))")]
pub enum Saisie {
    /// Test: no money moves.
    #[default]
    #[sea_orm(string_value = "T")]
    Test,
    /// Activation: the DGFiP's check of a new contract.
    #[sea_orm(string_value = "X")]
    Activation,
    #[sea_orm(string_value = "W")]
    Production,
}

impl Saisie {
    pub const ALL: [Self; 3] = [Self::Test, Self::Activation, Self::Production];

    /// The letter PayFiP reads.
    pub fn code(self) -> &'static str {
        match self {
            Self::Test => "T",
            Self::Activation => "X",
            Self::Production => "W",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|saisie| saisie.code() == code.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Test => "Test (aucun argent ne circule)",
            Self::Activation => "Activation (vérification du contrat par la DGFiP)",
            Self::Production => "Production",
        }
    }
}

/// Where a payment is.
///
/// ```text
/// created ──▶ waiting ──▶ paid
///    │           ├──────▶ refused ──┐
///    │           ├──────▶ cancelled ├──▶ paid (the provider's later word)
///    └──▶ failed └──────▶ expired ──┘
/// ```
///
/// `paid` is final. `refused`, `cancelled` and `expired` give way to `paid`
/// only: when the provider, asked again, says the money was taken, that
/// is the truth (an early `A` can precede a payment; an expiry is
/// Guichet's reading of a silence). `failed`: the provider refused to
/// create the payment; nothing reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PaymentState {
    #[sea_orm(string_value = "created")]
    Created,
    #[sea_orm(string_value = "waiting")]
    Waiting,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "refused")]
    Refused,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    #[sea_orm(string_value = "expired")]
    Expired,
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl PaymentState {
    pub const ALL: [Self; 7] = [
        Self::Created,
        Self::Waiting,
        Self::Paid,
        Self::Refused,
        Self::Cancelled,
        Self::Expired,
        Self::Failed,
    ];

    /// As stored, and in the staff's filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Waiting => "waiting",
            Self::Paid => "paid",
            Self::Refused => "refused",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// In French, for residents and staff.
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "Créé",
            Self::Waiting => "En attente",
            Self::Paid => "Payé",
            Self::Refused => "Refusé",
            Self::Cancelled => "Annulé",
            Self::Expired => "Expiré",
            Self::Failed => "Échec à la création",
        }
    }

    /// The notice's tone of the state.
    pub fn tone(self) -> &'static str {
        match self {
            Self::Paid => "success",
            Self::Created | Self::Waiting => "info",
            Self::Cancelled | Self::Expired => "warning",
            Self::Refused | Self::Failed => "error",
        }
    }

    /// Whether the provider may still settle it on its own (a
    /// notification, a reconciliation).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Created | Self::Waiting)
    }
}

/// Where an answer of the provider came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AnswerSource {
    /// Creating the payment.
    #[sea_orm(string_value = "creation")]
    Creation,
    /// The resident's browser came back from the provider.
    #[sea_orm(string_value = "return")]
    Return,
    /// The provider's notification.
    #[sea_orm(string_value = "notification")]
    Notification,
    /// The periodic reconciliation.
    #[sea_orm(string_value = "reconciliation")]
    Reconciliation,
    /// A staff member asked the provider from the back-office.
    #[sea_orm(string_value = "staff")]
    Staff,
}

impl AnswerSource {
    pub fn label(self) -> &'static str {
        match self {
            Self::Creation => "Création",
            Self::Return => "Retour de l'usager",
            Self::Notification => "Notification du prestataire",
            Self::Reconciliation => "Rapprochement automatique",
            Self::Staff => "Vérification par un agent",
        }
    }
}
