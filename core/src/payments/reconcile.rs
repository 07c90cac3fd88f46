//! The reconciliation: every running `guichet serve` asks the provider, a
//! round a minute, about each payment left open from 5 minutes to 3 hours
//! old (the notification may never come: the server was down, or the
//! provider did not send it), expires those recorded but never sent to
//! the provider, and delivers the modules' events not yet delivered.
//!
//! Several instances may run rounds at once: settling is a
//! compare-and-set and delivering a claim (settle.rs, deliver.rs), so an
//! answer is applied once and an event delivered once whoever asks. A
//! town that fails is logged and left for the next round.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, Condition, DbErr, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::Payments;
use super::entity::{AnswerSource, PaymentState, payment};
use crate::tenancy::{Tenant, TenantDirectory};

/// The first round, shortly after the server started.
const FIRST_ROUND: Duration = Duration::from_secs(15);
/// Then one round a minute.
const EVERY: Duration = Duration::from_secs(60);
/// A payment younger than this is left to its notification.
pub const RECONCILE_AFTER: chrono::Duration = chrono::Duration::minutes(5);
/// Past this, the provider is not asked any more (the staff's page still
/// can).
pub const RECONCILE_UNTIL: chrono::Duration = chrono::Duration::hours(3);
/// Payments asked about per town and round.
const PER_ROUND: u64 = 200;

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Payments asked about.
    pub asked: usize,
    /// Of which changed state.
    pub settled: usize,
    /// Events delivered to modules.
    pub delivered: usize,
    /// Towns whose round failed (logged).
    pub failed: usize,
}

/// The periodic round. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Reconciler {
    payments: Payments,
    tenants: TenantDirectory,
}

impl Reconciler {
    pub fn new(payments: Payments, tenants: TenantDirectory) -> Self {
        Self { payments, tenants }
    }

    /// Runs a round after [`FIRST_ROUND`], then every [`EVERY`], until
    /// `stop` resolves; a round under way is abandoned (each change is its
    /// own transaction: nothing is half done).
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut wait = FIRST_ROUND;
        loop {
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(wait) => {}
            }
            tokio::select! {
                () = &mut stop => return,
                report = self.round(Utc::now()) => {
                    if report.settled > 0 || report.delivered > 0 || report.failed > 0 {
                        tracing::info!(
                            asked = report.asked,
                            settled = report.settled,
                            delivered = report.delivered,
                            failed = report.failed,
                            "payments reconciliation"
                        );
                    }
                }
            }
            wait = EVERY;
        }
    }

    /// One round over every town as of `now`.
    pub async fn round(&self, now: DateTime<Utc>) -> ReconcileReport {
        let mut report = ReconcileReport::default();
        let towns = match self.tenants.list().await {
            Ok(towns) => towns,
            Err(error) => {
                tracing::warn!(%error, "payments reconciliation: the towns cannot be read");
                report.failed += 1;
                return report;
            }
        };
        for summary in towns {
            let town = match self.tenants.find_by_slug(&summary.slug).await {
                Ok(Some(town)) => Arc::new(town),
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(town = summary.slug, %error, "payments reconciliation failed");
                    report.failed += 1;
                    continue;
                }
            };
            if let Err(error) = self.payments.reconcile_town(&town, now, &mut report).await {
                tracing::warn!(town = summary.slug, %error, "payments reconciliation failed");
                report.failed += 1;
            }
        }
        report
    }
}

impl Payments {
    /// A town's part of a round (see the module's doc).
    pub async fn reconcile_town(
        &self,
        tenant: &Arc<Tenant>,
        now: DateTime<Utc>,
        report: &mut ReconcileReport,
    ) -> Result<(), DbErr> {
        let open = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::State.is_in([PaymentState::Created, PaymentState::Waiting]))
            .filter(payment::Column::CreatedAt.lte(now - RECONCILE_AFTER))
            .filter(
                Condition::any()
                    .add(payment::Column::CreatedAt.gte(now - RECONCILE_UNTIL))
                    // Never sent to the provider: nothing to ask, expired
                    // whatever their age.
                    .add(payment::Column::ProviderId.is_null()),
            )
            .order_by_asc(payment::Column::Id)
            .limit(PER_ROUND)
            .all(&self.db)
            .await?;
        for payment in open {
            report.asked += 1;
            let before = payment.state;
            let after = self
                .settle(tenant, payment, AnswerSource::Reconciliation, now)
                .await?;
            if after.state != before {
                report.settled += 1;
            }
        }
        for id in self.events_due(tenant, now).await? {
            if self.deliver(tenant, id, now).await? == super::Delivery::Delivered {
                report.delivered += 1;
            }
        }
        Ok(())
    }
}
