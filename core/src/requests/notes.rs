//! Internal notes: what the staff write for one another about a request.
//! Residents never see them (a table of their own, see entity.rs); the
//! journal records that a note was written, not what it says.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set};

use super::desk::{by_reference, journal, message_of};
use super::entity::request_note;
use super::{DeskError, Refusal, RequestDesk};
use crate::audit::{AuditKind, Origin};
use crate::staff::StaffMember;
use crate::tenancy::Tenant;

impl RequestDesk {
    pub async fn add_note(
        &self,
        tenant: &Tenant,
        by: &StaffMember,
        reference: &str,
        body: &str,
        origin: &Origin,
    ) -> Result<(), DeskError> {
        let body = message_of(body)
            .map_err(DeskError::Refused)?
            .ok_or(DeskError::Refused(Refusal::EmptyNote))?;
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let request = by_reference(&txn, scope, reference).await?;
        request_note::ActiveModel {
            request_id: Set(request.id),
            staff_id: Set(by.id),
            staff_label: Set(by.display_name()),
            body: Set(body),
            at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        journal(
            &txn,
            scope,
            AuditKind::RequestNoteAdded,
            by,
            &request,
            origin,
            "note interne ajoutée".to_owned(),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
