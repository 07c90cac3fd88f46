//! CSV import of residents' accounts by a town's staff, in one file per
//! step: [`decode`] (bytes to text: UTF-8 or a refusal that says how to save
//! the file), [`parse`] (the header and the lines), [`plan`] (each line
//! checked, matched by e-mail with the town's accounts, given its
//! identifier), [`run`] (the plan carried out in one transaction: rolled
//! back for a simulation, committed for an execution), [`report`] (what
//! the town reads and downloads).
//!
//! A simulation keeps the uploaded file's text on its row (`account_import`)
//! and the execution reads it from there by id and SHA-256: what is
//! executed is what was simulated, never a second upload. The execution is
//! all or nothing: a file with an error line creates nothing (the town
//! fixes the file and simulates again), and importing the same file twice
//! creates nothing the second time (its residents are known by e-mail).
//!
//! Error policy: what the file gets wrong is a value — a [`FileRefusal`]
//! for the whole file (encoding, size, header), a [`LineError`] per line
//! and column in the [`ImportReport`], an [`ExecuteProblem`] for a stale or
//! unknown simulation — each with its French message. [`AccountError`] is
//! for the machinery (database, mail composition) and becomes an error page.

mod decode;
pub mod entity;
mod parse;
mod plan;
mod report;
mod run;

use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DbErr, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};
use sha2::{Digest as _, Sha256};

pub use decode::{FileRefusal, HOW_TO_SAVE_AS_UTF8, thousands};
pub use entity::ImportStatus;
pub use parse::Column;
pub use report::{ImportCounts, ImportReport, LineError, LineOutcome, LineReport};

use super::error::AccountError;
use super::service::Accounts;
use crate::audit::{Actor, Origin};
use crate::tenancy::Tenant;

/// The largest file accepted: 5 Mio (20,000 lines of 250 bytes).
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// The most lines a file may hold, the header aside.
pub const MAX_LINES: usize = 20_000;
/// How long a simulation can be executed: past this, simulate again
/// (the town's accounts may have changed meanwhile).
const SIMULATION_VALIDITY_HOURS: i64 = 24;

/// A file as the staff member uploaded it.
#[derive(Debug, Clone)]
pub struct ImportUpload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// Known residents (matched by e-mail) get the file's names, civility,
    /// address and phone; otherwise they are left alone.
    pub update_known: bool,
}

/// A simulation's outcome, kept for its execution.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub import_id: i32,
    /// The SHA-256 of the file's text: the execution form carries it back.
    pub file_sha256: String,
    pub report: ImportReport,
}

/// Why a simulation cannot be executed.
#[derive(Debug, Clone)]
pub enum ExecuteProblem {
    /// No such simulation in this town (or not of this file).
    Unknown,
    AlreadyExecuted,
    /// Simulated too long ago.
    Expired,
    /// The file has error lines (found again at execution): nothing done.
    HasErrors(ImportReport),
}

impl ExecuteProblem {
    pub fn message(&self) -> &'static str {
        match self {
            Self::Unknown => "Cette simulation est introuvable : déposez de nouveau le fichier.",
            Self::AlreadyExecuted => "Cet import a déjà été exécuté.",
            Self::Expired => {
                "Cette simulation date de plus d'un jour : déposez de nouveau le fichier pour la refaire."
            }
            Self::HasErrors(_) => {
                "Le fichier contient des erreurs : rien n'a été importé. Corrigez les lignes signalées puis déposez-le de nouveau."
            }
        }
    }
}

/// A kept import, as its page and the list show it.
#[derive(Debug, Clone)]
pub struct KeptImport {
    pub id: i32,
    pub status: ImportStatus,
    pub file_name: String,
    pub file_sha256: String,
    pub staff_label: Option<String>,
    pub counts: ImportCounts,
    pub line_count: i32,
    pub update_known: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub executed_at: Option<chrono::DateTime<Utc>>,
}

impl KeptImport {
    fn of(row: &entity::Model) -> Self {
        Self {
            id: row.id,
            status: row.status,
            file_name: row.file_name.clone(),
            file_sha256: row.file_sha256.clone(),
            staff_label: row.staff_label.clone(),
            counts: ImportCounts {
                to_create: count(row.created_count),
                to_update: count(row.updated_count),
                unchanged: count(row.unchanged_count),
                error_lines: count(row.error_count),
            },
            line_count: row.line_count,
            update_known: row.update_known,
            created_at: row.created_at,
            executed_at: row.executed_at,
        }
    }
}

fn count(stored: i32) -> usize {
    usize::try_from(stored).unwrap_or(0)
}

fn stored(count: usize) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Accounts {
    /// Checks `upload` and runs the whole import in a transaction that is
    /// rolled back: nothing is created, no mail queued, nothing audited.
    /// The file and its report are kept for [`Accounts::execute_import`].
    pub async fn simulate_import(
        &self,
        tenant: &Tenant,
        actor: &Actor,
        origin: &Origin,
        upload: ImportUpload,
    ) -> Result<Result<Simulation, FileRefusal>, AccountError> {
        let text = match decode::decode(&upload.bytes) {
            Ok(text) => text,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let rows = match parse::parse(&text) {
            Ok(rows) => rows,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let scope = tenant.scope();
        let now = Utc::now();
        // Simulations never executed are not kept past their validity.
        scope
            .delete::<entity::Entity>()
            .filter(entity::Column::Status.eq(ImportStatus::Simulated))
            .filter(entity::Column::CreatedAt.lt(now - Duration::hours(SIMULATION_VALIDITY_HOURS)))
            .exec(&self.db)
            .await?;

        let txn = crate::db::begin_write(&self.db).await?;
        let report = self
            .import_in(
                &txn,
                tenant,
                actor,
                origin,
                &rows,
                upload.update_known,
                None,
                now,
            )
            .await?;
        txn.rollback().await?;

        let (staff_id, staff_label) = staff_of(actor);
        let file_sha256 = sha256_hex(&text);
        let counts = report.counts();
        let row = entity::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            status: Set(ImportStatus::Simulated),
            file_name: Set(file_name(&upload.file_name)),
            file_sha256: Set(file_sha256.clone()),
            content: Set(Some(text)),
            update_known: Set(upload.update_known),
            staff_id: Set(staff_id),
            staff_label: Set(staff_label),
            line_count: Set(stored(rows.len())),
            created_count: Set(stored(counts.to_create)),
            updated_count: Set(stored(counts.to_update)),
            unchanged_count: Set(stored(counts.unchanged)),
            error_count: Set(stored(counts.error_lines)),
            report: Set(Some(serde_json::to_string(&report)?)),
            created_at: Set(now),
            executed_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(Ok(Simulation {
            import_id: row.id,
            file_sha256,
            report,
        }))
    }

    /// Executes the simulation `import_id` of the file whose text hashes to
    /// `file_sha256`: creates the accounts and queues their activation
    /// mails, updates the known residents if the simulation said so, audits
    /// each and the import, and keeps the report — all in one transaction.
    pub async fn execute_import(
        &self,
        tenant: &Tenant,
        import_id: i32,
        file_sha256: &str,
        actor: &Actor,
        origin: &Origin,
    ) -> Result<Result<ImportReport, ExecuteProblem>, AccountError> {
        let scope = tenant.scope();
        let now = Utc::now();
        let Some(row) = scope
            .select::<entity::Entity>()
            .filter(entity::Column::Id.eq(import_id))
            .one(&self.db)
            .await?
        else {
            return Ok(Err(ExecuteProblem::Unknown));
        };
        if row.file_sha256 != file_sha256 {
            return Ok(Err(ExecuteProblem::Unknown));
        }
        if row.status == ImportStatus::Executed {
            return Ok(Err(ExecuteProblem::AlreadyExecuted));
        }
        if row.created_at < now - Duration::hours(SIMULATION_VALIDITY_HOURS) {
            return Ok(Err(ExecuteProblem::Expired));
        }
        let Some(text) = row.content.as_deref() else {
            return Ok(Err(ExecuteProblem::Unknown));
        };
        // It parsed when simulated; the same text parses the same.
        let Ok(rows) = parse::parse(text) else {
            return Ok(Err(ExecuteProblem::Unknown));
        };

        let txn = crate::db::begin_write(&self.db).await?;
        // Claimed first: a second execution (a double click, another tab)
        // waits for this one and then finds nothing to claim.
        let claimed = scope
            .update::<entity::Entity>()
            .col_expr(entity::Column::Status, Expr::value(ImportStatus::Executed))
            .col_expr(entity::Column::ExecutedAt, Expr::value(Some(now)))
            .col_expr(entity::Column::Content, Expr::value(Option::<String>::None))
            .filter(entity::Column::Id.eq(import_id))
            .filter(entity::Column::Status.eq(ImportStatus::Simulated))
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(Err(ExecuteProblem::AlreadyExecuted));
        }
        let report = self
            .import_in(
                &txn,
                tenant,
                actor,
                origin,
                &rows,
                row.update_known,
                Some(import_id),
                now,
            )
            .await?;
        let counts = report.counts();
        if counts.error_lines > 0 {
            txn.rollback().await?;
            return Ok(Err(ExecuteProblem::HasErrors(report)));
        }
        let (staff_id, staff_label) = staff_of(actor);
        scope
            .update::<entity::Entity>()
            .col_expr(entity::Column::StaffId, Expr::value(staff_id))
            .col_expr(entity::Column::StaffLabel, Expr::value(staff_label))
            .col_expr(
                entity::Column::CreatedCount,
                Expr::value(stored(counts.to_create)),
            )
            .col_expr(
                entity::Column::UpdatedCount,
                Expr::value(stored(counts.to_update)),
            )
            .col_expr(
                entity::Column::UnchangedCount,
                Expr::value(stored(counts.unchanged)),
            )
            .col_expr(entity::Column::ErrorCount, Expr::value(0))
            .col_expr(
                entity::Column::Report,
                Expr::value(Some(serde_json::to_string(&report)?)),
            )
            .filter(entity::Column::Id.eq(import_id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(Ok(report))
    }

    /// The town's import `import_id` and its report.
    pub async fn import_report(
        &self,
        tenant: &Tenant,
        import_id: i32,
    ) -> Result<Option<(KeptImport, ImportReport)>, AccountError> {
        let Some(row) = tenant
            .scope()
            .select::<entity::Entity>()
            .filter(entity::Column::Id.eq(import_id))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let report = match row.report.as_deref() {
            Some(json) => serde_json::from_str(json)?,
            None => ImportReport::default(),
        };
        Ok(Some((KeptImport::of(&row), report)))
    }

    /// The town's executed imports, newest first (the last `limit`).
    pub async fn executed_imports(
        &self,
        tenant: &Tenant,
        limit: u64,
    ) -> Result<Vec<KeptImport>, DbErr> {
        let rows = tenant
            .scope()
            .select::<entity::Entity>()
            .filter(entity::Column::Status.eq(ImportStatus::Executed))
            .order_by_desc(entity::Column::ExecutedAt)
            .order_by_desc(entity::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(rows.iter().map(KeptImport::of).collect())
    }
}

fn staff_of(actor: &Actor) -> (Option<i32>, Option<String>) {
    match actor {
        Actor::Staff { id, label } => (Some(*id), Some(label.chars().take(255).collect())),
        Actor::ApiKey { name } => (None, Some(name.chars().take(255).collect())),
        Actor::Resident(_) | Actor::System | Actor::Anonymous => (None, None),
    }
}

/// The uploaded file's name as kept: its last path segment (some browsers
/// send a whole path), 255 characters at most.
fn file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let base = if base.is_empty() { "import.csv" } else { base };
    base.chars().take(255).collect()
}
