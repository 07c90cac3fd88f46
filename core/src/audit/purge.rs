//! The retention purge: every town's events older than its
//! `[journal] retention_days` are deleted, periodically, by every running
//! `guichet serve`.
//!
//! The policy, which the code below honours:
//!
//! - **Bounded batches.** A town's old events go [`PURGE_BATCH`] at a time,
//!   oldest first, each batch in its own short transaction: a first purge
//!   of a long journal never holds a lock for long nor fills the
//!   database's log.
//! - **The purge is recorded with what it deleted.** Each batch that
//!   deleted something appends, in its own transaction, a
//!   `journal_purged` event (actor: the system; detail: how many): no
//!   event disappears without a trace, and a trace never claims more than
//!   was deleted.
//! - **Safe with several instances.** Instances purge at the same time
//!   without harm: a batch deletes the rows it names by id, through the
//!   town's scope; rows another instance deleted first are simply not
//!   deleted again (PostgreSQL waits on their locks, then skips them; SQLite
//!   has one writer at a time), and each instance counts, and records, only
//!   what its own statements deleted.
//! - **Only the town's own rows, by its own setting.** Towns are read
//!   through the directory (the one cross-town list, as for the mail
//!   worker), and every statement goes through the town's scope.
//! - **Shutdown.** When `stop` resolves, the purge begins nothing more; a
//!   batch under way is abandoned, its transaction rolled back (the events
//!   and the purge's record go together or not at all). `guichet serve`
//!   waits for it. Failures are logged, and tried again at the next round.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, DatabaseConnection, DbErr, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, QueryTrait as _,
};

use super::entity::{self, Column};
use super::{Actor, AuditKind, Event, JournalSettings, Origin, record_event};
use crate::tenancy::{Tenant, TenantDirectory};

/// The most events one transaction deletes.
pub const PURGE_BATCH: u64 = 1000;
/// The first round, shortly after the server started (not at once: the
/// start of a server is busy enough).
const FIRST_ROUND: Duration = Duration::from_secs(60);
/// Then one round every six hours: retention is counted in days.
const EVERY: Duration = Duration::from_secs(6 * 3600);

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Towns whose journal was purged without error.
    pub towns: usize,
    /// Events deleted in all towns.
    pub deleted: u64,
    /// Towns whose purge failed (logged).
    pub failed: usize,
}

/// The periodic purge. Cheap to clone.
#[derive(Debug, Clone)]
pub struct JournalPurge {
    db: DatabaseConnection,
    tenants: TenantDirectory,
}

impl JournalPurge {
    pub fn new(db: DatabaseConnection, tenants: TenantDirectory) -> Self {
        Self { db, tenants }
    }

    /// Runs a round after [`FIRST_ROUND`], then every [`EVERY`], until
    /// `stop` resolves (see the policy above).
    pub async fn run(self, stop: impl Future<Output = ()>) {
        crate::periodic::every(FIRST_ROUND, EVERY, stop, || async {
            let report = self.round(Utc::now()).await;
            if report.deleted > 0 || report.failed > 0 {
                tracing::info!(
                    towns = report.towns,
                    deleted = report.deleted,
                    failed = report.failed,
                    "journal purge"
                );
            }
        })
        .await;
    }

    /// Purges every town as of `now`; a town that fails is logged and
    /// left for the next round, the others go on.
    pub async fn round(&self, now: DateTime<Utc>) -> PurgeReport {
        let mut report = PurgeReport::default();
        let towns = match self.tenants.list().await {
            Ok(towns) => towns,
            Err(error) => {
                tracing::warn!(%error, "journal purge: the towns cannot be read");
                report.failed += 1;
                return report;
            }
        };
        for summary in towns {
            let purged = match self.tenants.find_by_slug(&summary.slug).await {
                Ok(Some(town)) => self.purge_town(&town, now).await.map_err(|e| e.to_string()),
                // Removed meanwhile: nothing of it is left to purge.
                Ok(None) => Ok(0),
                Err(error) => Err(error.to_string()),
            };
            match purged {
                Ok(deleted) => {
                    report.towns += 1;
                    report.deleted += deleted;
                }
                Err(error) => {
                    tracing::warn!(town = summary.slug, %error, "journal purge failed");
                    report.failed += 1;
                }
            }
        }
        report
    }

    /// Deletes the town's events older than its retention as of `now`,
    /// batch by batch, recording each batch; returns how many.
    pub async fn purge_town(&self, town: &Tenant, now: DateTime<Utc>) -> Result<u64, DbErr> {
        let retention = JournalSettings::of(town).retention_days;
        let cutoff = now - chrono::Duration::days(i64::from(retention));
        let scope = town.scope();
        let mut total = 0;
        loop {
            let txn = crate::db::begin_write(&self.db).await?;
            let oldest = scope
                .select::<entity::Entity>()
                .select_only()
                .column(Column::Id)
                .filter(Column::CreatedAt.lt(cutoff))
                .order_by_asc(Column::CreatedAt)
                .order_by_asc(Column::Id)
                .limit(PURGE_BATCH)
                .into_query();
            let deleted = scope
                .delete::<entity::Entity>()
                .filter(Column::Id.in_subquery(oldest))
                .exec(&txn)
                .await?
                .rows_affected;
            if deleted > 0 {
                record_event(
                    &txn,
                    scope,
                    Event {
                        kind: AuditKind::JournalPurged,
                        actor: Actor::System,
                        subject: None,
                        origin: &Origin::default(),
                        detail: Some(deleted.to_string()),
                    },
                )
                .await?;
            }
            txn.commit().await?;
            total += deleted;
            if deleted < PURGE_BATCH {
                return Ok(total);
            }
        }
    }
}
