//! Login throttling: growing delays after repeated failures, per account
//! (or per typed identifier, for unknown ones, so that both look the same),
//! per client address, and per trusted device of an account. Never a
//! lockout: once the delay has passed, the right password works; and the
//! owner's own browser (its trusted-device cookie) is throttled on its own
//! key, so strangers guessing the account do not keep its owner out.
//!
//! An attempt is counted *before* the password is checked, by one atomic
//! statement that also sets the delay its count calls for: attempts that
//! arrive together each get their own count, none slips past a delay, and
//! none is refused because of another's stale clock. A right password then
//! takes its attempt back.
//!
//! The same table keeps the windowed counters of the mail bound
//! (`mail_bound.rs`), under keys of their own.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait as _, ConnectionTrait, DbErr, QueryFilter as _};

use super::entity::auth_throttle::{Column, Entity};
use crate::tenancy::TenantScope;

/// Failures are counted over this window.
const WINDOW_MINUTES: i64 = 60;
/// The longest delay; with the free attempts, it keeps an account under
/// 100 failed attempts an hour.
const MAX_DELAY_SECONDS: i64 = 60;

/// What is throttled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottleKey {
    /// Anonymous attempts on an account: every browser but the owner's
    /// trusted ones.
    Account(i32),
    /// An identifier that matches no account.
    Name(String),
    Ip(String),
    /// One trusted browser of an account (its device cookie's id).
    Device {
        account: i32,
        device: String,
    },
    /// Password attempts on a staff member (staff/login.rs).
    StaffMember(i32),
    /// A staff address that matches no member.
    StaffEmail(String),
    /// Second-factor attempts (TOTP or recovery code) of a staff member.
    StaffCode(i32),
}

/// Whether an attempt may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted: check the password.
    Counted,
    /// Not counted: try again after this long.
    Wait(Duration),
}

impl ThrottleKey {
    fn key(&self) -> String {
        match self {
            Self::Account(id) => format!("account:{id}"),
            Self::Name(name) => format!("name:{name}"),
            Self::Ip(ip) => format!("ip:{ip}"),
            Self::Device { account, device } => format!("device:{account}:{device}"),
            Self::StaffMember(id) => format!("staff:{id}"),
            Self::StaffEmail(email) => format!("staff-email:{email}"),
            Self::StaffCode(id) => format!("staff-code:{id}"),
        }
    }

    /// Failures allowed before delays start: an address may stand for a
    /// whole town hall or school behind one NAT.
    fn free_failures(&self) -> i32 {
        match self {
            Self::Account(_)
            | Self::Name(_)
            | Self::Device { .. }
            | Self::StaffMember(_)
            | Self::StaffEmail(_)
            | Self::StaffCode(_) => 4,
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

    /// When the next attempt may come after `count` failures counted at
    /// `now`, as one SQL expression of `count`: the delays are bound
    /// values, so the database needs no date arithmetic. Below the free
    /// failures, the epoch: never blocked, whatever clock another request
    /// read.
    fn blocked_until(&self, count: &Expr, now: DateTime<Utc>) -> Expr {
        use sea_orm::sea_query::ExprTrait as _;
        let mut delays = Expr::case(
            count.clone().lte(self.free_failures()),
            Expr::value(DateTime::<Utc>::UNIX_EPOCH),
        );
        let mut failures = self.free_failures() + 1;
        while self.delay_after(failures) < Duration::seconds(MAX_DELAY_SECONDS) {
            delays = delays.case(
                count.clone().eq(failures),
                Expr::value(now + self.delay_after(failures)),
            );
            failures += 1;
        }
        delays
            .finally(Expr::value(now + Duration::seconds(MAX_DELAY_SECONDS)))
            .into()
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
    blocked_for(db, scope, names, now).await
}

async fn blocked_for(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    names: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Option<Duration>, DbErr> {
    let rows = scope
        .select::<Entity>()
        .filter(Column::Key.is_in(names))
        .filter(Column::BlockedUntil.gt(now))
        .all(db)
        .await?;
    Ok(rows.iter().map(|row| row.blocked_until - now).max())
}

/// Counts an attempt on `key` if it is not waiting out a delay, and sets
/// the delay the new count calls for — in one statement.
pub async fn attempt(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &ThrottleKey,
    now: DateTime<Utc>,
) -> Result<Admission, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    let counted = count_one(
        db,
        scope,
        key.key(),
        now,
        Expr::col((Entity, Column::BlockedUntil)).lte(now),
        |count| key.blocked_until(count, now),
    )
    .await?;
    if counted.is_some() {
        return Ok(Admission::Counted);
    }
    // Refused by the statement: the row is blocked (its delay may have
    // ended since, by a hair: wait a second rather than zero).
    let wait = blocked_for(db, scope, vec![key.key()], now).await?;
    Ok(Admission::Wait(Ord::max(
        wait.unwrap_or(Duration::seconds(1)),
        Duration::seconds(1),
    )))
}

/// One more in the count of `key` for the current window (a new window,
/// from 1, once the last one is over), if the stored row satisfies
/// `admit` or its window is over; `blocked_until` gives the row's new
/// `blocked_until` from the new count. The new count, or nothing when
/// `admit` refused. One upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE …
/// RETURNING`): concurrent callers, on any number of instances, each get
/// their own count.
pub(super) async fn count_one(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: String,
    now: DateTime<Utc>,
    admit: Expr,
    blocked_until: impl Fn(&Expr) -> Expr,
) -> Result<Option<i32>, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    let window_over =
        Expr::col((Entity, Column::WindowStartedAt)).lte(now - Duration::minutes(WINDOW_MINUTES));
    let new_count: Expr = Expr::case(window_over.clone(), 1)
        .finally(Expr::col((Entity, Column::Failures)).add(1))
        .into();
    let first = blocked_until(&Expr::value(1));
    let statement = Query::insert()
        .into_table(Entity)
        .columns([
            Column::TenantId,
            Column::Key,
            Column::Failures,
            Column::WindowStartedAt,
            Column::BlockedUntil,
        ])
        .values([
            scope.tenant_id().get().into(),
            key.into(),
            1.into(),
            now.into(),
            first,
        ])
        .map_err(|error| DbErr::Custom(format!("throttle counter: {error}")))?
        .on_conflict(
            OnConflict::columns([Column::TenantId, Column::Key])
                .values([
                    (Column::Failures, new_count.clone()),
                    (
                        Column::WindowStartedAt,
                        Expr::case(window_over.clone(), Expr::value(now))
                            .finally(Expr::col((Entity, Column::WindowStartedAt)))
                            .into(),
                    ),
                    (Column::BlockedUntil, blocked_until(&new_count)),
                ])
                .action_and_where(admit.or(window_over))
                .to_owned(),
        )
        .returning_col(Column::Failures)
        .to_owned();
    match db.query_one(&statement).await? {
        Some(row) => Ok(Some(row.try_get("", "failures")?)),
        None => Ok(None),
    }
}

/// Takes back one attempt of `key` (a right password from an address:
/// logging in is not a failure of that address).
pub async fn take_back(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &ThrottleKey,
) -> Result<(), DbErr> {
    take_back_key(db, scope, key.key()).await
}

pub(super) async fn take_back_key(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: String,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    scope
        .update::<Entity>()
        .col_expr(Column::Failures, Expr::col(Column::Failures).sub(1))
        .filter(Column::Key.eq(key))
        .filter(Column::Failures.gt(0))
        .exec(db)
        .await
        .map(|_| ())
}

/// Forgets the failures of `key` (after a successful login).
pub async fn clear(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &ThrottleKey,
) -> Result<(), DbErr> {
    scope
        .delete::<Entity>()
        .filter(Column::Key.eq(key.key()))
        .exec(db)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

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

    #[test]
    fn keys_of_each_kind_never_meet() {
        let keys = [
            ThrottleKey::Account(7).key(),
            ThrottleKey::Name("7".into()).key(),
            ThrottleKey::Ip("7".into()).key(),
            ThrottleKey::Device {
                account: 7,
                device: "7".into(),
            }
            .key(),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(keys[3], "device:7:7");
    }

    #[test]
    fn the_delay_of_each_count_is_one_expression() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        let key = ThrottleKey::Account(1);
        let expression = key.blocked_until(&Expr::col(Column::Failures), now);
        let sql = Query::select()
            .expr(expression)
            .to_owned()
            .to_string(PostgresQueryBuilder);
        // Free failures, then 1, 2, 4, 8, 16, 32 seconds, then the cap.
        assert_eq!(sql.matches("WHEN").count(), 7, "{sql}");
        assert!(sql.contains("1970-01-01"), "{sql}");
        for seconds in [1, 2, 4, 8, 16, 32, 60] {
            let at = (now + Duration::seconds(seconds))
                .format("%H:%M:%S")
                .to_string();
            assert!(sql.contains(&at), "{at} missing from {sql}");
        }
        // Both databases take the same statement shape.
        let sqlite = Query::select()
            .expr(key.blocked_until(&Expr::col(Column::Failures), now))
            .to_owned()
            .to_string(SqliteQueryBuilder);
        assert!(sqlite.starts_with("SELECT (CASE WHEN"), "{sqlite}");
    }
}
