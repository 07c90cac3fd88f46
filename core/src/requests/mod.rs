//! Requests ("demandes"): what a resident asked of the town, with a status
//! and its dated history. Modules create them through the host.
//!
//! Error policy: database errors are returned as they are (`DbErr`).

pub mod entity;
mod types;

use chrono::{Datelike as _, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr,
    EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::tenancy::TenantScope;
use entity::{request, request_event};
pub use types::{RequestType, request_types};

/// Statuses, with their French label.
pub const SUBMITTED: &str = "deposee";
pub const STATUSES: [(&str, &str); 4] = [
    (SUBMITTED, "Déposée"),
    ("en-cours", "En cours de traitement"),
    ("acceptee", "Acceptée"),
    ("refusee", "Refusée"),
];

pub fn status_label(status: &str) -> &str {
    STATUSES
        .iter()
        .find(|(code, _)| *code == status)
        .map_or(status, |(_, label)| label)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub kind: String,
    pub module_id: Option<String>,
    pub title: String,
    pub details: Vec<(String, String)>,
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
    let count = scope.select::<request::Entity>().count(connection).await?;
    let reference = format!("D-{}-{:06}", now.year(), count + 1);
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
        status: Set(SUBMITTED.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(connection)
    .await?;
    request_event::ActiveModel {
        request_id: Set(row.id),
        status: Set(SUBMITTED.to_owned()),
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
