//! The team, as administrators manage it: the list, role changes,
//! suspension and reactivation. A change to a member closes their sessions
//! at once (a suspended member is out; a new role takes effect at the next
//! login, never half-way through a page). The town's last active
//! administrator can be neither suspended nor demoted — not even by
//! themselves — so that a town is never left without one.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _};

use super::entity::staff_member::{self, StaffStatus};
use super::role::StaffRole;
use super::service::{StaffService, member_by_id};
use super::{StaffError, actor, sessions};
use crate::audit::{self, AuditKind, Event, Origin};
use crate::tenancy::Tenant;

/// Why a change was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefused {
    /// No such member in this town.
    NotFound,
    /// It would leave the town without an active administrator.
    LastAdministrator,
}

impl ChangeRefused {
    pub fn message(self) -> &'static str {
        match self {
            Self::NotFound => "Ce membre de l'équipe n'existe pas.",
            Self::LastAdministrator => {
                "Impossible : la commune doit garder au moins un administrateur actif. \
                 Nommez d'abord un autre administrateur."
            }
        }
    }
}

impl StaffService {
    /// The town's team: active members first, then by name.
    pub async fn members(&self, tenant: &Tenant) -> Result<Vec<staff_member::Model>, StaffError> {
        let mut members = tenant
            .scope()
            .select::<staff_member::Entity>()
            .order_by_asc(staff_member::Column::LastName)
            .order_by_asc(staff_member::Column::FirstName)
            .order_by_asc(staff_member::Column::EmailKey)
            .all(&self.db)
            .await?;
        members.sort_by_key(|member| member.status != StaffStatus::Active);
        Ok(members)
    }

    /// One member of the town.
    pub async fn member(
        &self,
        tenant: &Tenant,
        id: i32,
    ) -> Result<Option<staff_member::Model>, StaffError> {
        Ok(member_by_id(&self.db, tenant.scope(), id).await?)
    }

    /// Gives `target` the role `role`, by `by`.
    pub async fn change_role(
        &self,
        tenant: &Tenant,
        by: &staff_member::Model,
        target: i32,
        role: StaffRole,
        origin: &Origin,
    ) -> Result<Result<(), ChangeRefused>, StaffError> {
        self.change(tenant, by, target, Change::Role(role), origin)
            .await
    }

    /// Suspends (`true`) or reactivates `target`, by `by`.
    pub async fn set_suspended(
        &self,
        tenant: &Tenant,
        by: &staff_member::Model,
        target: i32,
        suspended: bool,
        origin: &Origin,
    ) -> Result<Result<(), ChangeRefused>, StaffError> {
        let change = if suspended {
            Change::Suspend
        } else {
            Change::Reactivate
        };
        self.change(tenant, by, target, change, origin).await
    }

    async fn change(
        &self,
        tenant: &Tenant,
        by: &staff_member::Model,
        target: i32,
        change: Change,
        origin: &Origin,
    ) -> Result<Result<(), ChangeRefused>, StaffError> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        // The town's active administrators, locked (PostgreSQL) until the
        // change commits: two administrators demoting each other at once
        // cannot both pass the check. SQLite's write transaction already
        // serializes writers.
        let administrators: Vec<i32> = scope
            .select::<staff_member::Entity>()
            .filter(staff_member::Column::Role.eq(StaffRole::Administrateur))
            .filter(staff_member::Column::Status.eq(StaffStatus::Active))
            .lock_exclusive()
            .all(&txn)
            .await?
            .into_iter()
            .map(|member| member.id)
            .collect();
        let Some(member) = member_by_id(&txn, scope, target).await? else {
            return Ok(Err(ChangeRefused::NotFound));
        };
        let loses_administration = administrators.contains(&member.id)
            && match change {
                Change::Role(role) => role != StaffRole::Administrateur,
                Change::Suspend => true,
                Change::Reactivate => false,
            };
        if loses_administration && administrators.iter().all(|id| *id == member.id) {
            return Ok(Err(ChangeRefused::LastAdministrator));
        }
        let (update, kind, detail) = match change {
            Change::Role(role) => (
                scope
                    .update::<staff_member::Entity>()
                    .col_expr(staff_member::Column::Role, Expr::value(role)),
                AuditKind::StaffRoleChanged,
                format!(
                    "{} : {} → {}",
                    member.email,
                    member.role.as_str(),
                    role.as_str()
                ),
            ),
            Change::Suspend => (
                scope.update::<staff_member::Entity>().col_expr(
                    staff_member::Column::Status,
                    Expr::value(StaffStatus::Suspended),
                ),
                AuditKind::StaffSuspended,
                member.email.clone(),
            ),
            Change::Reactivate => (
                scope.update::<staff_member::Entity>().col_expr(
                    staff_member::Column::Status,
                    Expr::value(StaffStatus::Active),
                ),
                AuditKind::StaffReactivated,
                member.email.clone(),
            ),
        };
        update
            .filter(staff_member::Column::Id.eq(member.id))
            .exec(&txn)
            .await?;
        sessions::close_all(&txn, scope, member.id).await?;
        audit::record_event(
            &txn,
            scope,
            Event {
                kind,
                actor: actor(by),
                subject: None,
                origin,
                detail: Some(detail),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Ok(()))
    }
}

#[derive(Debug, Clone, Copy)]
enum Change {
    Role(StaffRole),
    Suspend,
    Reactivate,
}
