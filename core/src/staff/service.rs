//! The staff service's handle. Its operations live in one file per use
//! case, each with its own `impl StaffService`.

use std::sync::Arc;

use chrono::Duration;
use sea_orm::{ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbErr, QueryFilter as _};

use super::entity::staff_member;
use crate::accounts::PasswordHasher;
use crate::mail::Mailer;
use crate::tenancy::TenantScope;

/// How long a staff session lives: 15 minutes without a request, 8 hours
/// in all, whatever the activity.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(8),
        }
    }
}

/// The staff service. Cheap to clone; managed by the web layer.
#[derive(Debug, Clone)]
pub struct StaffService {
    pub(super) db: DatabaseConnection,
    pub(super) hasher: PasswordHasher,
    pub(super) mailer: Mailer,
    /// Encrypts and seals the TOTP secrets.
    pub(super) secret_key: Arc<[u8]>,
    pub(super) limits: SessionLimits,
}

impl StaffService {
    pub fn new(
        db: DatabaseConnection,
        hasher: PasswordHasher,
        mailer: Mailer,
        secret_key: Arc<[u8]>,
    ) -> Self {
        Self {
            db,
            hasher,
            mailer,
            secret_key,
            limits: SessionLimits::default(),
        }
    }

    /// The session limits in force.
    pub fn limits(&self) -> SessionLimits {
        self.limits
    }
}

/// The town's member with this id.
pub(super) async fn member_by_id(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    id: i32,
) -> Result<Option<staff_member::Model>, DbErr> {
    scope
        .select::<staff_member::Entity>()
        .filter(staff_member::Column::Id.eq(id))
        .one(db)
        .await
}

/// The town's member with this address (already lower-cased).
pub(super) async fn member_by_email(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    email_key: &str,
) -> Result<Option<staff_member::Model>, DbErr> {
    scope
        .select::<staff_member::Entity>()
        .filter(staff_member::Column::EmailKey.eq(email_key))
        .one(db)
        .await
}
