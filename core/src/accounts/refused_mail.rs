//! Issue 18's last piece: a mail the SMTP server refused for good is
//! queued again by the staff ("Renvoyer"), once the cause is fixed (a full
//! mailbox emptied, a filter lifted). The row goes back to `pending` with
//! its attempts from zero and **its Message-ID kept**: the worker's policy
//! is one Message-ID per mail, and this is the same mail, not a new one —
//! had the refusal's answer been lost after the server took it, the copy
//! would be recognised. An address that was wrong is corrected first
//! (administration.rs), which sends mails of its own; a refused mail to
//! an old address is not the account's any more and cannot be resent.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, QueryFilter as _};

use super::administration::AdministrationProblem;
use super::details::addresses;
use super::error::AccountError;
use super::service::{Accounts, account_by_id};
use crate::audit::{Actor, AuditKind, Event, Origin};
use crate::mail::entity::{self as outbox, MailStatus};
use crate::tenancy::Tenant;

impl Accounts {
    /// Queues refused mail `mail_id` of the account again. `Ok(Err(..))`
    /// when it is not a refused mail to the account's address (or was
    /// queued again meanwhile).
    pub async fn resend_refused_mail(
        &self,
        tenant: &Tenant,
        account_id: i32,
        mail_id: i32,
        actor: Actor,
        origin: &Origin,
    ) -> Result<Result<(), AdministrationProblem>, AccountError> {
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(owner) = account_by_id(&txn, scope, account_id).await? else {
            txn.rollback().await?;
            return Ok(Err(AdministrationProblem::UnknownAccount));
        };
        let Some(mail) = scope
            .select::<outbox::Entity>()
            .filter(outbox::Column::Id.eq(mail_id))
            .filter(outbox::Column::Recipient.is_in(addresses(&owner)))
            .filter(outbox::Column::Status.eq(MailStatus::Refused))
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Ok(Err(AdministrationProblem::NoSuchRefusedMail));
        };
        let requeued = scope
            .update::<outbox::Entity>()
            .col_expr(outbox::Column::Status, Expr::value(MailStatus::Pending))
            .col_expr(outbox::Column::Attempts, Expr::value(0))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(Utc::now()))
            .col_expr(
                outbox::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                outbox::Column::ClaimedBy,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                outbox::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(outbox::Column::Id.eq(mail.id))
            .filter(outbox::Column::Status.eq(MailStatus::Refused))
            .exec(&txn)
            .await?;
        if requeued.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(Err(AdministrationProblem::NoSuchRefusedMail));
        }
        // The server's answer leaves the row: the journal keeps it.
        let detail = format!(
            "« {} » ; réponse du serveur : {}",
            mail.subject,
            mail.last_error.unwrap_or_default()
        );
        self.commit_with_mail_by(
            txn,
            scope,
            Event {
                kind: AuditKind::MailResent,
                actor,
                subject: Some(account_id),
                origin,
                detail: Some(detail),
            },
        )
        .await?;
        Ok(Ok(()))
    }
}
