//! TOTP enrolment, at the end of an invitation: a secret is drawn and kept
//! (sealed) on the member, shown as a QR code and as text; a first right
//! code confirms it, and the ten recovery codes are drawn and shown once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, QueryFilter as _};

use super::entity::staff_member;
use super::service::{StaffService, member_by_id};
use super::sessions::StaffSession;
use super::{StaffError, actor, recovery, totp};
use crate::accounts::throttle::{self, ThrottleKey};
use crate::audit::{self, AuditKind, Event, Origin};
use crate::tenancy::Tenant;

/// What the enrolment page shows.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, in groups of four.
    pub secret_text: String,
    /// The QR code of the `otpauth://` URI, an inline SVG element.
    pub qr_svg: String,
}

/// The answer to the enrolment's confirmation.
#[derive(Debug)]
pub enum EnrolOutcome {
    /// Enrolled: the verified session's token and the recovery codes, in
    /// clear this once.
    Done {
        token: String,
        recovery_codes: Vec<String>,
    },
    WrongCode,
    Throttled(i64),
}

impl StaffService {
    /// The member's pending secret (drawn now if there is none), as the
    /// enrolment page shows it.
    pub async fn enrolment(
        &self,
        tenant: &Tenant,
        member: &staff_member::Model,
    ) -> Result<Enrolment, StaffError> {
        let scope = tenant.scope();
        let existing = match &member.totp_secret {
            Some(sealed) if member.totp_enrolled_at.is_none() => {
                totp::open_secret(sealed, &self.secret_key)
            }
            _ => None,
        };
        let secret = match existing {
            Some(secret) => secret,
            None => {
                let secret = totp::new_secret();
                let sealed =
                    totp::seal_secret(&secret, &self.secret_key).ok_or(StaffError::Secret)?;
                scope
                    .update::<staff_member::Entity>()
                    .col_expr(staff_member::Column::TotpSecret, Expr::value(Some(sealed)))
                    .col_expr(
                        staff_member::Column::TotpEnrolledAt,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .col_expr(
                        staff_member::Column::TotpLastStep,
                        Expr::value(Option::<i64>::None),
                    )
                    .filter(staff_member::Column::Id.eq(member.id))
                    .exec(&self.db)
                    .await?;
                secret
            }
        };
        let issuer = format!("{} (Guichet)", tenant.display_name);
        let uri = totp::otpauth_uri(&secret, &issuer, &member.email);
        let qr_svg = totp::qr_svg(
            &uri,
            "QR code à scanner avec votre application d'authentification",
        )
        .ok_or(StaffError::Secret)?;
        Ok(Enrolment {
            secret_text: totp::grouped(&secret),
            qr_svg,
        })
    }

    /// Confirms the enrolment with a first code of the pending secret.
    pub async fn confirm_enrolment(
        &self,
        tenant: &Tenant,
        half: &StaffSession,
        typed: &str,
        origin: &Origin,
    ) -> Result<EnrolOutcome, StaffError> {
        let scope = tenant.scope();
        let key = ThrottleKey::StaffCode(half.member.id);
        let now = Utc::now();
        if let Some(wait) =
            throttle::wait_needed(&self.db, scope, std::slice::from_ref(&key), now).await?
        {
            return Ok(EnrolOutcome::Throttled(wait.num_seconds().max(1)));
        }
        if let throttle::Admission::Wait(wait) =
            throttle::attempt(&self.db, scope, &key, now).await?
        {
            return Ok(EnrolOutcome::Throttled(wait.num_seconds().max(1)));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        // Read again inside the transaction: the page may be old.
        let Some(member) = member_by_id(&txn, scope, half.member.id).await? else {
            return Ok(EnrolOutcome::WrongCode);
        };
        if member.totp_enrolled_at.is_some()
            || !self.accept_totp(&txn, scope, &member, typed, now).await?
        {
            txn.rollback().await?;
            return Ok(EnrolOutcome::WrongCode);
        }
        scope
            .update::<staff_member::Entity>()
            .col_expr(staff_member::Column::TotpEnrolledAt, Expr::value(Some(now)))
            .filter(staff_member::Column::Id.eq(member.id))
            .exec(&txn)
            .await?;
        let recovery_codes = recovery::replace_codes(&txn, scope, member.id, now).await?;
        audit::record_event(
            &txn,
            scope,
            Event {
                kind: AuditKind::StaffTotpEnrolled,
                actor: actor(&member),
                subject: None,
                origin,
                detail: None,
            },
        )
        .await?;
        let token = self
            .finish_login(&txn, scope, half, origin, now, false)
            .await?;
        txn.commit().await?;
        throttle::clear(&self.db, scope, &key).await?;
        Ok(EnrolOutcome::Done {
            token,
            recovery_codes,
        })
    }
}
