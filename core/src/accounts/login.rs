//! Login and logout: by identifier or e-mail and password (throttled; the
//! owner's trusted browsers apart from strangers), or through a linked
//! FranceConnect identity.

use chrono::Utc;
use sea_orm::{ColumnTrait as _, Condition, DatabaseTransaction, DbErr, QueryFilter as _};

use super::entity::account::{self, AccountStatus};
use super::error::AccountError;
use super::identifier;
use super::service::Accounts;
use super::sessions;
use super::throttle::{self, Admission, ThrottleKey};
use crate::audit::{self, AuditKind, Origin};
use crate::tenancy::{Tenant, TenantScope};

#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the new session's token, the account as it was before
    /// this login (its `last_login_at` is the previous login), and the
    /// browser's new trusted-device cookie ([`super::DEVICE_COOKIE`]).
    Success {
        session_token: String,
        account: Box<account::Model>,
        device_cookie: Option<String>,
    },
    /// Wrong identifier or password: one answer for both.
    Refused,
    /// Too many failures: try again in this many seconds.
    Throttled(i64),
    /// Right password, but the account was never activated.
    NotActivated,
    /// Right temporary password, but too old.
    TemporaryPasswordExpired,
    /// Right password, but the town disabled the account. Told only to
    /// whoever knows the password, so it tells strangers nothing.
    Disabled,
}

impl Accounts {
    /// The town's account with this identifier (as the town's software
    /// names residents through the data API); a closed account's
    /// pseudonym names nobody.
    pub async fn find_by_identifier(
        &self,
        tenant: &Tenant,
        identifier: &str,
    ) -> Result<Option<account::Model>, DbErr> {
        Ok(self
            .find_any_by_identifier(tenant, identifier)
            .await?
            .filter(|owner| owner.status != AccountStatus::Closed))
    }

    /// The same, a closed account's pseudonym included: what the staff's
    /// page of a closed account (and of the journal's links to it) reads.
    pub async fn find_any_by_identifier(
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
            // A closed account's pseudonym is no login: it is answered
            // as an unknown one, in the same time.
            .filter(account::Column::Status.ne(AccountStatus::Closed))
            .one(&self.db)
            .await
    }

    /// Checks an identifier (or e-mail) and password, with throttling.
    /// `device_cookie` is the browser's trusted-device cookie, if any: when
    /// it trusts this browser for this very account, the attempt is
    /// throttled on that device alone; otherwise on the account (or the
    /// typed identifier) and the client's address.
    pub async fn login(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        device_cookie: Option<&str>,
        origin: &Origin,
    ) -> Result<LoginOutcome, AccountError> {
        // Held until answered: a storm of logins takes turns instead of
        // crowding the pages' statements.
        let _turn = self.hasher.admit_login().await?;
        let scope = tenant.scope();
        let typed = identifier::normalize_login(login);
        let owner = self.find_by_login(scope, &typed).await?;
        let device = owner
            .as_ref()
            .and_then(|owner| self.trusted_device(scope, owner, device_cookie, Utc::now()));
        let subject_key = match (&owner, &device) {
            (Some(owner), Some(device)) => ThrottleKey::Device {
                account: owner.id,
                device: device.clone(),
            },
            (Some(owner), None) => ThrottleKey::Account(owner.id),
            (None, _) => ThrottleKey::Name(typed.chars().take(254).collect()),
        };
        let mut keys = vec![subject_key.clone()];
        // A trusted browser answers for itself: the address it shares
        // (with a guessing neighbour, say) does not hold it back.
        if device.is_none()
            && let Some(ip) = &origin.ip
        {
            keys.push(ThrottleKey::Ip(ip.clone()));
        }
        let account_id = owner.as_ref().map(|o| o.id);

        if let Some(wait) = self.admit(scope, &keys).await? {
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
            // Already counted by `admit`.
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
        // The right password: its key starts afresh, and the address takes
        // its attempt back (`forgive`) — in the transaction that opens the
        // session, one commit after the hash instead of three: a storm's
        // commits are what other writes wait behind. Last before each
        // commit: the address's row, shared by every login from behind one
        // router, is held from there to the commit only.
        let txn = crate::db::begin_write(&self.db).await?;
        let forgive = async |txn: &DatabaseTransaction| -> Result<(), DbErr> {
            throttle::clear(txn, scope, &subject_key).await?;
            for key in &keys[1..] {
                throttle::take_back(txn, scope, key).await?;
            }
            Ok(())
        };

        if owner.disabled_at.is_some() {
            audit::record(
                &txn,
                scope,
                Some(owner.id),
                AuditKind::LoginRefusedDisabled,
                origin,
                None,
            )
            .await?;
            forgive(&txn).await?;
            txn.commit().await?;
            return Ok(LoginOutcome::Disabled);
        }
        let now = Utc::now();
        let temporary_expired = owner.password_is_temporary
            && owner
                .temporary_password_expires_at
                .is_some_and(|expiry| expiry <= now);
        let refusal = match owner.status {
            AccountStatus::Active if temporary_expired => {
                Some(LoginOutcome::TemporaryPasswordExpired)
            }
            AccountStatus::Active => None,
            AccountStatus::Pending => Some(LoginOutcome::NotActivated),
            AccountStatus::Closed => Some(LoginOutcome::Refused),
        };
        if let Some(refusal) = refusal {
            forgive(&txn).await?;
            txn.commit().await?;
            return Ok(refusal);
        }

        let Some(session_token) = self
            .open_session(&txn, tenant, &owner, origin, None, now)
            .await?
        else {
            // Closed while the password was being checked: nothing of the
            // session was written, the throttle's keys are still cleared.
            forgive(&txn).await?;
            txn.commit().await?;
            return Ok(LoginOutcome::Refused);
        };
        forgive(&txn).await?;
        txn.commit().await?;
        let device_cookie = self.seal_device(scope, owner.id, device, now);
        Ok(LoginOutcome::Success {
            session_token,
            account: Box::new(owner),
            device_cookie,
        })
    }

    /// Counts the attempt on every key, or on none: how long to wait if one
    /// of them is waiting out a delay. Each key's count and delay are one
    /// atomic statement (`throttle::attempt`), so attempts at the same
    /// moment neither slip past a delay nor refuse one another.
    pub(super) async fn admit(
        &self,
        scope: TenantScope,
        keys: &[ThrottleKey],
    ) -> Result<Option<chrono::Duration>, AccountError> {
        // Most refusals stop here, without writing anything.
        if let Some(wait) = throttle::wait_needed(&self.db, scope, keys, Utc::now()).await? {
            return Ok(Some(wait));
        }
        for (counted, key) in keys.iter().enumerate() {
            if let Admission::Wait(wait) =
                throttle::attempt(&self.db, scope, key, Utc::now()).await?
            {
                // Blocked meanwhile: the keys already counted take it back.
                for key in &keys[..counted] {
                    throttle::take_back(&self.db, scope, key).await?;
                }
                return Ok(Some(wait));
            }
        }
        Ok(None)
    }

    /// Logs in the account an identity is linked to (the caller found it
    /// active through the link); none when it was closed meanwhile.
    pub async fn login_with_franceconnect(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        id_token: &str,
        origin: &Origin,
    ) -> Result<Option<String>, AccountError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .open_session(&txn, tenant, owner, origin, Some(id_token), Utc::now())
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
