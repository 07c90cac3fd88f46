//! The reconciliation: every running `guichet serve` asks the provider, a
//! round a minute, about each payment left open from 5 minutes to 3 hours
//! old (the notification may never come: the server was down, or the
//! provider did not send it), every quarter of an hour about those closed
//! without being paid in their first 3 hours (the provider may still say
//! the money was taken), expires those recorded but never sent to the
//! provider, and delivers the modules' events not yet delivered. Past 3
//! hours, an agent asks from the payment's page.
//!
//! Several instances may run rounds at once: settling is a
//! compare-and-set and delivering a claim (settle.rs, deliver.rs), so an
//! answer is applied once and an event delivered once whoever asks. A
//! town that fails is logged and left for the next round.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait as _, Condition, DbErr, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
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
/// How often a payment closed without being paid (refused, cancelled,
/// expired) is asked about again, until [`RECONCILE_UNTIL`].
pub const ASK_CLOSED_EVERY: chrono::Duration = chrono::Duration::minutes(15);
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
        crate::periodic::every(FIRST_ROUND, EVERY, stop, || async {
            let report = self.round(Utc::now()).await;
            if report.settled > 0 || report.delivered > 0 || report.failed > 0 {
                tracing::info!(
                    asked = report.asked,
                    settled = report.settled,
                    delivered = report.delivered,
                    failed = report.failed,
                    "payments reconciliation"
                );
            }
        })
        .await;
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
    /// A town's part of a round (see the module's doc). A payment whose
    /// turn fails is logged and left for the next round; the others go on.
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
        // Closed without being paid, but young: the provider may still say
        // the money was taken (an early "A", a result that came after the
        // 20 minutes). Asked every quarter of an hour, not every round.
        let closed = tenant
            .scope()
            .select::<payment::Entity>()
            .filter(payment::Column::State.is_in([
                PaymentState::Refused,
                PaymentState::Cancelled,
                PaymentState::Expired,
            ]))
            .filter(payment::Column::ProviderId.is_not_null())
            .filter(payment::Column::CreatedAt.gte(now - RECONCILE_UNTIL))
            .filter(
                Condition::any()
                    .add(payment::Column::AskedAt.is_null())
                    .add(payment::Column::AskedAt.lte(now - ASK_CLOSED_EVERY)),
            )
            .order_by_asc(payment::Column::Id)
            .limit(PER_ROUND)
            .all(&self.db)
            .await?;
        for payment in open.into_iter().chain(closed) {
            report.asked += 1;
            let (id, before) = (payment.id, payment.state);
            let asked = payment::Entity::update_many()
                .col_expr(payment::Column::AskedAt, Expr::value(Some(now)))
                .filter(payment::Column::Id.eq(id))
                .exec(&self.db)
                .await;
            let settled = match asked {
                Ok(_) => {
                    self.settle(tenant, payment, AnswerSource::Reconciliation, now)
                        .await
                }
                Err(error) => Err(error),
            };
            match settled {
                Ok(after) if after.state != before => report.settled += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(town = %tenant.slug, payment = id, %error, "payment not reconciled");
                    report.failed += 1;
                }
            }
        }
        for id in self.events_due(tenant, now).await? {
            match self.deliver(tenant, id, now).await {
                Ok(super::Delivery::Delivered) => report.delivered += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(town = %tenant.slug, payment = id, %error, "payment event not delivered");
                    report.failed += 1;
                }
            }
        }
        Ok(())
    }
}
