//! How many mails the public forms may have sent ("mot de passe oublié",
//! "nouveau courriel d'activation"): a few per account and some per client
//! address, an hour. Beyond, the form answers the same and sends nothing,
//! so that nobody can flood a resident's mailbox (or the town's sender
//! reputation) through it.
//!
//! Counted in the database, so that every instance shares the bound, by
//! the throttle's atomic counter (`throttle::count_one`) under keys of
//! their own.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ConnectionTrait, DbErr};

use super::entity::auth_throttle::{Column, Entity};
use super::throttle::{count_one, take_back_key};
use crate::audit::Origin;
use crate::tenancy::TenantScope;

/// Mails an hour the public forms may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailBound {
    /// To any one account, reset links and activation mails together.
    pub per_account: i32,
    /// Asked from any one client address, whatever the accounts.
    pub per_address: i32,
}

impl MailBound {
    pub const PUBLIC_FORMS: Self = Self {
        per_account: 3,
        per_address: 20,
    };
}

/// Whether a form's mail may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailAllowance {
    Send,
    /// This account had its share this hour.
    AccountBound,
    /// This address had its share this hour.
    AddressBound,
}

/// What is counted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MailKey {
    To(i32),
    From(String),
}

impl MailKey {
    fn key(&self) -> String {
        match self {
            Self::To(account) => format!("mail-to:{account}"),
            Self::From(ip) => format!("mail-from:{ip}"),
        }
    }
}

/// Counts one mail to `account_id` asked from `origin`, if both are within
/// the bound; nothing is counted otherwise.
pub(super) async fn take(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    bound: MailBound,
    account_id: i32,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<MailAllowance, DbErr> {
    let to = MailKey::To(account_id);
    if !count(db, scope, &to, bound.per_account, now).await? {
        return Ok(MailAllowance::AccountBound);
    }
    if let Some(ip) = &origin.ip
        && !count(
            db,
            scope,
            &MailKey::From(ip.clone()),
            bound.per_address,
            now,
        )
        .await?
    {
        // The account's share was not used: give it back.
        take_back_key(db, scope, to.key()).await?;
        return Ok(MailAllowance::AddressBound);
    }
    Ok(MailAllowance::Send)
}

async fn count(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    key: &MailKey,
    limit: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let counted = count_one(
        db,
        scope,
        key.key(),
        now,
        Expr::col((Entity, Column::Failures)).lt(limit),
        // These counters never block anything by time.
        |_| Expr::value(DateTime::<Utc>::UNIX_EPOCH),
    )
    .await?;
    Ok(counted.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_keys_do_not_meet_the_throttle_keys() {
        assert_eq!(MailKey::To(3).key(), "mail-to:3");
        assert_eq!(MailKey::From("::1".into()).key(), "mail-from:::1");
        // Throttle keys start with account:, name:, ip: or device:.
        for key in [MailKey::To(3).key(), MailKey::From("x".into()).key()] {
            assert!(key.starts_with("mail-"), "{key}");
        }
    }
}
