//! A request's file, as the staff read it: the resident, the answers of the
//! form, the history, the internal notes, who handles it and where it may
//! go next.

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use super::desk::by_reference;
use super::entity::{request, request_event, request_note};
use super::{DeskError, RequestDesk, RequestStatus, request_types, transition_allowed};
use crate::accounts::entity::account;
use crate::staff::{StaffMember, StaffStatus, entity::staff_member};
use crate::tenancy::Tenant;

#[derive(Debug, Clone)]
pub struct RequestCase {
    pub request: request::Model,
    pub resident: account::Model,
    /// Oldest first.
    pub events: Vec<request_event::Model>,
    /// Oldest first.
    pub notes: Vec<request_note::Model>,
    pub assignee: Option<StaffMember>,
    /// The statuses the staff may give it now (the table, narrowed by its
    /// type).
    pub next: Vec<RequestStatus>,
    /// The town's active members, who may be assigned to it.
    pub team: Vec<StaffMember>,
}

/// The statuses the request's type allows, if it restricts them.
pub(super) fn allowed_statuses(
    tenant: &Tenant,
    request: &request::Model,
) -> Option<Vec<RequestStatus>> {
    if request.module_id.is_some() {
        return None;
    }
    request_types(tenant)
        .iter()
        .find(|declared| declared.id == request.kind)
        .and_then(super::RequestType::allowed_statuses)
}

impl RequestDesk {
    /// The town's request `reference`, with everything the staff see of it.
    pub async fn case(&self, tenant: &Tenant, reference: &str) -> Result<RequestCase, DeskError> {
        let scope = tenant.scope();
        let request = by_reference(&self.db, scope, reference).await?;
        let resident = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(request.account_id))
            .one(&self.db)
            .await?
            .ok_or(DeskError::NotFound)?;
        let events = request_event::Entity::find()
            .filter(request_event::Column::RequestId.eq(request.id))
            .order_by_asc(request_event::Column::At)
            .order_by_asc(request_event::Column::Id)
            .all(&self.db)
            .await?;
        let notes = request_note::Entity::find()
            .filter(request_note::Column::RequestId.eq(request.id))
            .order_by_asc(request_note::Column::At)
            .order_by_asc(request_note::Column::Id)
            .all(&self.db)
            .await?;
        let members = scope
            .select::<staff_member::Entity>()
            .order_by_asc(staff_member::Column::LastName)
            .order_by_asc(staff_member::Column::FirstName)
            .all(&self.db)
            .await?;
        let assignee = request
            .assignee_id
            .and_then(|id| members.iter().find(|member| member.id == id).cloned());
        let allowed = allowed_statuses(tenant, &request);
        let next = RequestStatus::ALL
            .into_iter()
            .filter(|to| transition_allowed(request.status, *to, allowed.as_deref()))
            .collect();
        let team = members
            .into_iter()
            .filter(|member| member.status == StaffStatus::Active && member.has_joined())
            .collect();
        Ok(RequestCase {
            request,
            resident,
            events,
            notes,
            assignee,
            next,
            team,
        })
    }
}
