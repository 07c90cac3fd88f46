//! Residents' rights over their data (RGPD): see it, take it, delete it;
//! inactive accounts; retention. The town is the controller; Guichet makes
//! it meet the law without staff work.
//!
//! - **One declaration per table** (declare.rs), in the domain that owns
//!   the table (`<domain>/personal_data.rs`), gathered by registry.rs:
//!   which rows are a resident's, what each column is (exported under a
//!   French label or not, identifying or not), and what the closure of an
//!   account does (delete the rows, or keep them — payments, proof of
//!   terms acceptance, the journal — with every identifying column
//!   erased). The export, the closure and the schema tests
//!   (tests/integration/privacy.rs: every table and column of the schema
//!   is declared) read only these declarations.
//! - **"Mes données"** (web/resident/privacy.rs): what the town holds, by
//!   kind; the export (exports.rs: produced in the background, a
//!   single-use link that expires, by mail; export.rs: the ZIP with a
//!   readable HTML summary, the same data as JSON, the documents' PDFs);
//!   the closure asked (closure.rs: a grace period a login cancels).
//! - **The retention round** (retention.rs): closures due, inactivity
//!   warnings and closures, never-activated accounts, expired links,
//!   sessions, exports, imports' files, sent mails; each run recorded.
//! - `[privacy]` of tenant.toml (settings.rs): the notice's controller and
//!   DPO, the periods; the back-office's settings (admin.rs), which the
//!   database owns once saved.
//!
//! This domain is above the features (like `towns`): it reads their
//! declarations; they import only `privacy::declare`.
//!
//! Error policy: [`PrivacyError`] for the services; a failing export is
//! recorded on its row and tried again (up to three attempts); a failing
//! closure or warning in the retention round is logged and the round goes
//! on (the next round tries again: every step is a compare-and-set).

mod admin;
pub mod closure;
pub mod declare;
pub mod entity;
pub mod export;
mod exports;
pub mod personal_data;
pub mod registry;
pub mod retention;
pub mod rows;
mod settings;

use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Notify;

use crate::mail::{MailError, Mailer};
use crate::tenancy::{TenancyError, TenantDirectory};
use crate::theme::ThemeSet;

pub use admin::{EffectiveSettings, FieldProblem, SettingsInput};
pub use closure::{ClosureError, ClosureReason};
pub use entity::data_export::ExportState;
pub use exports::{Download, ExportRequest, LINK_VALID, MAX_ATTEMPTS, PER_DAY};
pub use retention::TownRound;
pub use settings::{PrivacySettings, WARNING_BEFORE};

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Export(#[from] export::ExportError),
    #[error(transparent)]
    Closure(#[from] ClosureError),
    #[error(transparent)]
    Towns(#[from] TenancyError),
}

/// The privacy service: exports, closures, the retention round. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct Privacy {
    db: DatabaseConnection,
    mailer: Mailer,
    themes: Arc<ThemeSet>,
    tenants: TenantDirectory,
    /// Wakes the exports' producer when a resident asks.
    wake: Arc<Notify>,
}

impl Privacy {
    pub fn new(
        db: DatabaseConnection,
        mailer: Mailer,
        themes: Arc<ThemeSet>,
        tenants: TenantDirectory,
    ) -> Self {
        Self {
            db,
            mailer,
            themes,
            tenants,
            wake: Arc::default(),
        }
    }

    /// Asks for the account's closure (closure.rs): when it will close, or
    /// none when it is closed already.
    pub async fn request_closure(
        &self,
        tenant: &crate::tenancy::Tenant,
        owner: &crate::accounts::entity::account::Model,
        origin: &crate::audit::Origin,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, ClosureError> {
        let settings = self.settings(tenant).await?.settings;
        closure::request(
            &self.db,
            &self.mailer,
            tenant,
            &settings,
            owner,
            origin,
            now,
        )
        .await
    }

    /// Closes the account now if `reason` holds at `now` (the retention
    /// round's step, for the tests and the operators).
    pub async fn close(
        &self,
        tenant: &crate::tenancy::Tenant,
        account_id: i32,
        reason: ClosureReason,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<closure::Closed>, ClosureError> {
        let settings = self.settings(tenant).await?.settings;
        closure::close(
            &self.db,
            &self.mailer,
            tenant,
            &settings,
            account_id,
            reason,
            now,
        )
        .await
    }
}
