//! Members created ready to log in — password chosen, TOTP enrolled — for
//! the demo (which prints their credentials) and the tests. Never reached
//! from the web: real members join through an invitation.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};

use super::entity::staff_member::{self, StaffStatus};
use super::role::StaffRole;
use super::service::{StaffService, member_by_email};
use super::{StaffError, totp};
use crate::tenancy::Tenant;

/// A member ready to log in, with what they log in with.
#[derive(Debug, Clone)]
pub struct ReadyMember {
    pub member: staff_member::Model,
    pub password: String,
    /// The raw TOTP secret (base32 with [`totp::base32`]).
    pub secret: Vec<u8>,
}

impl StaffService {
    /// Makes `email` an active, enrolled member of the town with this
    /// name, role, password and TOTP secret (`None`: a random one) —
    /// created, or reset if the address is already a member (the demo runs
    /// again on its database, under a new server key).
    pub async fn provision_ready_member(
        &self,
        tenant: &Tenant,
        email: &str,
        (first_name, last_name): (&str, &str),
        role: StaffRole,
        password: &str,
        secret: Option<Vec<u8>>,
    ) -> Result<ReadyMember, StaffError> {
        let scope = tenant.scope();
        let email_key = email.trim().to_lowercase();
        let secret = secret.unwrap_or_else(totp::new_secret);
        let sealed = totp::seal_secret(&secret, &self.secret_key).ok_or(StaffError::Secret)?;
        let hash = self.hasher.hash(password).await?;
        let now = Utc::now();
        let mut row = staff_member::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            email: Set(email.trim().to_owned()),
            email_key: Set(email_key.clone()),
            first_name: Set(first_name.to_owned()),
            last_name: Set(last_name.to_owned()),
            role: Set(role),
            status: Set(StaffStatus::Active),
            password_hash: Set(Some(hash)),
            totp_secret: Set(Some(sealed)),
            totp_enrolled_at: Set(Some(now)),
            totp_last_step: Set(None),
            created_at: Set(now),
            last_login_at: Set(None),
            ..Default::default()
        };
        let member = match member_by_email(&self.db, scope, &email_key).await? {
            Some(existing) => {
                row.id = Set(existing.id);
                row.created_at = Set(existing.created_at);
                row.update(&self.db).await?
            }
            None => row.insert(&self.db).await?,
        };
        Ok(ReadyMember {
            member,
            password: password.to_owned(),
            secret,
        })
    }

    /// The current TOTP code of every enrolled member of the town, for the
    /// demo's page: (member, code).
    pub async fn current_codes(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<(staff_member::Model, String)>, StaffError> {
        let now = Utc::now();
        Ok(self
            .members(tenant)
            .await?
            .into_iter()
            .filter(|member| member.totp_enrolled_at.is_some())
            .filter_map(|member| {
                let secret = totp::open_secret(member.totp_secret.as_deref()?, &self.secret_key)?;
                Some((member, totp::code_at(&secret, now)))
            })
            .collect())
    }
}
