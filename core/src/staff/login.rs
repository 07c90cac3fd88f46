//! The way in: the password (throttled like residents' logins, one answer
//! and a decoy hash for unknown addresses), then the second factor — a TOTP
//! code, or one of the ten recovery codes — also throttled; logout.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait as _, Condition, QueryFilter as _};

use super::entity::staff_member::{self, StaffStatus};
use super::recovery;
use super::service::{StaffService, member_by_email};
use super::sessions::{self, StaffSession};
use super::{StaffError, actor, totp};
use crate::accounts::throttle::{self, Admission, ThrottleKey};
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::tenancy::{Tenant, TenantScope};

/// The answer to the password step.
#[derive(Debug)]
pub enum PasswordOutcome {
    /// Right password: a session that opens only the code step.
    CodeStep { token: String },
    /// Wrong address or password (or a member who may not log in): one
    /// answer for all.
    Refused,
    /// Too many failures: wait this many seconds.
    Throttled(i64),
}

/// The answer to the second-factor step.
#[derive(Debug)]
pub enum CodeOutcome {
    /// In: the new, verified session's token; when a recovery code was
    /// used, how many remain.
    Verified {
        token: String,
        recovery_codes_left: Option<u64>,
    },
    Refused,
    Throttled(i64),
}

impl StaffService {
    /// Checks the address and password of a member of this town.
    pub async fn check_password(
        &self,
        tenant: &Tenant,
        email: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<PasswordOutcome, StaffError> {
        let scope = tenant.scope();
        let typed = email.trim().to_lowercase();
        let member = member_by_email(&self.db, scope, &typed).await?;
        let subject = match &member {
            Some(member) => ThrottleKey::StaffMember(member.id),
            None => ThrottleKey::StaffEmail(typed.chars().take(254).collect()),
        };
        let mut keys = vec![subject.clone()];
        if let Some(ip) = &origin.ip {
            keys.push(ThrottleKey::Ip(ip.clone()));
        }
        let who = member.as_ref().map_or(Actor::System, actor);
        if let Some(wait) = admit(&self.db, scope, &keys).await? {
            self.record(scope, AuditKind::StaffLoginThrottled, who, origin)
                .await?;
            return Ok(PasswordOutcome::Throttled(wait));
        }
        // A member who has not chosen a password yet is checked against the
        // decoy, as an unknown address is: same answer, same time.
        let stored = member.as_ref().and_then(|m| m.password_hash.as_deref());
        let matches = self.hasher.verify(password, stored).await?;
        let member = member.filter(|m| matches && m.status == StaffStatus::Active);
        let Some(member) = member else {
            self.record(scope, AuditKind::StaffLoginFailed, who, origin)
                .await?;
            return Ok(PasswordOutcome::Refused);
        };
        throttle::clear(&self.db, scope, &subject).await?;
        for key in &keys[1..] {
            throttle::take_back(&self.db, scope, key).await?;
        }
        let token = sessions::open(&self.db, scope, member.id, false, origin, Utc::now()).await?;
        Ok(PasswordOutcome::CodeStep { token })
    }

    /// The second factor of a session opened by the password: a TOTP code
    /// (within one step, never one accepted before) or an unused recovery
    /// code. The session is replaced by a verified one.
    pub async fn second_factor(
        &self,
        tenant: &Tenant,
        half: &StaffSession,
        typed: &str,
        origin: &Origin,
    ) -> Result<CodeOutcome, StaffError> {
        self.second_factor_at(tenant, half, typed, origin, Utc::now())
            .await
    }

    pub(super) async fn second_factor_at(
        &self,
        tenant: &Tenant,
        half: &StaffSession,
        typed: &str,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<CodeOutcome, StaffError> {
        let scope = tenant.scope();
        let member = &half.member;
        let key = ThrottleKey::StaffCode(member.id);
        if let Some(wait) = admit(&self.db, scope, std::slice::from_ref(&key)).await? {
            self.record(scope, AuditKind::StaffLoginThrottled, actor(member), origin)
                .await?;
            return Ok(CodeOutcome::Throttled(wait));
        }
        let typed = typed.trim();
        let digits = typed.chars().filter(|c| !c.is_whitespace()).count() == totp::DIGITS as usize
            && typed
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_whitespace());
        let txn = crate::db::begin_write(&self.db).await?;
        let (accepted, recovery_used) = if digits {
            (
                self.accept_totp(&txn, scope, member, typed, now).await?,
                false,
            )
        } else {
            (
                recovery::use_code(&txn, scope, member.id, typed, now).await?,
                true,
            )
        };
        if !accepted || member.totp_enrolled_at.is_none() {
            txn.rollback().await?;
            self.record(
                scope,
                AuditKind::StaffSecondFactorFailed,
                actor(member),
                origin,
            )
            .await?;
            return Ok(CodeOutcome::Refused);
        }
        let token = self
            .finish_login(&txn, scope, half, origin, now, recovery_used)
            .await?;
        let left = if recovery_used {
            Some(recovery::unused(&txn, scope, member.id).await?)
        } else {
            None
        };
        txn.commit().await?;
        throttle::clear(&self.db, scope, &key).await?;
        Ok(CodeOutcome::Verified {
            token,
            recovery_codes_left: left,
        })
    }

    /// Accepts `typed` as the member's TOTP code: one atomic update moves
    /// `totp_last_step` forward, so that the same code sent twice at once is
    /// still accepted once.
    pub(super) async fn accept_totp(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        scope: TenantScope,
        member: &staff_member::Model,
        typed: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StaffError> {
        let Some(sealed) = &member.totp_secret else {
            return Ok(false);
        };
        let secret = totp::open_secret(sealed, &self.secret_key).ok_or(StaffError::Secret)?;
        let Some(step) = totp::verify(&secret, typed, now, member.totp_last_step) else {
            return Ok(false);
        };
        let updated = scope
            .update::<staff_member::Entity>()
            .col_expr(staff_member::Column::TotpLastStep, Expr::value(Some(step)))
            .filter(staff_member::Column::Id.eq(member.id))
            .filter(
                Condition::any()
                    .add(staff_member::Column::TotpLastStep.is_null())
                    .add(Expr::col(staff_member::Column::TotpLastStep).lt(step)),
            )
            .exec(db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// Replaces the half session with a verified one, records the login.
    pub(super) async fn finish_login(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        scope: TenantScope,
        half: &StaffSession,
        origin: &Origin,
        now: DateTime<Utc>,
        recovery_used: bool,
    ) -> Result<String, StaffError> {
        sessions::close_by_id(txn, scope, half.session.id).await?;
        let token = sessions::open(txn, scope, half.member.id, true, origin, now).await?;
        scope
            .update::<staff_member::Entity>()
            .col_expr(staff_member::Column::LastLoginAt, Expr::value(Some(now)))
            .filter(staff_member::Column::Id.eq(half.member.id))
            .exec(txn)
            .await?;
        audit::record_event(
            txn,
            scope,
            Event {
                kind: if recovery_used {
                    AuditKind::StaffRecoveryCodeUsed
                } else {
                    AuditKind::StaffLoginSucceeded
                },
                actor: actor(&half.member),
                subject: None,
                origin,
                detail: None,
            },
        )
        .await?;
        Ok(token)
    }

    /// Ends a session (logout, or giving up at the code step).
    pub async fn logout(
        &self,
        tenant: &Tenant,
        session: &StaffSession,
        origin: &Origin,
    ) -> Result<(), StaffError> {
        let scope = tenant.scope();
        sessions::close_by_id(&self.db, scope, session.session.id).await?;
        self.record(
            scope,
            AuditKind::StaffLogout,
            actor(&session.member),
            origin,
        )
        .await
    }

    pub(super) async fn record(
        &self,
        scope: TenantScope,
        kind: AuditKind,
        actor: Actor,
        origin: &Origin,
    ) -> Result<(), StaffError> {
        audit::record_event(
            &self.db,
            scope,
            Event {
                kind,
                actor,
                subject: None,
                origin,
                detail: None,
            },
        )
        .await?;
        Ok(())
    }
}

/// Counts the attempt on every key, or on none: how many seconds to wait if
/// one of them is waiting out a delay (as residents' logins do).
async fn admit(
    db: &sea_orm::DatabaseConnection,
    scope: TenantScope,
    keys: &[ThrottleKey],
) -> Result<Option<i64>, StaffError> {
    if let Some(wait) = throttle::wait_needed(db, scope, keys, Utc::now()).await? {
        return Ok(Some(Ord::max(wait.num_seconds(), 1)));
    }
    for (counted, key) in keys.iter().enumerate() {
        if let Admission::Wait(wait) = throttle::attempt(db, scope, key, Utc::now()).await? {
            for key in &keys[..counted] {
                throttle::take_back(db, scope, key).await?;
            }
            return Ok(Some(Ord::max(wait.num_seconds(), 1)));
        }
    }
    Ok(None)
}
