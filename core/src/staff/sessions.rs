//! Staff sessions: the cookie holds a random token, the database its hash.
//! A session is opened by the right password but opens nothing until the
//! second factor is given (`verified_at`); then a new one replaces it (a new
//! token at each step, against fixation). Both limits are checked at each
//! lookup: 15 minutes idle, 8 hours in all; expired sessions are deleted on
//! sight, and so are the sessions of a member no longer active.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr,
    QueryFilter as _,
};

use super::StaffError;
use super::entity::staff_member::{self, StaffStatus};
use super::entity::staff_session;
use super::service::{StaffService, member_by_id};
use crate::accounts::secrets::{new_token, token_hash};
use crate::audit::Origin;
use crate::tenancy::{Tenant, TenantScope};

/// `last_seen_at` is written at most this often.
const TOUCH_EVERY_SECONDS: i64 = 30;

/// A live session and its member.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub session: staff_session::Model,
    pub member: staff_member::Model,
}

impl StaffSession {
    /// The second factor was given: the back-office is open.
    pub fn is_verified(&self) -> bool {
        self.session.verified_at.is_some()
    }
}

/// Opens a session for `member_id` (verified or not); returns the token.
pub(super) async fn open(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    member_id: i32,
    verified: bool,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let token = new_token();
    staff_session::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        staff_id: Set(member_id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        verified_at: Set(verified.then_some(now)),
        ip: Set(origin.ip.clone()),
        user_agent: Set(origin.stored_user_agent()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// Ends the session with this id.
pub(super) async fn close_by_id(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    id: i32,
) -> Result<(), DbErr> {
    scope
        .delete::<staff_session::Entity>()
        .filter(staff_session::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every session of a member (suspension, role change).
pub(super) async fn close_all(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    member_id: i32,
) -> Result<u64, DbErr> {
    scope
        .delete::<staff_session::Entity>()
        .filter(staff_session::Column::StaffId.eq(member_id))
        .exec(db)
        .await
        .map(|result| result.rows_affected)
}

impl StaffService {
    /// The live session of a cookie's token in this town, with its member.
    pub async fn session(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<Option<StaffSession>, StaffError> {
        self.session_at(tenant, token, Utc::now()).await
    }

    /// [`StaffService::session`] as seen at `now` (the tests' clock).
    pub async fn session_at(
        &self,
        tenant: &Tenant,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffSession>, StaffError> {
        let scope = tenant.scope();
        let Some(found) = scope
            .select::<staff_session::Entity>()
            .filter(staff_session::Column::TokenHash.eq(token_hash(token)))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if found.created_at + self.limits.absolute <= now
            || found.last_seen_at + self.limits.idle <= now
        {
            close_by_id(&self.db, scope, found.id).await?;
            return Ok(None);
        }
        let member = match member_by_id(&self.db, scope, found.staff_id).await? {
            Some(member) if member.status == StaffStatus::Active => member,
            // Suspension closes the sessions; this is the belt to its braces.
            _ => {
                close_all(&self.db, scope, found.staff_id).await?;
                return Ok(None);
            }
        };
        if (now - found.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
            scope
                .update::<staff_session::Entity>()
                .col_expr(staff_session::Column::LastSeenAt, Expr::value(now))
                .filter(staff_session::Column::Id.eq(found.id))
                .exec(&self.db)
                .await?;
        }
        Ok(Some(StaffSession {
            session: found,
            member,
        }))
    }
}
