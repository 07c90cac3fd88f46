//! The resident answers a request that waits for information: their
//! message joins the history, the request goes back to "En cours", and the
//! agent handling it is told by mail (without the message: it stays in the
//! back-office), all in one transaction.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, QueryFilter as _};
use serde::Serialize;

use super::desk::message_of;
use super::entity::request;
use super::entity::request_event::{self, EventAuthor};
use super::{DeskError, Refusal, RequestDesk, RequestStatus};
use crate::accounts::entity::account;
use crate::audit::{self, Actor, AuditKind, Origin};
use crate::mail::MailKind;
use crate::staff::entity::staff_member;
use crate::tenancy::Tenant;

#[derive(Serialize)]
struct RequestAnsweredMail<'a> {
    reference: &'a str,
    title: &'a str,
    resident: String,
    link: String,
}

impl RequestDesk {
    /// `account_id` answers their request `reference`.
    pub async fn answer(
        &self,
        tenant: &Tenant,
        account_id: i32,
        reference: &str,
        text: &str,
        origin: &Origin,
    ) -> Result<(), DeskError> {
        let text = message_of(text)
            .map_err(DeskError::Refused)?
            .ok_or(DeskError::Refused(Refusal::EmptyAnswer))?;
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let request = scope
            .select::<request::Entity>()
            .filter(request::Column::AccountId.eq(account_id))
            .filter(request::Column::Reference.eq(reference))
            .one(&txn)
            .await?
            .ok_or(DeskError::NotFound)?;
        if request.status != RequestStatus::WaitingForInformation {
            return Err(DeskError::Refused(Refusal::NotWaiting));
        }
        let now = Utc::now();
        // Only while it still waits: a second answer sent at the same time
        // (or a status the agent gave meanwhile) is refused.
        let updated = scope
            .update::<request::Entity>()
            .set(request::ActiveModel {
                status: Set(RequestStatus::InProgress),
                updated_at: Set(now),
                ..Default::default()
            })
            .filter(request::Column::Id.eq(request.id))
            .filter(request::Column::Status.eq(RequestStatus::WaitingForInformation))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(DeskError::Refused(Refusal::NotWaiting));
        }
        request_event::ActiveModel {
            request_id: Set(request.id),
            status: Set(RequestStatus::InProgress),
            note: Set(Some(text)),
            at: Set(now),
            author: Set(Some(EventAuthor::Resident)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let agent = match request.assignee_id {
            Some(id) => {
                scope
                    .select::<staff_member::Entity>()
                    .filter(staff_member::Column::Id.eq(id))
                    .one(&txn)
                    .await?
            }
            None => None,
        };
        if let Some(agent) = agent {
            let resident = scope
                .select::<account::Entity>()
                .filter(account::Column::Id.eq(account_id))
                .one(&txn)
                .await?
                .map(|account| crate::format::full_name(&account.first_name, &account.last_name))
                .unwrap_or_default();
            let mail = RequestAnsweredMail {
                reference: &request.reference,
                title: &request.title,
                resident,
                link: self
                    .mailer
                    .links()
                    .town_url(tenant, &format!("/admin/demandes/{}", request.reference)),
            };
            self.mailer
                .queue(&txn, tenant, MailKind::RequestAnswered, &agent.email, mail)
                .await?;
        }
        audit::record_event(
            &txn,
            scope,
            audit::Event {
                kind: AuditKind::RequestAnswered,
                actor: Actor::Resident(account_id),
                subject: Some(account_id),
                origin,
                detail: Some(request.reference.clone()),
            },
        )
        .await?;
        txn.commit().await?;
        self.wake_mail();
        Ok(())
    }
}
