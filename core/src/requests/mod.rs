//! Requests ("demandes"): what a resident asked of the town, with a status
//! and its dated history. Residents submit them through [`Requests::submit`];
//! modules create them through the host, inside the transaction of their
//! action ([`create`]).
//!
//! A request's reference ("D-2026-000042") takes the town's next number from
//! its `request_counter` row in one atomic statement, so submissions at the
//! same time (on any number of instances) never get the same one.
//!
//! The town's staff handle them through [`RequestDesk`]: the inbox
//! (inbox.rs), a request's file (case.rs), taking and assigning (assign.rs),
//! status changes with a message mailed to the resident (status.rs, along
//! the table of transitions.rs), internal notes (notes.rs), the resident's
//! answer to a request waiting for information (answer.rs) and the
//! statistics (stats.rs). Every staff action is recorded in the journal
//! with the resident as its subject, in the action's transaction, as is
//! its mail (outbox).
//!
//! Error policy: functions that run in the caller's connection or
//! transaction ([`create`], [`latest`], [`find`]) return database errors as
//! they are (`DbErr`); [`Requests::submit`] owns its transaction and returns
//! a [`RequestError`], which callers on the request path turn into their own
//! layer's error (nothing of it is shown to residents). The desk's actions
//! return a [`DeskError`]: [`DeskError::Refused`] carries what the page says
//! in French (a transition the table forbids, a missing message…), nothing
//! written; the others are failures of the database or of composing a mail.

mod answer;
mod assign;
mod case;
mod desk;
pub mod entity;
mod inbox;
mod notes;
pub mod personal_data;
mod stats;
mod status;
mod transitions;
mod types;

use chrono::{Datelike as _, Utc};
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    DbErr, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use std::sync::Arc;

use crate::tenancy::{Tenant, TenantScope};
use crate::versions::{Memo, Stamp, Subject};
pub use case::RequestCase;
pub use desk::{DeskError, MAX_MESSAGE_CHARS, Refusal, RequestDesk};
use entity::{request, request_counter, request_event};
pub use inbox::{
    Assignee, INBOX_PAGE_SIZE, InboxFilter, InboxPage, InboxRow, KindFilter, StatusFilter,
};
pub use stats::{RequestStats, median};
pub use transitions::{next_statuses, transition_allowed};
pub use types::{RequestType, request_types};

/// Where a request stands. The stored values are the historical strings
/// (`deposee`, `en-cours`…): rows written before this enum read unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RequestStatus {
    #[sea_orm(string_value = "deposee")]
    Submitted,
    #[sea_orm(string_value = "en-cours")]
    InProgress,
    /// The town asked the resident something; their answer puts the
    /// request back "en cours".
    #[sea_orm(string_value = "en-attente")]
    WaitingForInformation,
    #[sea_orm(string_value = "acceptee")]
    Accepted,
    #[sea_orm(string_value = "refusee")]
    Refused,
    /// Done: the town did what was asked (an attestation sent…).
    #[sea_orm(string_value = "terminee")]
    Done,
}

impl RequestStatus {
    /// What residents read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "Déposée",
            Self::InProgress => "En cours de traitement",
            Self::WaitingForInformation => "En attente d'informations",
            Self::Accepted => "Acceptée",
            Self::Refused => "Refusée",
            Self::Done => "Terminée",
        }
    }

    pub const ALL: [RequestStatus; 6] = [
        Self::Submitted,
        Self::InProgress,
        Self::WaitingForInformation,
        Self::Accepted,
        Self::Refused,
        Self::Done,
    ];

    /// The stored value, also what forms and URLs carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "deposee",
            Self::InProgress => "en-cours",
            Self::WaitingForInformation => "en-attente",
            Self::Accepted => "acceptee",
            Self::Refused => "refusee",
            Self::Done => "terminee",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// Open: someone still has to act (the town, or the resident asked for
    /// information). Closed requests keep the date they closed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::InProgress | Self::WaitingForInformation
        )
    }

    /// The theme's tone for its badge: `success`, `warning`, `error` or `info`.
    pub fn tone(self) -> &'static str {
        match self {
            Self::Accepted | Self::Done => "success",
            Self::Refused => "error",
            Self::WaitingForInformation => "warning",
            Self::Submitted | Self::InProgress => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub kind: String,
    pub module_id: Option<String>,
    pub title: String,
    pub details: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
}

/// The requests of a town's residents, as the web faces use them: each call
/// takes the town and the account, never a bare id.
/// A resident's latest requests, with the counter they were read under.
type KeptRequests = (i64, Arc<[request::Model]>);

#[derive(Debug, Clone)]
pub struct Requests {
    db: DatabaseConnection,
    /// The latest requests by (town, account, how many), with the
    /// resident's requests counter.
    memo: Arc<Memo<(i32, i32, u64), KeptRequests>>,
}

impl Requests {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            memo: Arc::new(Memo::new(crate::versions::PERSONAL_MEMO_ENTRIES)),
        }
    }

    /// [`Self::latest`], reused while the resident's requests counter in
    /// `stamp` has not moved (a new request, a status changed).
    pub async fn latest_at(
        &self,
        tenant: &Tenant,
        account_id: i32,
        limit: u64,
        stamp: &Stamp,
    ) -> Result<Arc<[request::Model]>, DbErr> {
        let version = match stamp.resident(Subject::Requests) {
            Some(version) if stamp.account_id() == Some(account_id) => version,
            _ => return Ok(self.latest(tenant, account_id, limit).await?.into()),
        };
        self.memo
            .get_or_read((tenant.id().get(), account_id, limit), version, async {
                Ok(self.latest(tenant, account_id, limit).await?.into())
            })
            .await
    }

    /// The account's latest requests, newest first.
    pub async fn latest(
        &self,
        tenant: &Tenant,
        account_id: i32,
        limit: u64,
    ) -> Result<Vec<request::Model>, DbErr> {
        latest(&self.db, tenant.scope(), account_id, limit).await
    }

    /// The account's request by its reference, with its history.
    pub async fn find(
        &self,
        tenant: &Tenant,
        account_id: i32,
        reference: &str,
    ) -> Result<Option<(request::Model, Vec<request_event::Model>)>, DbErr> {
        find(&self.db, tenant.scope(), account_id, reference).await
    }

    /// Records a resident's request, in a transaction of its own; answers
    /// its reference.
    pub async fn submit(
        &self,
        tenant: &Tenant,
        account_id: i32,
        new: NewRequest,
    ) -> Result<String, RequestError> {
        let transaction = crate::db::begin_write(&self.db).await?;
        let reference = create(&transaction, tenant.scope(), account_id, &new).await?;
        transaction.commit().await?;
        Ok(reference)
    }
}

/// The reference of a town's request number `number`, created in `year`.
fn reference(year: i32, number: i64) -> String {
    format!("D-{year}-{number:06}")
}

/// Takes the town's next request number: one upsert that creates the
/// counter at 1 or adds 1 to it, and answers the new value. On PostgreSQL
/// the row stays locked until the caller's transaction ends, so concurrent
/// submissions of one town take their numbers one after the other (and a
/// transaction rolled back gives its number back); on SQLite the write
/// transaction already holds the database's lock.
async fn next_number(connection: &impl ConnectionTrait, scope: TenantScope) -> Result<i64, DbErr> {
    use request_counter::{Column, Entity};
    let statement = Query::insert()
        .into_table(Entity)
        .columns([Column::TenantId, Column::LastValue])
        .values([scope.tenant_id().get().into(), 1_i64.into()])
        .map_err(|error| DbErr::Custom(format!("request counter: {error}")))?
        .on_conflict(
            OnConflict::column(Column::TenantId)
                .value(
                    Column::LastValue,
                    Expr::col((Entity, Column::LastValue)).add(1),
                )
                .to_owned(),
        )
        .returning_col(Column::LastValue)
        .to_owned();
    let row = connection
        .query_one(&statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("request counter: no row returned".to_owned()))?;
    row.try_get("", "last_value")
}

/// Creates a submitted request and its first event, in the caller's
/// transaction; answers its reference ("D-2026-000042").
pub async fn create(
    connection: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    new: &NewRequest,
) -> Result<String, DbErr> {
    let now = Utc::now();
    let reference = reference(now.year(), next_number(connection, scope).await?);
    let details = serde_json::to_string(&new.details)
        .map_err(|error| DbErr::Custom(format!("request details: {error}")))?;
    let row = request::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        account_id: Set(account_id),
        reference: Set(reference.clone()),
        kind: Set(new.kind.clone()),
        module_id: Set(new.module_id.clone()),
        title: Set(new.title.clone()),
        details: Set(details),
        status: Set(RequestStatus::Submitted),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(connection)
    .await?;
    request_event::ActiveModel {
        request_id: Set(row.id),
        status: Set(RequestStatus::Submitted),
        note: Set(None),
        at: Set(now),
        ..Default::default()
    }
    .insert(connection)
    .await?;
    Ok(reference)
}

/// An account's requests, newest first.
pub async fn latest(
    connection: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    limit: u64,
) -> Result<Vec<request::Model>, DbErr> {
    scope
        .select::<request::Entity>()
        .filter(request::Column::AccountId.eq(account_id))
        .order_by_desc(request::Column::CreatedAt)
        .order_by_desc(request::Column::Id)
        .limit(limit)
        .all(connection)
        .await
}

/// An account's request by its reference, with its history (oldest first).
pub async fn find(
    connection: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    reference: &str,
) -> Result<Option<(request::Model, Vec<request_event::Model>)>, DbErr> {
    let Some(found) = scope
        .select::<request::Entity>()
        .filter(request::Column::AccountId.eq(account_id))
        .filter(request::Column::Reference.eq(reference))
        .one(connection)
        .await?
    else {
        return Ok(None);
    };
    let events = request_event::Entity::find()
        .filter(request_event::Column::RequestId.eq(found.id))
        .order_by_asc(request_event::Column::At)
        .order_by_asc(request_event::Column::Id)
        .all(connection)
        .await?;
    Ok(Some((found, events)))
}

/// The details of a request, as the (label, value) pairs it was made with.
pub fn details(request: &request::Model) -> Vec<(String, String)> {
    serde_json::from_str(&request.details).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum as _, Iterable as _};

    use super::*;

    #[test]
    fn statuses_keep_their_stored_values_and_french_labels() {
        let stored: Vec<String> = RequestStatus::iter()
            .map(|status| status.to_value())
            .collect();
        assert_eq!(
            stored,
            [
                "deposee",
                "en-cours",
                "en-attente",
                "acceptee",
                "refusee",
                "terminee"
            ]
        );
        for status in RequestStatus::ALL {
            assert_eq!(status.to_value(), status.as_str());
            assert_eq!(RequestStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(
            RequestStatus::try_from_value(&"en-cours".to_owned()).ok(),
            Some(RequestStatus::InProgress)
        );
        assert_eq!(RequestStatus::Submitted.label(), "Déposée");
        assert_eq!(RequestStatus::InProgress.label(), "En cours de traitement");
        assert_eq!(RequestStatus::Accepted.tone(), "success");
        assert_eq!(RequestStatus::Refused.tone(), "error");
        assert_eq!(RequestStatus::Submitted.tone(), "info");
    }

    #[test]
    fn references_keep_their_format() {
        assert_eq!(reference(2026, 42), "D-2026-000042");
        assert_eq!(reference(2026, 1_234_567), "D-2026-1234567");
    }
}
