//! The staff's feedback inbox: messages by state (new, read, handled),
//! marking them, and answering one by mail (which marks it handled). Each
//! action is one transaction with its journal entry (and its mail).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DbErr, IntoActiveModel as _,
    QueryFilter as _, QueryOrder as _,
};
use serde::Serialize;

use super::Feedback;
use super::entity::feedback;
use crate::accounts::entity::account;
use crate::audit::{self, AuditKind, Origin};
use crate::mail::{MailError, MailKind};
use crate::staff::StaffMember;
use crate::tenancy::Tenant;

/// The longest answer.
const MAX_REPLY_CHARS: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackState {
    New,
    Read,
    Handled,
}

impl FeedbackState {
    pub fn of(row: &feedback::Model) -> Self {
        if row.handled_at.is_some() {
            Self::Handled
        } else if row.read_at.is_some() {
            Self::Read
        } else {
            Self::New
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::New => "Nouveau",
            Self::Read => "Lu",
            Self::Handled => "Traité",
        }
    }
}

/// Which messages the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedbackFilter {
    /// New and read: what is not handled yet.
    #[default]
    Open,
    All,
    Is(FeedbackState),
}

#[derive(Debug, Clone)]
pub struct FeedbackItem {
    pub row: feedback::Model,
    pub state: FeedbackState,
    pub resident: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// The answer is empty or too long: the French sentence for the field.
    #[error("refused: {0}")]
    Refused(String),
    #[error("no such feedback")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Mail(#[from] MailError),
}

#[derive(Serialize)]
struct ReplyMail<'a> {
    first_name: &'a str,
    last_name: &'a str,
    sent_on: String,
    reply: &'a str,
}

impl Feedback {
    /// The town's messages that `filter` selects, newest first (at most
    /// 200: the inbox is meant to be emptied).
    pub async fn inbox(
        &self,
        tenant: &Tenant,
        filter: FeedbackFilter,
    ) -> Result<Vec<FeedbackItem>, DbErr> {
        use feedback::Column;
        let scope = tenant.scope();
        let mut select = scope.select::<feedback::Entity>();
        select = match filter {
            FeedbackFilter::All => select,
            FeedbackFilter::Open => select.filter(Column::HandledAt.is_null()),
            FeedbackFilter::Is(FeedbackState::New) => select
                .filter(Column::HandledAt.is_null())
                .filter(Column::ReadAt.is_null()),
            FeedbackFilter::Is(FeedbackState::Read) => select
                .filter(Column::HandledAt.is_null())
                .filter(Column::ReadAt.is_not_null()),
            FeedbackFilter::Is(FeedbackState::Handled) => {
                select.filter(Column::HandledAt.is_not_null())
            }
        };
        let rows = sea_orm::QuerySelect::limit(
            select
                .order_by_desc(Column::CreatedAt)
                .order_by_desc(Column::Id),
            200,
        )
        .all(&self.db)
        .await?;
        let ids: Vec<i32> = rows.iter().map(|row| row.account_id).collect();
        let accounts = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.is_in(ids))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| FeedbackItem {
                state: FeedbackState::of(&row),
                resident: accounts
                    .iter()
                    .find(|account| account.id == row.account_id)
                    .map(|account| {
                        crate::format::full_name(&account.first_name, &account.last_name)
                    })
                    .unwrap_or_default(),
                row,
            })
            .collect())
    }

    async fn find(
        &self,
        connection: &impl sea_orm::ConnectionTrait,
        tenant: &Tenant,
        id: i32,
    ) -> Result<feedback::Model, FeedbackError> {
        tenant
            .scope()
            .select::<feedback::Entity>()
            .filter(feedback::Column::Id.eq(id))
            .one(connection)
            .await?
            .ok_or(FeedbackError::NotFound)
    }

    async fn journal(
        connection: &impl sea_orm::ConnectionTrait,
        tenant: &Tenant,
        kind: AuditKind,
        by: &StaffMember,
        row: &feedback::Model,
        origin: &Origin,
    ) -> Result<(), DbErr> {
        audit::record_event(
            connection,
            tenant.scope(),
            audit::Event {
                kind,
                actor: crate::staff::actor(by),
                subject: Some(row.account_id),
                origin,
                detail: Some(format!("avis n° {}", row.id)),
            },
        )
        .await
    }

    /// Marks a message read (`handled`: handled), once.
    pub async fn mark(
        &self,
        tenant: &Tenant,
        by: &StaffMember,
        id: i32,
        handled: bool,
        origin: &Origin,
    ) -> Result<(), FeedbackError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let row = self.find(&txn, tenant, id).await?;
        let now = Utc::now();
        let mut active = row.clone().into_active_model();
        let kind = if handled {
            if row.handled_at.is_some() {
                return Ok(());
            }
            active.handled_at = Set(Some(now));
            AuditKind::FeedbackHandled
        } else {
            if row.read_at.is_some() {
                return Ok(());
            }
            AuditKind::FeedbackRead
        };
        if row.read_at.is_none() {
            active.read_at = Set(Some(now));
        }
        active.update(&txn).await?;
        Self::journal(&txn, tenant, kind, by, &row, origin).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Mails `reply` to the resident and marks the message handled.
    pub async fn reply(
        &self,
        tenant: &Tenant,
        by: &StaffMember,
        id: i32,
        reply: &str,
        origin: &Origin,
    ) -> Result<(), FeedbackError> {
        let reply = reply.trim();
        if reply.is_empty() {
            return Err(FeedbackError::Refused("Écrivez votre réponse.".to_owned()));
        }
        if reply.chars().count() > MAX_REPLY_CHARS {
            return Err(FeedbackError::Refused(format!(
                "La réponse dépasse {MAX_REPLY_CHARS} caractères."
            )));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        let row = self.find(&txn, tenant, id).await?;
        let resident = tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(row.account_id))
            .one(&txn)
            .await?
            .ok_or(FeedbackError::NotFound)?;
        let now = Utc::now();
        let mut active = row.clone().into_active_model();
        active.reply = Set(Some(reply.to_owned()));
        active.replied_at = Set(Some(now));
        active.read_at = Set(Some(row.read_at.unwrap_or(now)));
        active.handled_at = Set(Some(row.handled_at.unwrap_or(now)));
        active.update(&txn).await?;
        let mail = ReplyMail {
            first_name: &resident.first_name,
            last_name: &resident.last_name,
            sent_on: crate::format::date(
                row.created_at.with_timezone(&tenant.timezone).date_naive(),
            ),
            reply,
        };
        self.mailer
            .queue(&txn, tenant, MailKind::FeedbackReply, &resident.email, mail)
            .await?;
        Self::journal(&txn, tenant, AuditKind::FeedbackReplied, by, &row, origin).await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(())
    }
}
