//! Outgoing mail: composed from the town's theme, written to the outbox in
//! the same transaction as the change it reports, and delivered by a worker
//! that retries with backoff. Nothing is lost when SMTP is down, and a mail
//! is marked sent only once the server took it. Each mail has one
//! Message-ID, chosen here and sent on every attempt; how several instances
//! share the outbox is the worker's policy (worker.rs).
//!
//! Error policy: composing a mail can fail ([`MailError`]) and then fails
//! the operation that wanted to send it (its transaction rolls back).
//! Delivery failures are not errors of any request: the worker records them
//! on the outbox row (a refusal with the server's answer, a transient
//! failure with its next attempt) and logs them.

pub mod entity;
pub mod personal_data;
mod worker;

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DbErr};
use serde::Serialize;
use tokio::sync::Notify;

use crate::config::{Config, PublicScheme};
use crate::tenancy::Tenant;
use crate::theme::{ThemeError, ThemeSet};

pub use entity::MailStatus;
pub use worker::{Delivery, MailWorker, WorkerReport};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot compose the `{kind}` mail: {source}")]
    Compose {
        kind: &'static str,
        source: ThemeError,
    },
    #[error("cannot queue the mail: {0}")]
    Database(#[from] DbErr),
}

/// The mails Guichet sends, each with its templates under
/// `themes/<theme>/templates/mail/<name>/` (`subject.txt`, `body.txt`,
/// `body.html`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Activation,
    PasswordChanged,
    PasswordReset,
    EmailChange,
    EmailChanged,
    /// The staff corrected the address: sent to the old and the new one.
    EmailCorrected,
    /// The link that lets a new staff member join (staff/invitation.rs).
    StaffInvitation,
    /// A request's new status, with the staff's message (requests/status.rs).
    RequestUpdated,
    /// To the agent: the resident answered (requests/answer.rs).
    RequestAnswered,
    /// The staff's answer to a feedback message (feedback/inbox.rs).
    FeedbackReply,
    /// A module's `notify` (modules/notify.rs).
    ModuleNotification,
    /// An online payment received (payments/settle.rs).
    PaymentReceipt,
    /// The resident's data export is ready (privacy/exports.rs).
    DataExportReady,
    /// The closure asked, with its date and how to cancel it.
    ClosureRequested,
    /// A login cancelled the closure asked (accounts/sessions.rs).
    ClosureCancelled,
    /// The last mail: the account is closed (privacy/closure.rs).
    AccountClosed,
    /// A month before the closure for inactivity.
    InactivityWarning,
    /// To the town's administrators: the accounts closed in a round.
    StaffClosures,
}

impl MailKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::EmailChanged => "email_changed",
            Self::EmailCorrected => "email_corrected",
            Self::StaffInvitation => "staff_invitation",
            Self::RequestUpdated => "request_updated",
            Self::RequestAnswered => "request_answered",
            Self::FeedbackReply => "feedback_reply",
            Self::ModuleNotification => "module_notification",
            Self::PaymentReceipt => "payment_receipt",
            Self::DataExportReady => "data_export_ready",
            Self::ClosureRequested => "closure_requested",
            Self::ClosureCancelled => "closure_cancelled",
            Self::AccountClosed => "account_closed",
            Self::InactivityWarning => "inactivity_warning",
            Self::StaffClosures => "staff_closures",
        }
    }
}

/// The outbox's backlog, all towns together: a platform figure for
/// `/metrics` (one of the few cross-town reads; see ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxBacklog {
    /// Mails waiting to be sent (retries included).
    pub pending: u64,
    /// When the oldest of them was queued.
    pub oldest_pending: Option<chrono::DateTime<Utc>>,
}

pub async fn outbox_backlog(db: &sea_orm::DatabaseConnection) -> Result<OutboxBacklog, DbErr> {
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _};
    let row: Option<(i64, Option<chrono::DateTime<Utc>>)> = entity::Entity::find()
        .select_only()
        .column_as(entity::Column::Id.count(), "pending")
        .column_as(entity::Column::CreatedAt.min(), "oldest")
        .filter(entity::Column::Status.eq(MailStatus::Pending))
        .into_tuple()
        .one(db)
        .await?;
    Ok(
        row.map_or_else(OutboxBacklog::default, |(pending, oldest)| OutboxBacklog {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest_pending: oldest,
        }),
    )
}

/// A mail composed and not yet queued ([`Mailer::queue_many`]).
#[derive(Debug, Clone)]
pub struct ComposedMail(entity::ActiveModel);

/// Absolute links to a town, as they appear in mails.
#[derive(Debug, Clone)]
pub struct PublicLinks {
    scheme: PublicScheme,
    base_domain: String,
    port: Option<u16>,
}

impl PublicLinks {
    pub fn new(config: &Config) -> Self {
        Self {
            scheme: config.public_scheme,
            base_domain: config.base_domain.clone(),
            port: config.public_port,
        }
    }

    /// `https://<slug>.<base_domain>[:port]<path>`.
    pub fn town_url(&self, tenant: &Tenant, path: &str) -> String {
        self.slug_url(&tenant.slug, path)
    }

    /// The same, for a town known by its slug only (not applied yet).
    pub fn slug_url(&self, slug: &str, path: &str) -> String {
        let port = self.port.map(|port| format!(":{port}")).unwrap_or_default();
        format!(
            "{}://{slug}.{}{port}{path}",
            self.scheme.as_str(),
            self.base_domain
        )
    }
}

/// Composes mails and queues them in the outbox.
#[derive(Debug, Clone)]
pub struct Mailer {
    themes: Arc<ThemeSet>,
    links: PublicLinks,
    wake: Arc<Notify>,
}

#[derive(Serialize)]
struct MailContext<'a, T: Serialize> {
    town: MailTown<'a>,
    #[serde(flatten)]
    data: T,
}

#[derive(Serialize)]
struct MailTown<'a> {
    display_name: &'a str,
    url: String,
}

impl Mailer {
    pub fn new(themes: Arc<ThemeSet>, links: PublicLinks) -> Self {
        Self {
            themes,
            links,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn links(&self) -> &PublicLinks {
        &self.links
    }

    /// What the worker waits on between rounds.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Composes `kind` for `to` in the town's theme and inserts it into the
    /// outbox through `db` (the caller's transaction). Call [`Mailer::wake`]
    /// once that transaction is committed.
    pub async fn queue<T: Serialize>(
        &self,
        db: &impl ConnectionTrait,
        tenant: &Tenant,
        kind: MailKind,
        to: &str,
        data: T,
    ) -> Result<(), MailError> {
        self.compose(tenant, kind, to, data)?.0.insert(db).await?;
        Ok(())
    }

    /// Inserts mails [`Mailer::compose`]d beforehand into the outbox through
    /// `db` (the caller's transaction), a few hundred rows per statement:
    /// what an import of thousands of accounts needs. Call
    /// [`Mailer::wake`] once that transaction is committed.
    pub async fn queue_many(
        &self,
        db: &impl ConnectionTrait,
        mails: Vec<ComposedMail>,
    ) -> Result<(), MailError> {
        use sea_orm::EntityTrait as _;
        // Sixteen columns a row: far below the parameter limits of SQLite
        // (32,766) and PostgreSQL (65,535).
        const ROWS_PER_STATEMENT: usize = 200;
        let mut rows = mails.into_iter();
        loop {
            let chunk: Vec<_> = rows
                .by_ref()
                .take(ROWS_PER_STATEMENT)
                .map(|mail| mail.0)
                .collect();
            if chunk.is_empty() {
                return Ok(());
            }
            entity::Entity::insert_many(chunk)
                .exec_without_returning(db)
                .await?;
        }
    }

    /// Composes `kind` for `to` in the town's theme, ready to be queued.
    pub fn compose<T: Serialize>(
        &self,
        tenant: &Tenant,
        kind: MailKind,
        to: &str,
        data: T,
    ) -> Result<ComposedMail, MailError> {
        let theme = self.themes.get(&tenant.theme);
        let context = MailContext {
            town: MailTown {
                display_name: &tenant.display_name,
                url: self.links.town_url(tenant, "/"),
            },
            data,
        };
        let compose = |part: &str| -> Result<String, MailError> {
            let template = format!("mail/{}/{part}", kind.name());
            let rendered = if part.ends_with(".txt") {
                theme.render_text(&template, &context)
            } else {
                theme.render(&template, &context)
            };
            rendered.map_err(|source| MailError::Compose {
                kind: kind.name(),
                source,
            })
        };
        let subject = compose("subject.txt")?.trim().to_owned();
        let text_body = compose("body.txt")?;
        let html_body = compose("body.html")?;

        let now = Utc::now();
        let sender = &tenant.definition.mail.sender_address;
        Ok(ComposedMail(entity::ActiveModel {
            tenant_id: Set(tenant.scope().tenant_id().get()),
            kind: Set(kind.name().to_owned()),
            from_name: Set(tenant.definition.mail.sender_name.clone()),
            from_address: Set(sender.clone()),
            recipient: Set(to.to_owned()),
            subject: Set(subject),
            text_body: Set(text_body),
            html_body: Set(html_body),
            status: Set(MailStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            locked_until: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
            message_id: Set(Some(new_message_id(sender))),
            claimed_by: Set(None),
            ..Default::default()
        }))
    }

    /// Tells the worker that new mail is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// `<guichet.RANDOM@domain>`, the domain being the sender's: 122 random
/// bits (a UUID v4) make it unique without knowing the row's id before the
/// insert, and the town's own domain keeps it meaningful to the receiving
/// servers.
fn new_message_id(sender: &str) -> String {
    let domain = sender
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().to_ascii_lowercase())
        .filter(|domain| !domain.is_empty())
        .unwrap_or_else(|| "guichet.invalid".to_owned());
    format!("<guichet.{}@{domain}>", uuid::Uuid::new_v4().simple())
}

/// A town's outbox, newest first: what `guichet demo` shows as the town's
/// mailbox (never mounted by `serve`).
#[derive(Debug, Clone)]
pub struct Outbox {
    db: sea_orm::DatabaseConnection,
}

impl Outbox {
    pub fn new(db: sea_orm::DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn town_mail(&self, tenant: &Tenant) -> Result<Vec<entity::Model>, DbErr> {
        use sea_orm::QueryOrder as _;
        tenant
            .scope()
            .select::<entity::Entity>()
            .order_by_desc(entity::Column::Id)
            .all(&self.db)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_id_is_random_at_the_sender_s_domain() {
        let first = new_message_id("ne-pas-repondre@Villeneuve.Example.fr");
        let second = new_message_id("ne-pas-repondre@villeneuve.example.fr");
        for id in [&first, &second] {
            let random = id
                .strip_prefix("<guichet.")
                .and_then(|rest| rest.strip_suffix("@villeneuve.example.fr>"))
                .unwrap_or_else(|| panic!("{id}"));
            assert_eq!(random.len(), 32, "{id}");
            assert!(random.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
        assert_ne!(first, second);
        assert!(new_message_id("sans-domaine").ends_with("@guichet.invalid>"));
    }
}
