//! The module's event of a payment recorded as paid: delivered once. A
//! delivery claims the payment (a lease, in `event_next_at`), calls the
//! module's `handle-event`, and marks the event delivered in the
//! transaction of the module's writes, only if no one marked it first: a
//! lease that ran out while the module was slow gives a second delivery
//! that commits nothing. A failure is recorded on the payment and tried
//! again later, with backoff.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait as _, Condition, DbErr, EntityTrait as _, QueryFilter as _};

use super::Payments;
use super::entity::{PaymentState, payment};
use crate::accounts::entity::account;
use crate::modules::{ActError, DateTime as ModuleDateTime, Event, Payment};
use crate::tenancy::Tenant;

/// How long a delivery holds its claim.
const LEASE: Duration = Duration::minutes(2);

/// What a delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Not due (delivered, claimed by another, or waiting for its next
    /// attempt).
    NotDue,
    /// Failed; tried again later (the reason is on the payment).
    Failed(String),
}

/// The wait before attempt `attempts + 1`: 1, 5, 15, 60 minutes, then
/// every 6 hours.
fn backoff(attempts: i32) -> Duration {
    match attempts {
        ..=1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        3 => Duration::minutes(15),
        4 => Duration::hours(1),
        _ => Duration::hours(6),
    }
}

impl Payments {
    /// Delivers the event of a paid payment if it is due (see above).
    pub async fn deliver(
        &self,
        tenant: &Arc<Tenant>,
        payment_id: i32,
        now: DateTime<Utc>,
    ) -> Result<Delivery, DbErr> {
        // The lease and the backoff count from the real time: `now` (a
        // round's start) may be minutes old.
        let clock = std::cmp::max(now, Utc::now());
        let claimed = payment::Entity::update_many()
            .col_expr(
                payment::Column::EventNextAt,
                Expr::value(Some(clock + LEASE)),
            )
            .col_expr(
                payment::Column::EventAttempts,
                Expr::col(payment::Column::EventAttempts).add(1),
            )
            .filter(payment::Column::Id.eq(payment_id))
            .filter(payment::Column::TenantId.eq(tenant.scope().tenant_id().get()))
            .filter(payment::Column::State.eq(PaymentState::Paid))
            .filter(payment::Column::EventDeliveredAt.is_null())
            .filter(
                Condition::any()
                    .add(payment::Column::EventNextAt.is_null())
                    .add(payment::Column::EventNextAt.lte(now)),
            )
            .exec(&self.db)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            return Ok(Delivery::NotDue);
        }
        let Some(payment) = self.find(tenant, payment_id).await? else {
            return Ok(Delivery::NotDue);
        };
        let delivered = self.deliver_claimed(tenant, &payment).await;
        match delivered {
            Ok(()) => Ok(Delivery::Delivered),
            Err(Failure::Superseded) => Ok(Delivery::NotDue),
            Err(Failure::Database(error)) => Err(error),
            Err(Failure::Other(reason)) => {
                tracing::warn!(
                    town = %tenant.slug,
                    payment = payment.id,
                    module = %payment.module_id,
                    "payment event not delivered: {reason}"
                );
                payment::Entity::update_many()
                    .col_expr(
                        payment::Column::EventError,
                        Expr::value(Some(reason.clone())),
                    )
                    .col_expr(
                        payment::Column::EventNextAt,
                        Expr::value(Some(clock + backoff(payment.event_attempts))),
                    )
                    .filter(payment::Column::Id.eq(payment.id))
                    .filter(payment::Column::EventDeliveredAt.is_null())
                    .exec(&self.db)
                    .await?;
                Ok(Delivery::Failed(reason))
            }
        }
    }

    async fn deliver_claimed(
        &self,
        tenant: &Arc<Tenant>,
        payment: &payment::Model,
    ) -> Result<(), Failure> {
        let Some(account_id) = payment.account_id else {
            return Err(Failure::Other(
                "le compte de l'usager n'existe plus".to_owned(),
            ));
        };
        let Some(resident) = tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .one(&self.db)
            .await?
        else {
            return Err(Failure::Other(
                "le compte de l'usager n'existe plus".to_owned(),
            ));
        };
        let Some(module) = self
            .modules
            .enabled_module(tenant, &payment.module_id)
            .await?
        else {
            return Err(Failure::Other(format!(
                "le module « {} » n'est plus activé",
                payment.module_id
            )));
        };
        let paid_at = payment
            .paid_at
            .unwrap_or(payment.updated_at)
            .with_timezone(&tenant.timezone);
        let event = Event::PaymentConfirmed(Payment {
            reference: payment.reference.clone(),
            amount: payment.amount_cents,
            paid_at: ModuleDateTime {
                date: paid_at.format("%Y-%m-%d").to_string(),
                time: paid_at.format("%H:%M").to_string(),
            },
            provider: payment.provider.label().to_owned(),
            transaction: payment.provider_id.clone().unwrap_or_default(),
            resident: payment.resident_identifier.clone(),
        });
        let id = payment.id;
        let seal: crate::modules::Seal = Box::new(move |transaction| {
            Box::pin(async move {
                let marked = payment::Entity::update_many()
                    .col_expr(
                        payment::Column::EventDeliveredAt,
                        Expr::value(Some(Utc::now())),
                    )
                    .col_expr(
                        payment::Column::EventError,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(
                        payment::Column::EventNextAt,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .filter(payment::Column::Id.eq(id))
                    .filter(payment::Column::EventDeliveredAt.is_null())
                    .exec(transaction)
                    .await?;
                Ok(marked.rows_affected == 1)
            })
        });
        match self
            .modules
            .handle_event(tenant, &module, &resident, &event, seal)
            .await
        {
            Ok(()) => Ok(()),
            Err(ActError::Superseded) => Err(Failure::Superseded),
            Err(ActError::Database(error)) => Err(Failure::Database(error)),
            Err(error) => Err(Failure::Other(error.to_string())),
        }
    }

    /// The town's payments whose event is due, oldest first.
    pub(super) async fn events_due(
        &self,
        tenant: &Tenant,
        now: DateTime<Utc>,
    ) -> Result<Vec<i32>, DbErr> {
        use sea_orm::{QueryOrder as _, QuerySelect as _};
        tenant
            .scope()
            .select::<payment::Entity>()
            .select_only()
            .column(payment::Column::Id)
            .filter(payment::Column::State.eq(PaymentState::Paid))
            .filter(payment::Column::EventDeliveredAt.is_null())
            .filter(
                Condition::any()
                    .add(payment::Column::EventNextAt.is_null())
                    .add(payment::Column::EventNextAt.lte(now)),
            )
            .order_by_asc(payment::Column::Id)
            .limit(100)
            .into_tuple()
            .all(&self.db)
            .await
    }
}

enum Failure {
    /// Delivered by another meanwhile.
    Superseded,
    Database(DbErr),
    Other(String),
}

impl From<DbErr> for Failure {
    fn from(error: DbErr) -> Self {
        Self::Database(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_back_off() {
        assert_eq!(backoff(1), Duration::minutes(1));
        assert_eq!(backoff(3), Duration::minutes(15));
        assert_eq!(backoff(40), Duration::hours(6));
    }
}
