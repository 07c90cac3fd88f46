//! Login throttling: growing delays after repeated failures, per account
//! (or per typed identifier, for unknown ones, so that both look the same)
//! and per client address. Never a lockout: once the delay has passed, the
//! right password works, so an attacker cannot lock a resident out.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr,
    QueryFilter as _,
};

use super::entity::auth_throttle::{self, Column};
use crate::tenancy::TenantScope;

/// Failures are counted over this window.
const WINDOW_MINUTES: i64 = 60;
/// The longest delay; with the free attempts, it keeps an account under
/// 100 failed attempts an hour.
const MAX_DELAY_SECONDS: i64 = 60;

/// What is throttled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottleKey {
    Account(i32),
    /// An identifier that matches no account.
    Name(String),
    Ip(String),
}

impl ThrottleKey {
    fn key(&self) -> String {
        match self {
            Self::Account(id) => format!("account:{id}"),
            Self::Name(name) => format!("name:{name}"),
            Self::Ip(ip) => format!("ip:{ip}"),
        }
    }

    /// Failures allowed before delays start: an address may stand for a
    /// whole town hall or school behind one NAT.
    fn free_failures(&self) -> i32 {
        match self {
            Self::Account(_) | Self::Name(_) => 4,
            Self::Ip(_) => 20,
        }
    }

    fn delay_after(&self, failures: i32) -> Duration {
        let beyond = failures - self.free_failures();
        if beyond <= 0 {
            return Duration::zero();
        }
        let seconds = 1_i64 << (beyond - 1).min(10);
        Duration::seconds(seconds.min(MAX_DELAY_SECONDS))
    }
}

/// How long until any of `keys` may try again, if one is blocked now.
pub async fn wait_needed(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    keys: &[ThrottleKey],
    now: DateTime<Utc>,
) -> Result<Option<Duration>, DbErr> {
    let names: Vec<String> = keys.iter().map(ThrottleKey::key).collect();
    let rows = scope
        .select::<auth_throttle::Entity>()
        .filter(Column::Key.is_in(names))
        .filter(Column::BlockedUntil.gt(now))
        .all(db)
        .await?;
    Ok(rows.iter().map(|row| row.blocked_until - now).max())
}

/// Counts one more failure for `key` and sets its delay.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &ThrottleKey,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let name = key.key();
    let existing = scope
        .select::<auth_throttle::Entity>()
        .filter(Column::Key.eq(&name))
        .one(db)
        .await?;
    match existing {
        None => {
            let inserted = auth_throttle::ActiveModel {
                tenant_id: Set(scope.tenant_id().get()),
                key: Set(name),
                failures: Set(1),
                window_started_at: Set(now),
                blocked_until: Set(now + key.delay_after(1)),
                ..Default::default()
            }
            .insert(db)
            .await;
            // Another request inserted it first: count on that row instead.
            if inserted.is_err() {
                increment(db, scope, key, now).await?;
            }
            Ok(())
        }
        Some(row) if now - row.window_started_at > Duration::minutes(WINDOW_MINUTES) => scope
            .update::<auth_throttle::Entity>()
            .col_expr(Column::Failures, Expr::value(1))
            .col_expr(Column::WindowStartedAt, Expr::value(now))
            .col_expr(Column::BlockedUntil, Expr::value(now + key.delay_after(1)))
            .filter(Column::Id.eq(row.id))
            .exec(db)
            .await
            .map(|_| ()),
        Some(_) => increment(db, scope, key, now).await,
    }
}

async fn increment(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &ThrottleKey,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::ExprTrait as _;

    let name = key.key();
    // Atomic increment, then the delay from the count it produced.
    scope
        .update::<auth_throttle::Entity>()
        .col_expr(Column::Failures, Expr::col(Column::Failures).add(1))
        .filter(Column::Key.eq(&name))
        .exec(db)
        .await?;
    if let Some(row) = scope
        .select::<auth_throttle::Entity>()
        .filter(Column::Key.eq(&name))
        .one(db)
        .await?
    {
        scope
            .update::<auth_throttle::Entity>()
            .col_expr(
                Column::BlockedUntil,
                Expr::value(now + key.delay_after(row.failures)),
            )
            .filter(Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a successful login).
pub async fn clear(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &ThrottleKey,
) -> Result<(), DbErr> {
    scope
        .delete::<auth_throttle::Entity>()
        .filter(Column::Key.eq(key.key()))
        .exec(db)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_cap_and_stay_under_100_an_hour() {
        let account = ThrottleKey::Account(1);
        let delays: Vec<i64> = (1..=12)
            .map(|n| account.delay_after(n).num_seconds())
            .collect();
        assert_eq!(delays, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]);
        // Attempts possible in an hour, waiting out every delay.
        let (mut failures, mut elapsed) = (0, 0);
        while elapsed < 3600 {
            failures += 1;
            elapsed += account.delay_after(failures).num_seconds().max(1);
        }
        assert!(failures < 100, "{failures}");
        assert_eq!(
            ThrottleKey::Ip("1.2.3.4".into())
                .delay_after(20)
                .num_seconds(),
            0
        );
        assert_eq!(
            ThrottleKey::Ip("1.2.3.4".into())
                .delay_after(21)
                .num_seconds(),
            1
        );
    }
}
