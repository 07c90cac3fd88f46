//! Taking a request, or assigning it to a member of the team.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, IntoActiveModel as _,
    QueryFilter as _,
};

use super::desk::{by_reference, journal};
use super::{DeskError, Refusal, RequestDesk};
use crate::audit::{AuditKind, Origin};
use crate::staff::{StaffMember, StaffStatus, entity::staff_member};
use crate::tenancy::Tenant;

impl RequestDesk {
    /// `by` assigns the request to `to` (themselves when they take it): an
    /// active member of the town's team.
    pub async fn assign(
        &self,
        tenant: &Tenant,
        by: &StaffMember,
        reference: &str,
        to: i32,
        origin: &Origin,
    ) -> Result<(), DeskError> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let request = by_reference(&txn, scope, reference).await?;
        let Some(member) = scope
            .select::<staff_member::Entity>()
            .filter(staff_member::Column::Id.eq(to))
            .filter(staff_member::Column::Status.eq(StaffStatus::Active))
            .one(&txn)
            .await?
            .filter(StaffMember::has_joined)
        else {
            return Err(DeskError::Refused(Refusal::UnknownAgent));
        };
        let detail = format!("demande attribuée à {}", member.display_name());
        let mut row = request.clone().into_active_model();
        row.assignee_id = Set(Some(member.id));
        row.updated_at = Set(Utc::now());
        row.update(&txn).await?;
        journal(
            &txn,
            scope,
            AuditKind::RequestAssigned,
            by,
            &request,
            origin,
            detail,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
