//! Exports of a resident's data: asked on "Mes données", produced in the
//! background (a large account takes a while; the page does not wait),
//! announced by mail, downloaded once through a link that expires.
//!
//! The policy, which the code below honours:
//!
//! - **One at a time.** A resident with an export being prepared, or ready
//!   and not downloaded, is told so instead of starting another; at most
//!   [`PER_DAY`] a day (each one reads every table of the account).
//! - **Produced once, by one instance.** An instance claims a pending
//!   export with a lease (`claimed_until`, compare-and-set); a producer
//!   that dies leaves the lease to expire and another takes it again, up
//!   to [`MAX_ATTEMPTS`] times, after which the export is failed and the
//!   page says so.
//! - **The link is a secret and is used once.** 256 random bits, stored
//!   hashed; the download also needs the account's session. The download
//!   is a compare-and-set from `ready` to `downloaded` that deletes the
//!   archive in the same statement: a second click, a stolen link after
//!   the first, or one after [`LINK_VALID`] finds nothing.
//! - **Nothing kept longer than needed.** The retention round deletes the
//!   archives of expired exports and the rows of exports older than a year.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait as _,
    DbErr, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use super::entity::data_export::{self, ExportState, RequestedBy};
use super::rows::Subject;
use super::{Privacy, PrivacyError, export};
use crate::accounts::entity::account;
use crate::accounts::secrets::{new_token, token_hash};
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::mail::MailKind;
use crate::tenancy::Tenant;

/// How long the download link works.
pub const LINK_VALID: TimeDelta = TimeDelta::days(7);
/// Exports a resident may ask for in a day.
pub const PER_DAY: u64 = 3;
/// How long a producer holds an export before another may take it.
const LEASE: TimeDelta = TimeDelta::minutes(10);
/// Attempts before an export is failed.
pub const MAX_ATTEMPTS: i32 = 3;

/// The answer to a resident's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRequest {
    /// Asked: a mail will say when it is ready.
    Started,
    /// One is being prepared already.
    AlreadyPending,
    /// [`PER_DAY`] asked in the last day.
    TooMany,
}

/// A downloaded archive.
#[derive(Debug)]
pub struct Download {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl Privacy {
    /// The subject of an account of the town.
    pub(super) async fn subject(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Option<(Subject, account::Model)>, DbErr> {
        let owner = tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .one(&self.db)
            .await?;
        Ok(owner.map(|owner| {
            (
                Subject {
                    tenant_id: tenant.scope().tenant_id().get(),
                    account_id,
                    identifier: owner.identifier.clone(),
                    email: owner.email.clone(),
                    email_key: owner.email_key.clone(),
                },
                owner,
            )
        }))
    }

    /// How many rows of each kind the town holds about the account.
    pub async fn counts(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Option<Vec<(&'static str, u64)>>, DbErr> {
        let Some((subject, _)) = self.subject(tenant, account_id).await? else {
            return Ok(None);
        };
        export::counts(&self.db, &subject).await.map(Some)
    }

    /// The archive of the account's data, made now.
    pub async fn archive(
        &self,
        tenant: &Tenant,
        account_id: i32,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, PrivacyError> {
        let Some((subject, owner)) = self.subject(tenant, account_id).await? else {
            return Ok(None);
        };
        let collected = export::collect(&self.db, &subject).await?;
        let theme = self.themes.get(&tenant.theme);
        let bytes = export::archive(&collected, tenant, &theme, &owner.identifier, now)?;
        Ok(Some(bytes))
    }

    /// The resident asks for an export (see the policy above).
    pub async fn request_export(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<ExportRequest, PrivacyError> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        // Two requests at once wait for each other here (PostgreSQL: the
        // account's row; SQLite: its one writer): one export opens.
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            scope
                .select::<account::Entity>()
                .filter(account::Column::Id.eq(owner.id))
                .lock_exclusive()
                .one(&txn)
                .await?;
        }
        // One being prepared: wait for it. One ready and not downloaded
        // (its mail lost, say): this one replaces it, its link worth
        // nothing from now on.
        let pending = scope
            .select::<data_export::Entity>()
            .filter(data_export::Column::AccountId.eq(owner.id))
            .filter(data_export::Column::State.eq(ExportState::Pending))
            .one(&txn)
            .await?;
        if pending.is_some() {
            return Ok(ExportRequest::AlreadyPending);
        }
        let today = scope
            .select::<data_export::Entity>()
            .filter(data_export::Column::AccountId.eq(owner.id))
            .filter(data_export::Column::RequestedBy.eq(RequestedBy::Resident))
            .filter(data_export::Column::CreatedAt.gt(now - TimeDelta::days(1)))
            .count(&txn)
            .await?;
        if today >= PER_DAY {
            return Ok(ExportRequest::TooMany);
        }
        scope
            .update::<data_export::Entity>()
            .col_expr(
                data_export::Column::State,
                Expr::value(ExportState::Expired),
            )
            .col_expr(data_export::Column::Archive, Expr::value(None::<Vec<u8>>))
            .col_expr(data_export::Column::TokenHash, Expr::value(None::<String>))
            .filter(data_export::Column::AccountId.eq(owner.id))
            .filter(data_export::Column::State.eq(ExportState::Ready))
            .exec(&txn)
            .await?;
        data_export::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            account_id: Set(owner.id),
            requested_by: Set(RequestedBy::Resident),
            staff_label: Set(None),
            state: Set(ExportState::Pending),
            token_hash: Set(None),
            archive: Set(None),
            archive_bytes: Set(None),
            attempts: Set(0),
            claimed_until: Set(None),
            error: Set(None),
            created_at: Set(now),
            ready_at: Set(None),
            expires_at: Set(None),
            downloaded_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        audit::record(
            &txn,
            scope,
            Some(owner.id),
            AuditKind::DataExportRequested,
            origin,
            None,
        )
        .await?;
        txn.commit().await?;
        self.wake.notify_one();
        Ok(ExportRequest::Started)
    }

    /// The account's exports, newest first (without their archives).
    pub async fn exports_of(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Vec<data_export::Model>, DbErr> {
        tenant
            .scope()
            .select::<data_export::Entity>()
            .select_only()
            .columns([
                data_export::Column::Id,
                data_export::Column::TenantId,
                data_export::Column::AccountId,
                data_export::Column::RequestedBy,
                data_export::Column::StaffLabel,
                data_export::Column::State,
                data_export::Column::TokenHash,
                data_export::Column::ArchiveBytes,
                data_export::Column::Attempts,
                data_export::Column::ClaimedUntil,
                data_export::Column::Error,
                data_export::Column::CreatedAt,
                data_export::Column::ReadyAt,
                data_export::Column::ExpiresAt,
                data_export::Column::DownloadedAt,
            ])
            .column_as(Expr::cust("NULL"), "archive")
            .filter(data_export::Column::AccountId.eq(account_id))
            .filter(data_export::Column::RequestedBy.eq(RequestedBy::Resident))
            .order_by_desc(data_export::Column::Id)
            .limit(10)
            .all(&self.db)
            .await
    }

    /// Produces every pending export this instance can claim; how many
    /// were made ready. Each is claimed at its own time: a lease taken
    /// after a long one is a lease of its own length.
    pub async fn produce_pending(&self) -> usize {
        let now = Utc::now();
        let pending = match data_export::Entity::find()
            .filter(data_export::Column::State.eq(ExportState::Pending))
            .filter(data_export::Column::Attempts.lt(MAX_ATTEMPTS))
            .filter(
                Condition::any()
                    .add(data_export::Column::ClaimedUntil.is_null())
                    .add(data_export::Column::ClaimedUntil.lt(now)),
            )
            .select_only()
            .column(data_export::Column::Id)
            .column(data_export::Column::TenantId)
            .into_tuple::<(i32, i32)>()
            .all(&self.db)
            .await
        {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "data exports: the pending ones cannot be read");
                return 0;
            }
        };
        let mut ready = 0;
        for (id, tenant_id) in pending {
            match self.produce(id, tenant_id, Utc::now()).await {
                Ok(true) => ready += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(export = id, %error, "data export failed"),
            }
        }
        ready
    }

    /// Claims export `id`, makes its archive, stores it with its link's
    /// hash and mails the link, in one transaction. `false` when another
    /// instance holds it.
    async fn produce(
        &self,
        id: i32,
        tenant_id: i32,
        now: DateTime<Utc>,
    ) -> Result<bool, PrivacyError> {
        let claimed = data_export::Entity::update_many()
            .col_expr(
                data_export::Column::ClaimedUntil,
                Expr::value(Some(now + LEASE)),
            )
            .col_expr(
                data_export::Column::Attempts,
                Expr::col(data_export::Column::Attempts).add(1),
            )
            .filter(data_export::Column::Id.eq(id))
            .filter(data_export::Column::State.eq(ExportState::Pending))
            .filter(data_export::Column::Attempts.lt(MAX_ATTEMPTS))
            .filter(
                Condition::any()
                    .add(data_export::Column::ClaimedUntil.is_null())
                    .add(data_export::Column::ClaimedUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(false);
        }
        let Some(row) = data_export::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(false);
        };
        let Some(tenant) = self.tenants.find_by_id(tenant_id).await? else {
            return Ok(false);
        };
        let made = match self.archive(&tenant, row.account_id, now).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(false),
            Err(error) => {
                let state = if row.attempts >= MAX_ATTEMPTS {
                    ExportState::Failed
                } else {
                    ExportState::Pending
                };
                data_export::Entity::update_many()
                    .col_expr(data_export::Column::State, Expr::value(state))
                    .col_expr(
                        data_export::Column::Error,
                        Expr::value(Some(error.to_string())),
                    )
                    .filter(data_export::Column::Id.eq(id))
                    .exec(&self.db)
                    .await?;
                return Err(error);
            }
        };
        let Some((_, owner)) = self.subject(&tenant, row.account_id).await? else {
            return Ok(false);
        };
        let token = new_token();
        let expires_at = now + LINK_VALID;
        let size = i64::try_from(made.len()).unwrap_or(i64::MAX);
        let txn = crate::db::begin_write(&self.db).await?;
        let stored = data_export::Entity::update_many()
            .col_expr(data_export::Column::State, Expr::value(ExportState::Ready))
            .col_expr(
                data_export::Column::TokenHash,
                Expr::value(Some(token_hash(&token))),
            )
            .col_expr(data_export::Column::Archive, Expr::value(Some(made)))
            .col_expr(data_export::Column::ArchiveBytes, Expr::value(Some(size)))
            .col_expr(data_export::Column::ReadyAt, Expr::value(Some(now)))
            .col_expr(
                data_export::Column::ExpiresAt,
                Expr::value(Some(expires_at)),
            )
            .col_expr(data_export::Column::Error, Expr::value(None::<String>))
            .filter(data_export::Column::Id.eq(id))
            .filter(data_export::Column::State.eq(ExportState::Pending))
            .exec(&txn)
            .await?;
        if stored.rows_affected != 1 {
            return Ok(false);
        }
        let until = crate::format::long_date_time(expires_at.with_timezone(&tenant.timezone));
        self.mailer
            .queue(
                &txn,
                &tenant,
                MailKind::DataExportReady,
                &owner.email,
                serde_json::json!({
                    "first_name": owner.first_name,
                    "last_name": owner.last_name,
                    "download_url": self.mailer.links().town_url(&tenant, &format!("/mes-donnees/export/{token}")),
                    "until": until,
                    "size": crate::format::number(size / 1024 + 1),
                }),
            )
            .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(true)
    }

    /// The download: the session's account and the link's token, once.
    pub async fn download(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        token: &str,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<Option<Download>, PrivacyError> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let found = scope
            .select::<data_export::Entity>()
            .filter(data_export::Column::AccountId.eq(owner.id))
            .filter(data_export::Column::TokenHash.eq(token_hash(token)))
            .filter(data_export::Column::State.eq(ExportState::Ready))
            .filter(data_export::Column::ExpiresAt.gt(now))
            .one(&txn)
            .await?;
        let Some(Some(bytes)) = found.as_ref().map(|row| row.archive.clone()) else {
            return Ok(None);
        };
        let Some(row) = found else { return Ok(None) };
        let taken = scope
            .update::<data_export::Entity>()
            .col_expr(
                data_export::Column::State,
                Expr::value(ExportState::Downloaded),
            )
            .col_expr(data_export::Column::DownloadedAt, Expr::value(Some(now)))
            .col_expr(data_export::Column::Archive, Expr::value(None::<Vec<u8>>))
            .col_expr(data_export::Column::TokenHash, Expr::value(None::<String>))
            .filter(data_export::Column::Id.eq(row.id))
            .filter(data_export::Column::State.eq(ExportState::Ready))
            .exec(&txn)
            .await?;
        if taken.rows_affected != 1 {
            return Ok(None);
        }
        audit::record(
            &txn,
            scope,
            Some(owner.id),
            AuditKind::DataExportDownloaded,
            origin,
            None,
        )
        .await?;
        txn.commit().await?;
        let day = now.with_timezone(&tenant.timezone).format("%Y-%m-%d");
        Ok(Some(Download {
            file_name: format!("donnees-{}-{day}.zip", tenant.slug),
            bytes,
        }))
    }

    /// A staff member answers an access request: the same archive, made
    /// now and handed over at once, recorded in the journal.
    pub async fn staff_export(
        &self,
        tenant: &Tenant,
        account_id: i32,
        staff: Actor,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<Option<Download>, PrivacyError> {
        let Some(bytes) = self.archive(tenant, account_id, now).await? else {
            return Ok(None);
        };
        let Some((_, owner)) = self.subject(tenant, account_id).await? else {
            return Ok(None);
        };
        audit::record_event(
            &self.db,
            tenant.scope(),
            Event {
                kind: AuditKind::DataExportedByStaff,
                actor: staff,
                subject: Some(account_id),
                origin,
                detail: None,
            },
        )
        .await?;
        let day = now.with_timezone(&tenant.timezone).format("%Y-%m-%d");
        Ok(Some(Download {
            file_name: format!("donnees-{}-{}-{day}.zip", tenant.slug, owner.identifier),
            bytes,
        }))
    }
}
