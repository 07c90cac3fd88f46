//! The outbox worker: claims due mails, delivers them, records the outcome.
//!
//! Several Guichet instances may share one database: a mail is claimed by
//! one worker at a time with a conditional update (`locked_until`), so it is
//! sent by one of them, once. A mail is marked sent only after the SMTP
//! server accepted it; if the process dies between the two, the claim
//! expires and the mail is retried (at least once beats never).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait as _, Condition, DatabaseConnection, DbErr, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};
use tokio::sync::Notify;

use super::entity::{self, Column, Entity as Outbox};

/// How long a claim protects a mail from other workers.
const CLAIM: Duration = Duration::from_secs(120);
/// How often the outbox is read when nobody wakes the worker.
const POLL: Duration = Duration::from_secs(2);
const BATCH: u64 = 20;
const MAX_BACKOFF_SECONDS: i64 = 3600;
/// About two days of retries with the default first delay.
const MAX_ATTEMPTS: i32 = 60;

/// Where mail goes.
#[derive(Clone)]
pub enum Delivery {
    /// An SMTP server (pooled connections).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The demo's local mailbox: the outbox row itself, readable on a page
    /// of the demo, is the delivered mail.
    LocalMailbox,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp(_) => f.write_str("Smtp"),
            Self::LocalMailbox => f.write_str("LocalMailbox"),
        }
    }
}

impl Delivery {
    /// An SMTP delivery from `smtp://host:port` or `smtps://user:pass@host`.
    pub fn smtp(url: &str) -> Result<Self, lettre::transport::smtp::Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(Duration::from_secs(20)))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(4))
            .build();
        Ok(Self::Smtp(transport))
    }
}

#[derive(Debug, Clone)]
pub struct MailWorker {
    db: DatabaseConnection,
    delivery: Delivery,
    wake: Arc<Notify>,
    retry_seconds: i64,
}

/// Why one delivery failed.
enum Failure {
    /// Worth another try later (server down, temporary refusal).
    Transient(String),
    /// Will never work (malformed address, permanent refusal).
    Permanent(String),
}

impl MailWorker {
    pub fn new(
        db: DatabaseConnection,
        delivery: Delivery,
        wake: Arc<Notify>,
        retry_seconds: u32,
    ) -> Self {
        Self {
            db,
            delivery,
            wake,
            retry_seconds: i64::from(retry_seconds),
        }
    }

    /// Delivers until `stop` resolves.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(error) = self.deliver_due().await {
                tracing::warn!(%error, "the mail outbox cannot be read; retrying");
            }
            tokio::select! {
                () = &mut stop => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One round: every mail due now. Returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize, DbErr> {
        let now = Utc::now();
        // The outbox is drained for every town at once: the worker is
        // platform machinery, like host resolution.
        let due = Outbox::find()
            .filter(Column::Status.eq(entity::PENDING))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(unclaimed(now))
            .order_by_asc(Column::Id)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut sent = 0;
        for mail in due {
            if !self.claim(&mail, now).await? {
                continue;
            }
            match self.send(&mail).await {
                Ok(()) => {
                    sent += 1;
                    self.finish(&mail, entity::SENT, None, None).await?;
                    tracing::info!(mail = mail.id, kind = %mail.kind, tenant = mail.tenant_id, "mail delivered");
                }
                Err(Failure::Permanent(error)) => {
                    tracing::warn!(mail = mail.id, %error, "mail refused for good");
                    self.finish(&mail, entity::FAILED, Some(error), None)
                        .await?;
                }
                Err(Failure::Transient(error)) => {
                    let attempts = mail.attempts + 1;
                    if attempts >= MAX_ATTEMPTS {
                        tracing::warn!(mail = mail.id, %error, attempts, "mail given up");
                        self.finish(&mail, entity::FAILED, Some(error), None)
                            .await?;
                    } else {
                        let delay = self.backoff(attempts);
                        tracing::warn!(mail = mail.id, %error, attempts, retry_in_s = delay.num_seconds(), "mail delivery failed");
                        self.finish(
                            &mail,
                            entity::PENDING,
                            Some(error),
                            Some(Utc::now() + delay),
                        )
                        .await?;
                    }
                }
            }
        }
        Ok(sent)
    }

    /// Takes the mail for this worker; false if another one was faster.
    async fn claim(&self, mail: &entity::Model, now: DateTime<Utc>) -> Result<bool, DbErr> {
        use sea_orm::sea_query::ExprTrait as _;

        let claimed = Outbox::update_many()
            .col_expr(Column::LockedUntil, Expr::value(Some(now + CLAIM)))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .filter(Column::Id.eq(mail.id))
            .filter(Column::Status.eq(entity::PENDING))
            .filter(unclaimed(now))
            .exec(&self.db)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    async fn finish(
        &self,
        mail: &entity::Model,
        status: &str,
        error: Option<String>,
        next_attempt: Option<DateTime<Utc>>,
    ) -> Result<(), DbErr> {
        let mut update = Outbox::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .col_expr(
                Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::LastError, Expr::value(error))
            .filter(Column::Id.eq(mail.id));
        if status == entity::SENT {
            update = update.col_expr(Column::SentAt, Expr::value(Some(Utc::now())));
        }
        if let Some(next) = next_attempt {
            update = update.col_expr(Column::NextAttemptAt, Expr::value(next));
        }
        update.exec(&self.db).await.map(|_| ())
    }

    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let factor = 1_i64 << attempts.clamp(1, 20).saturating_sub(1);
        chrono::Duration::seconds((self.retry_seconds * factor).min(MAX_BACKOFF_SECONDS))
    }

    async fn send(&self, mail: &entity::Model) -> Result<(), Failure> {
        let transport = match &self.delivery {
            Delivery::LocalMailbox => return Ok(()),
            Delivery::Smtp(transport) => transport,
        };
        let from: Mailbox = format!("{} <{}>", mail.from_name, mail.from_address)
            .parse()
            .map_err(|error| Failure::Permanent(format!("sender address: {error}")))?;
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|error| Failure::Permanent(format!("recipient address: {error}")))?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text_body.clone(),
                mail.html_body.clone(),
            ))
            .map_err(|error| Failure::Permanent(format!("message: {error}")))?;
        transport.send(message).await.map(|_| ()).map_err(|error| {
            if error.is_permanent() {
                Failure::Permanent(error.to_string())
            } else {
                Failure::Transient(error.to_string())
            }
        })
    }
}

/// Not claimed, or claimed by a worker that has not finished in time.
fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::LockedUntil.is_null())
        .add(Column::LockedUntil.lt(now))
}
