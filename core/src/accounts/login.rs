//! Login and logout: by identifier or e-mail and password (throttled), or
//! through a linked FranceConnect identity.

use chrono::Utc;
use sea_orm::{ColumnTrait as _, Condition, DbErr, QueryFilter as _};

use super::entity::account::{self, AccountStatus};
use super::error::AccountError;
use super::identifier;
use super::service::Accounts;
use super::sessions;
use super::throttle::{self, ThrottleKey};
use crate::audit::{self, AuditKind, Origin};
use crate::tenancy::{Tenant, TenantScope};

#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the new session's token, and the account as it was
    /// before this login (its `last_login_at` is the previous login).
    Success {
        session_token: String,
        account: Box<account::Model>,
    },
    /// Wrong identifier or password: one answer for both.
    Refused,
    /// Too many failures: try again in this many seconds.
    Throttled(i64),
    /// Right password, but the account was never activated.
    NotActivated,
    /// Right temporary password, but too old.
    TemporaryPasswordExpired,
}

impl Accounts {
    /// The town's account with this identifier (as the town's software
    /// names residents through the data API).
    pub async fn find_by_identifier(
        &self,
        tenant: &Tenant,
        identifier: &str,
    ) -> Result<Option<account::Model>, DbErr> {
        tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Identifier.eq(identifier))
            .one(&self.db)
            .await
    }

    /// The account a resident means by what they typed: their identifier or
    /// their e-mail address (already normalised).
    pub(super) async fn find_by_login(
        &self,
        scope: TenantScope,
        typed: &str,
    ) -> Result<Option<account::Model>, DbErr> {
        if typed.is_empty() {
            return Ok(None);
        }
        scope
            .select::<account::Entity>()
            .filter(
                Condition::any()
                    .add(account::Column::Identifier.eq(typed))
                    .add(account::Column::EmailKey.eq(typed)),
            )
            .one(&self.db)
            .await
    }

    /// Checks an identifier (or e-mail) and password, with throttling.
    pub async fn login(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<LoginOutcome, AccountError> {
        let scope = tenant.scope();
        let typed = identifier::normalize_login(login);
        let now = Utc::now();
        let owner = self.find_by_login(scope, &typed).await?;
        let subject_key = match &owner {
            Some(owner) => ThrottleKey::Account(owner.id),
            None => ThrottleKey::Name(typed.chars().take(254).collect()),
        };
        let mut keys = vec![subject_key.clone()];
        if let Some(ip) = &origin.ip {
            keys.push(ThrottleKey::Ip(ip.clone()));
        }
        let account_id = owner.as_ref().map(|o| o.id);

        if let Some(wait) = throttle::wait_needed(&self.db, scope, &keys, now).await? {
            audit::record(
                &self.db,
                scope,
                account_id,
                AuditKind::LoginThrottled,
                origin,
                None,
            )
            .await?;
            return Ok(LoginOutcome::Throttled(wait.num_seconds().max(1)));
        }

        let matches = self
            .hasher
            .verify(password, owner.as_ref().map(|o| o.password_hash.as_str()))
            .await?;
        let Some(owner) = owner.filter(|_| matches) else {
            for key in &keys {
                throttle::record_failure(&self.db, scope, key, now).await?;
            }
            audit::record(
                &self.db,
                scope,
                account_id,
                AuditKind::LoginFailed,
                origin,
                None,
            )
            .await?;
            return Ok(LoginOutcome::Refused);
        };
        throttle::clear(&self.db, scope, &subject_key).await?;

        match owner.status {
            AccountStatus::Active => {}
            AccountStatus::Pending => return Ok(LoginOutcome::NotActivated),
        }
        if owner.password_is_temporary
            && owner
                .temporary_password_expires_at
                .is_some_and(|expiry| expiry <= now)
        {
            return Ok(LoginOutcome::TemporaryPasswordExpired);
        }

        let txn = crate::db::begin_write(&self.db).await?;
        let session_token = self
            .open_session(&txn, scope, &owner, origin, None, now)
            .await?;
        txn.commit().await?;
        Ok(LoginOutcome::Success {
            session_token,
            account: Box::new(owner),
        })
    }

    /// Logs in the account an identity is linked to (the caller found it
    /// active through the link).
    pub async fn login_with_franceconnect(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        id_token: &str,
        origin: &Origin,
    ) -> Result<String, AccountError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .open_session(
                &txn,
                tenant.scope(),
                owner,
                origin,
                Some(id_token),
                Utc::now(),
            )
            .await?;
        txn.commit().await?;
        Ok(token)
    }

    /// Ends a session (logout).
    pub async fn logout(
        &self,
        tenant: &Tenant,
        session_token: &str,
        account_id: i32,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        sessions::close(&self.db, scope, session_token).await?;
        audit::record(
            &self.db,
            scope,
            Some(account_id),
            AuditKind::Logout,
            origin,
            None,
        )
        .await?;
        Ok(())
    }
}
