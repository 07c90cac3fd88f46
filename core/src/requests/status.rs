//! A member of the staff moves a request along the table of
//! transitions.rs, with a message to the resident: the step and its message
//! join the request's history (the resident's page shows them) and the
//! resident gets them by mail, queued in the same transaction.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, QueryFilter as _};
use serde::Serialize;

use super::case::allowed_statuses;
use super::desk::{by_reference, journal, message_of};
use super::entity::request;
use super::entity::request_event::{self, EventAuthor};
use super::{DeskError, Refusal, RequestDesk, RequestStatus, transition_allowed};
use crate::accounts::entity::account;
use crate::audit::{AuditKind, Origin};
use crate::mail::MailKind;
use crate::staff::StaffMember;
use crate::tenancy::Tenant;

#[derive(Serialize)]
struct RequestUpdatedMail<'a> {
    first_name: &'a str,
    last_name: &'a str,
    reference: &'a str,
    title: &'a str,
    status: &'static str,
    message: Option<&'a str>,
    waiting: bool,
    link: String,
}

impl RequestDesk {
    /// Gives the request status `to`, with `message` for the resident
    /// (required to ask for information or to refuse). A request nobody
    /// handled yet becomes `by`'s.
    pub async fn change_status(
        &self,
        tenant: &Tenant,
        by: &StaffMember,
        reference: &str,
        to: RequestStatus,
        message: &str,
        origin: &Origin,
    ) -> Result<(), DeskError> {
        let message = message_of(message).map_err(DeskError::Refused)?;
        if message.is_none()
            && matches!(
                to,
                RequestStatus::WaitingForInformation | RequestStatus::Refused
            )
        {
            return Err(DeskError::Refused(Refusal::MessageRequired(to)));
        }
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let request = by_reference(&txn, scope, reference).await?;
        let from = request.status;
        let allowed = allowed_statuses(tenant, &request);
        if !transition_allowed(from, to, allowed.as_deref()) {
            return Err(DeskError::Refused(Refusal::Transition { from, to }));
        }
        let resident = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(request.account_id))
            .one(&txn)
            .await?
            .ok_or(DeskError::NotFound)?;
        let now = Utc::now();
        let mut row = request::ActiveModel {
            status: Set(to),
            updated_at: Set(now),
            ..Default::default()
        };
        if !to.is_open() && request.closed_at.is_none() {
            row.closed_at = Set(Some(now));
        }
        if request.assignee_id.is_none() {
            row.assignee_id = Set(Some(by.id));
        }
        // Only from the status this transition was checked against: two
        // members acting at once (READ COMMITTED) cannot both move it.
        let updated = scope
            .update::<request::Entity>()
            .set(row)
            .filter(request::Column::Id.eq(request.id))
            .filter(request::Column::Status.eq(from))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(DeskError::Refused(Refusal::Changed));
        }
        request_event::ActiveModel {
            request_id: Set(request.id),
            status: Set(to),
            note: Set(message.clone()),
            at: Set(now),
            author: Set(Some(EventAuthor::Staff)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let link = self
            .mailer
            .links()
            .town_url(tenant, &format!("/demarches/{}", request.reference));
        let mail = RequestUpdatedMail {
            first_name: &resident.first_name,
            last_name: &resident.last_name,
            reference: &request.reference,
            title: &request.title,
            status: to.label(),
            message: message.as_deref(),
            waiting: to == RequestStatus::WaitingForInformation,
            link,
        };
        self.mailer
            .queue(
                &txn,
                tenant,
                MailKind::RequestUpdated,
                &resident.email,
                mail,
            )
            .await?;
        let detail = format!("{} → {}", from.label(), to.label());
        journal(
            &txn,
            scope,
            AuditKind::RequestStatusChanged,
            by,
            &request,
            origin,
            detail,
        )
        .await?;
        txn.commit().await?;
        self.wake_mail();
        Ok(())
    }
}
