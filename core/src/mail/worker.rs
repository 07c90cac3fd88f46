//! The outbox worker: claims due mails, delivers them, records the outcome.
//!
//! Several Guichet instances share one database, each with its worker. The
//! policy, which the code below honours:
//!
//! - **One Message-ID per mail.** It is chosen when the mail is queued
//!   (`Mailer::queue`; for a row written otherwise, stored by the worker
//!   before its first attempt) and sent on every attempt. SMTP cannot be exactly
//!   once — a server may take a message and its answer be lost, and the
//!   mail is then sent again — but the copy carries the same Message-ID, by
//!   which the receiving side can drop it.
//! - **Disjoint claims, short and renewed.** A worker claims a batch of due
//!   mails in one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//!   that workers skip each other's rows instead of waiting on them; SQLite
//!   has one writer at a time), writing its own id (`claimed_by`) and a
//!   lease of [`LEASE`] (`locked_until`). While it holds mails it renews
//!   their lease every [`RENEW`]: a long send is never taken over while its
//!   worker lives (and reaches the database), and the mails of a worker
//!   that died are free again one lease later.
//! - **Sent means taken.** A mail is marked sent only after the SMTP server
//!   accepted it, and right away (with the others that finished meanwhile,
//!   in one statement). If the process dies in between, the mail is sent
//!   again after the lease, with the same Message-ID: a killed instance
//!   may so cause up to `mail_concurrency` copies (the server even takes
//!   a message whose end the kernel flushes after the process died).
//! - **A refusal is final, anything else is retried.** A 55x answer (the
//!   mail system refuses this mail: unknown recipient, rejected content) or
//!   an address that cannot be written marks the mail `refused`, with the
//!   server's answer in `last_error`; it is never retried. Anything else — a
//!   4xx answer, a connection, TLS or authentication problem, a timeout — is
//!   retried `mail_retry_seconds` later, the delay doubling up to an hour,
//!   and given up (`failed`) after [`MAX_ATTEMPTS`].
//! - **Busy while there is mail, asleep when there is none.** Up to
//!   `mail_concurrency` sends run at once over pooled SMTP connections, and
//!   the next batch (up to twice `mail_concurrency` held in all) is claimed
//!   as soon as fewer than half of `mail_concurrency` wait to start.
//!   The worker sleeps only when nothing is due, and wakes when this
//!   process queued mail (`Mailer::wake`), when another instance did
//!   (PostgreSQL: `LISTEN guichet_mail`, notified by a trigger when the
//!   queuing transaction commits), or after [`POLL`] (retries coming due,
//!   mail written by another process on SQLite). After a claim that found
//!   less than it wanted, a wake-up waits until [`CLAIM_GAP`] has passed:
//!   a burst of queued mail is claimed in batches, not one read per mail.
//! - **Graceful shutdown.** When `stop` resolves, the worker claims nothing
//!   more, releases the mails it claimed but has not started (their attempt
//!   not counted), lets the sends in flight finish for up to [`DRAIN`] and
//!   records them, releases what is still in flight after that, and
//!   returns; `guichet serve` waits for it. Another worker takes the
//!   released mails at once (on PostgreSQL it is notified).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::response::{Category, Code, Severity};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Order, Query};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait as _, DatabaseConnection, DbBackend, DbErr,
    EntityTrait as _, QueryFilter as _,
};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::entity::{self, Column, Entity as Outbox, MailStatus};

/// How long a claim protects a mail from other workers without renewal.
const LEASE: Duration = Duration::from_secs(30);
/// How often a worker renews the lease of the mails it holds.
const RENEW: Duration = Duration::from_secs(10);
/// How often the outbox is read when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(2);
/// After a claim that found less than it wanted, how long a wake-up waits
/// before the next one. Every commit that queues mail wakes every worker:
/// in a burst (a booking rush sends a summary per booking) each would read
/// the outbox for one mail at a time, several times per mail over the
/// workers, in the database's busiest moment. So a burst is claimed in
/// batches, one read per gap; a mail queued after a quiet moment is still
/// claimed at once, and a backlog (a full claim) right away.
const CLAIM_GAP: Duration = Duration::from_millis(50);
/// How long sends in flight may finish once the worker is told to stop.
const DRAIN: Duration = Duration::from_secs(15);
/// How long one SMTP command may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_BACKOFF_SECONDS: i64 = 3600;
/// About two days of retries with the default first delay.
const MAX_ATTEMPTS: i32 = 60;
/// Notified (by a trigger of the outbox, and by a worker that releases
/// mails) when mail is ready; see the migration `m20261126_000010`.
const CHANNEL: &str = "guichet_mail";
/// Sends at once unless told (`mail_concurrency` has the same default).
const DEFAULT_CONCURRENCY: usize = 16;

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
    /// An SMTP delivery from `smtp://host:port` or `smtps://user:pass@host`,
    /// keeping up to `connections` connections open (one per send at once).
    pub fn smtp(url: &str, connections: u32) -> Result<Self, lettre::transport::smtp::Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(connections.max(1)))
            .build();
        Ok(Self::Smtp(transport))
    }
}

/// Delivers the outbox. Each value has its own claim id: run it once (it is
/// not `Clone`, so that two runs never share a claim).
#[derive(Debug)]
pub struct MailWorker {
    db: DatabaseConnection,
    delivery: Delivery,
    wake: Arc<Notify>,
    retry_seconds: i64,
    concurrency: usize,
    poll: Duration,
    /// Written in `claimed_by`: the process and a random part, so that an
    /// operator can tell the instances apart and two workers never match.
    id: String,
}

/// What one run of a worker did, answered when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Mails the SMTP server took.
    pub sent: usize,
    /// Mails refused for good.
    pub refused: usize,
    /// Attempts that failed, to be retried (or given up).
    pub failed_attempts: usize,
    /// Mails handed back at shutdown, for another worker.
    pub released: usize,
}

/// Why one delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// Will never work: the server refused this mail, or it cannot be
    /// written (a malformed address).
    Refused(String),
    /// Worth another try later (server down, temporary refusal).
    Transient(String),
}

type Outcome = Result<(), Failure>;

/// The mails a run holds (claimed by it, lease renewed), by stage.
#[derive(Default)]
struct Held {
    /// Claimed, not started.
    queue: VecDeque<entity::Model>,
    /// Being sent: the task's id → the mail.
    flying: HashMap<tokio::task::Id, entity::Model>,
    sends: JoinSet<Outcome>,
    /// Finished, outcome not yet written (the database may be away).
    done: Vec<(entity::Model, Outcome)>,
    report: WorkerReport,
}

impl Held {
    fn ids(&self) -> Vec<i32> {
        self.queue
            .iter()
            .chain(self.flying.values())
            .chain(self.done.iter().map(|(mail, _)| mail))
            .map(|mail| mail.id)
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.flying.is_empty() && self.done.is_empty()
    }

    /// A send task ended (or was aborted: the mail stays in `flying`).
    fn finished(&mut self, joined: Result<(tokio::task::Id, Outcome), tokio::task::JoinError>) {
        let (task, outcome) = match joined {
            Ok(done) => done,
            Err(error) if error.is_cancelled() => return,
            Err(error) => (
                error.id(),
                Err(Failure::Transient(format!("the send failed: {error}"))),
            ),
        };
        if let Some(mail) = self.flying.remove(&task) {
            self.done.push((mail, outcome));
        }
    }
}

impl MailWorker {
    pub fn new(
        db: DatabaseConnection,
        delivery: Delivery,
        wake: Arc<Notify>,
        retry_seconds: u32,
    ) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            db,
            delivery,
            wake,
            retry_seconds: i64::from(retry_seconds),
            concurrency: DEFAULT_CONCURRENCY,
            poll: POLL,
            id: format!("pid{}-{}", std::process::id(), &random[..12]),
        }
    }

    /// Sends at once (at least one).
    #[must_use]
    pub fn with_concurrency(mut self, sends: usize) -> Self {
        self.concurrency = sends.max(1);
        self
    }

    /// How often the outbox is read when nothing wakes the worker.
    #[must_use]
    pub fn with_poll(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// Delivers until `stop` resolves, then hands back what it holds (see
    /// the module's policy) and answers what it did.
    pub async fn run(self, stop: impl Future<Output = ()>) -> WorkerReport {
        // Aborted when the run ends.
        let mut background = JoinSet::new();
        if self.db.get_database_backend() == DbBackend::Postgres {
            background.spawn(forward_notifications(self.db.clone(), self.wake.clone()));
        }
        tracing::debug!(worker = %self.id, concurrency = self.concurrency, "mail worker started");
        tokio::pin!(stop);
        let mut held = Held::default();
        // The outbox had nothing more due at the last claim: wait for a
        // wake-up or the next poll before claiming again.
        let mut drained = false;
        // When the last claim came back short, if it did.
        let mut short_claim_at: Option<Instant> = None;
        let mut next_poll = Instant::now();
        let mut next_renew = Instant::now() + RENEW;
        // Claim again once half of what is held has started.
        let refill_below = self.concurrency.div_ceil(2);

        loop {
            self.record(&mut held).await;
            let unrecorded = !held.done.is_empty();
            let now = Instant::now();
            if now >= next_renew {
                self.renew(&held).await;
                next_renew = now + RENEW;
            }
            // Woken since a short claim: not before the gap is over.
            let claim_at = short_claim_at.map_or(now, |at| (at + CLAIM_GAP).max(now));
            if held.queue.len() < refill_below
                && ((!drained && now >= claim_at) || (drained && now >= next_poll))
            {
                let wanted = (2 * self.concurrency).saturating_sub(held.ids().len());
                match self.claim(wanted).await {
                    Ok(claimed) => {
                        drained = claimed.len() < wanted;
                        held.queue.extend(claimed);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the mail outbox cannot be read; retrying");
                        drained = true;
                    }
                }
                if drained {
                    next_poll = now + self.poll;
                }
                short_claim_at = drained.then_some(now);
            }
            while held.flying.len() < self.concurrency
                && let Some(mail) = held.queue.pop_front()
            {
                self.start(&mut held, mail);
            }
            let wants_mail = held.queue.len() < refill_below;
            let mut deadline = next_renew;
            if !unrecorded && !held.done.is_empty() {
                // Outcomes to write now (the local mailbox, an address that
                // cannot be written): no wait, but `stop` is still looked
                // at first.
                deadline = now;
            } else if !unrecorded && wants_mail && !drained {
                // More mail due and room for it: claim once the gap allows.
                deadline = deadline.min(claim_at);
            }
            if unrecorded {
                // The database did not take the outcomes: try again soon.
                deadline = deadline.min(now + self.poll);
            }
            if wants_mail && drained {
                deadline = deadline.min(next_poll);
            }
            tokio::select! {
                biased;
                () = &mut stop => break,
                Some(joined) = held.sends.join_next_with_id(), if !held.sends.is_empty() => {
                    held.finished(joined);
                    while let Some(joined) = held.sends.try_join_next_with_id() {
                        held.finished(joined);
                    }
                }
                () = self.wake.notified() => drained = false,
                () = tokio::time::sleep_until(deadline) => {}
            }
        }

        self.shut_down(&mut held).await;
        tracing::info!(
            worker = %self.id,
            sent = held.report.sent,
            refused = held.report.refused,
            failed_attempts = held.report.failed_attempts,
            released = held.report.released,
            "mail worker stopped"
        );
        held.report
    }

    /// Claims up to `limit` due mails for this worker, oldest due first.
    async fn claim(&self, limit: usize) -> Result<Vec<entity::Model>, DbErr> {
        use sea_orm::sea_query::ExprTrait as _;

        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let backend = self.db.get_database_backend();
        let mut due = Query::select();
        due.column(Column::Id)
            .from(Outbox)
            .and_where(Column::Status.eq(MailStatus::Pending))
            .and_where(Column::NextAttemptAt.lte(now))
            .cond_where(unclaimed(now))
            .order_by(Column::NextAttemptAt, Order::Asc)
            .order_by(Column::Id, Order::Asc)
            .limit(u64::try_from(limit).unwrap_or(u64::MAX));
        if backend == DbBackend::Postgres {
            // Rows another worker is claiming right now are skipped, not
            // waited for; the lock lasts until this statement commits.
            due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let claim = Query::update()
            .table(Outbox)
            .value(Column::LockedUntil, lease_from(now))
            .value(Column::ClaimedBy, self.id.clone())
            .value(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .and_where(Column::Id.in_subquery(due))
            // Checked again on the row itself: PostgreSQL re-evaluates these
            // (not the subquery) on a row another statement just changed.
            .and_where(Column::Status.eq(MailStatus::Pending))
            .cond_where(unclaimed(now))
            .returning_all()
            .to_owned();
        let mut claimed = Outbox::find()
            .from_raw_sql(backend.build(&claim))
            .all(&self.db)
            .await?;
        claimed.sort_by_key(|mail| (mail.next_attempt_at, mail.id));
        for mail in &mut claimed {
            if mail.message_id.is_none() {
                mail.message_id = Some(self.give_message_id(mail).await?);
            }
        }
        Ok(claimed)
    }

    /// A row written without `Mailer::queue` (an SQL import) gets its
    /// Message-ID now, stored before its first attempt and kept for the
    /// next ones.
    async fn give_message_id(&self, mail: &entity::Model) -> Result<String, DbErr> {
        let chosen = super::new_message_id(&mail.from_address);
        let written = Outbox::update_many()
            .col_expr(Column::MessageId, Expr::value(Some(chosen.clone())))
            .filter(Column::Id.eq(mail.id))
            .filter(Column::MessageId.is_null())
            .exec(&self.db)
            .await?;
        if written.rows_affected == 1 {
            return Ok(chosen);
        }
        // Given one meanwhile: that one it is.
        Outbox::find_by_id(mail.id)
            .one(&self.db)
            .await?
            .and_then(|row| row.message_id)
            .ok_or_else(|| DbErr::RecordNotFound(format!("mail {} has no Message-ID", mail.id)))
    }

    /// Starts sending `mail` (or records at once why it cannot be written).
    fn start(&self, held: &mut Held, mail: entity::Model) {
        let transport = match &self.delivery {
            Delivery::LocalMailbox => {
                held.done.push((mail, Ok(())));
                return;
            }
            Delivery::Smtp(transport) => transport.clone(),
        };
        match message(&mail) {
            Ok(message) => {
                let task = held.sends.spawn(async move {
                    transport.send(message).await.map(|_| ()).map_err(classify)
                });
                held.flying.insert(task.id(), mail);
            }
            Err(failure) => held.done.push((mail, Err(failure))),
        }
    }

    /// Writes the outcomes of finished sends; what cannot be written stays
    /// held (and its lease renewed) for the next try.
    async fn record(&self, held: &mut Held) {
        if held.done.is_empty() {
            return;
        }
        let (sent, failed): (Vec<_>, Vec<_>) = std::mem::take(&mut held.done)
            .into_iter()
            .partition(|(_, outcome)| outcome.is_ok());
        if !sent.is_empty() {
            let ids: Vec<i32> = sent.iter().map(|(mail, _)| mail.id).collect();
            match self.mark_sent(&ids).await {
                Ok(()) => {
                    held.report.sent += sent.len();
                    for (mail, _) in &sent {
                        tracing::info!(mail = mail.id, kind = %mail.kind, tenant = mail.tenant_id, message_id = mail.message_id.as_deref().unwrap_or_default(), "mail delivered");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, count = sent.len(), "cannot record delivered mails; retrying");
                    held.done.extend(sent);
                }
            }
        }
        for (mail, outcome) in failed {
            let Err(failure) = &outcome else { continue };
            if let Err(error) = self.mark_failed(&mail, failure, &mut held.report).await {
                tracing::warn!(mail = mail.id, %error, "cannot record a failed delivery; retrying");
                held.done.push((mail, outcome));
            }
        }
    }

    async fn mark_sent(&self, ids: &[i32]) -> Result<(), DbErr> {
        Outbox::update_many()
            .col_expr(Column::Status, Expr::value(MailStatus::Sent))
            .col_expr(Column::SentAt, Expr::value(Some(Utc::now())))
            .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(
                Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
            .filter(Column::Id.is_in(ids.iter().copied()))
            // Not over what another worker recorded after this one's lease
            // was lost.
            .filter(Column::Status.eq(MailStatus::Pending))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    async fn mark_failed(
        &self,
        mail: &entity::Model,
        failure: &Failure,
        report: &mut WorkerReport,
    ) -> Result<(), DbErr> {
        let (status, error, next_attempt) = match failure {
            Failure::Refused(error) => {
                tracing::warn!(mail = mail.id, message_id = mail.message_id.as_deref().unwrap_or_default(), %error, "mail refused for good");
                (MailStatus::Refused, error, None)
            }
            Failure::Transient(error) if mail.attempts >= MAX_ATTEMPTS => {
                tracing::warn!(mail = mail.id, %error, attempts = mail.attempts, "mail given up");
                (MailStatus::Failed, error, None)
            }
            Failure::Transient(error) => {
                let delay = backoff(self.retry_seconds, mail.attempts);
                tracing::warn!(mail = mail.id, %error, attempts = mail.attempts, retry_in_s = delay.num_seconds(), "mail delivery failed");
                (MailStatus::Pending, error, Some(Utc::now() + delay))
            }
        };
        let mut update = Outbox::update_many()
            .col_expr(Column::Status, Expr::value(status))
            .col_expr(Column::LastError, Expr::value(Some(error.clone())))
            .col_expr(
                Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None));
        if let Some(next) = next_attempt {
            update = update.col_expr(Column::NextAttemptAt, Expr::value(next));
        }
        update
            .filter(Column::Id.eq(mail.id))
            .filter(Column::ClaimedBy.eq(self.id.as_str()))
            .filter(Column::Status.eq(MailStatus::Pending))
            .exec(&self.db)
            .await?;
        match failure {
            Failure::Refused(_) => report.refused += 1,
            Failure::Transient(_) => report.failed_attempts += 1,
        }
        Ok(())
    }

    /// Extends the lease of everything this worker holds.
    async fn renew(&self, held: &Held) {
        let ids = held.ids();
        if ids.is_empty() {
            return;
        }
        let renewed = Outbox::update_many()
            .col_expr(Column::LockedUntil, Expr::value(lease_from(Utc::now())))
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(Column::ClaimedBy.eq(self.id.as_str()))
            .filter(Column::Status.eq(MailStatus::Pending))
            .exec(&self.db)
            .await;
        match renewed {
            Ok(result) if result.rows_affected < ids.len() as u64 => tracing::warn!(
                held = ids.len(),
                renewed = result.rows_affected,
                "some claimed mails were taken over by another worker"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot renew the claim on mails being sent"),
        }
    }

    /// Hands mails back: free for any worker now. `uncount`: their attempt
    /// never started.
    async fn release(&self, ids: &[i32], uncount: bool) -> Result<u64, DbErr> {
        use sea_orm::sea_query::ExprTrait as _;

        if ids.is_empty() {
            return Ok(0);
        }
        let mut update = Outbox::update_many()
            .col_expr(
                Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None));
        if uncount {
            update = update.col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1));
        }
        let released = update
            .filter(Column::Id.is_in(ids.iter().copied()))
            .filter(Column::ClaimedBy.eq(self.id.as_str()))
            .filter(Column::Status.eq(MailStatus::Pending))
            .exec(&self.db)
            .await?
            .rows_affected;
        if self.db.get_database_backend() == DbBackend::Postgres {
            // Other instances take them now rather than at their next poll.
            self.db
                .execute_unprepared(&format!("NOTIFY {CHANNEL}"))
                .await?;
        }
        Ok(released)
    }

    /// Stops claiming; hands back what has not started, lets what is in
    /// flight finish for up to [`DRAIN`], hands back the rest.
    async fn shut_down(&self, held: &mut Held) {
        let waiting: Vec<i32> = held.queue.drain(..).map(|mail| mail.id).collect();
        match self.release(&waiting, true).await {
            Ok(count) => held.report.released += usize::try_from(count).unwrap_or(usize::MAX),
            Err(error) => {
                tracing::warn!(%error, count = waiting.len(), "cannot release claimed mails; they are free when their claim expires");
            }
        }

        let deadline = Instant::now() + DRAIN;
        let mut next_renew = Instant::now() + RENEW;
        while !held.sends.is_empty() && Instant::now() < deadline {
            tokio::select! {
                Some(joined) = held.sends.join_next_with_id() => held.finished(joined),
                () = tokio::time::sleep_until(deadline.min(next_renew)) => {
                    if Instant::now() >= next_renew {
                        self.renew(held).await;
                        next_renew = Instant::now() + RENEW;
                    }
                }
            }
            self.record(held).await;
        }
        // Past the drain: whether the server got these is unknown; another
        // worker sends them again (same Message-ID), their attempt counted.
        held.sends.abort_all();
        while let Some(joined) = held.sends.join_next_with_id().await {
            // A send that ended just before the abort keeps its outcome.
            held.finished(joined);
        }
        let abandoned: Vec<i32> = held.flying.drain().map(|(_, mail)| mail.id).collect();
        if !abandoned.is_empty() {
            tracing::warn!(
                count = abandoned.len(),
                "mail sends still running at shutdown are abandoned"
            );
            match self.release(&abandoned, false).await {
                Ok(count) => held.report.released += usize::try_from(count).unwrap_or(usize::MAX),
                Err(error) => {
                    tracing::warn!(%error, "cannot release abandoned mails; they are free when their claim expires")
                }
            }
        }
        // A database that answers again within a few seconds still gets
        // the outcomes (else the mails are sent again after the lease).
        for _ in 0..3 {
            self.record(held).await;
            if held.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// The delay before the next attempt, after `attempts` failed ones: the
/// first delay, doubling at each attempt, up to an hour.
fn backoff(retry_seconds: i64, attempts: i32) -> chrono::Duration {
    let factor = 1_i64 << attempts.clamp(1, 20).saturating_sub(1);
    chrono::Duration::seconds((retry_seconds * factor).min(MAX_BACKOFF_SECONDS))
}

/// The message of an outbox row, the same on every attempt but for the MIME
/// boundaries: its Message-ID, and the time it was queued as its date.
fn message(mail: &entity::Model) -> Result<Message, Failure> {
    // Without one lettre would make up a new one at each attempt.
    let Some(message_id) = mail.message_id.clone() else {
        return Err(Failure::Transient("no Message-ID yet".to_owned()));
    };
    let from: Mailbox = format!("{} <{}>", mail.from_name, mail.from_address)
        .parse()
        .map_err(|error| Failure::Refused(format!("sender address: {error}")))?;
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|error| Failure::Refused(format!("recipient address: {error}")))?;
    Message::builder()
        .message_id(Some(message_id))
        .date(mail.created_at.into())
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            mail.text_body.clone(),
            mail.html_body.clone(),
        ))
        .map_err(|error| Failure::Refused(format!("message: {error}")))
}

fn classify(error: lettre::transport::smtp::Error) -> Failure {
    match error.status() {
        Some(code) if is_refusal(code) => Failure::Refused(error.to_string()),
        _ => Failure::Transient(error.to_string()),
    }
}

/// A 55x reply: the mail system refuses this mail (RFC 5321 §4.2.1: x5z is
/// about the mail system; 5yz is permanent). Other permanent replies (50x
/// syntax, 52x service, 53x authentication) say the server or our
/// configuration is wrong, not the mail: they are retried, to be given up
/// after [`MAX_ATTEMPTS`] if nobody fixes them.
fn is_refusal(code: Code) -> bool {
    code.severity == Severity::PermanentNegativeCompletion && code.category == Category::MailSystem
}

fn lease_from(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::seconds(30))
}

/// Not claimed, or claimed by a worker whose lease ran out.
fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Column::LockedUntil.is_null())
        .add(Column::LockedUntil.lt(now))
}

/// PostgreSQL: wakes the worker when any instance queues (or releases)
/// mail. A lost connection is opened again; the worker is woken then too,
/// for what was notified meanwhile.
async fn forward_notifications(db: DatabaseConnection, wake: Arc<Notify>) {
    use sea_orm::sqlx::postgres::PgListener;

    loop {
        let pool = db.get_postgres_connection_pool();
        let listening = match PgListener::connect_with(pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => Ok(listener),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match listening {
            Ok(mut listener) => {
                wake.notify_one();
                loop {
                    match listener.try_recv().await {
                        Ok(_) => wake.notify_one(),
                        Err(error) => {
                            tracing::warn!(%error, "stopped listening for queued mail; polling meanwhile");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for queued mail; polling meanwhile");
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::response::Detail;

    fn code(severity: Severity, category: Category) -> Code {
        Code::new(severity, category, Detail::Zero)
    }

    #[test]
    fn only_55x_replies_are_refusals() {
        assert!(is_refusal(code(
            Severity::PermanentNegativeCompletion,
            Category::MailSystem
        )));
        for (severity, category) in [
            // 450: the mailbox is busy, try later.
            (Severity::TransientNegativeCompletion, Category::MailSystem),
            // 530, 535: authentication; 500: syntax; 521: no service.
            (
                Severity::PermanentNegativeCompletion,
                Category::Unspecified3,
            ),
            (Severity::PermanentNegativeCompletion, Category::Syntax),
            (Severity::PermanentNegativeCompletion, Category::Connections),
        ] {
            assert!(!is_refusal(code(severity, category)));
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let seconds: Vec<i64> = [1, 2, 3, 8, 60]
            .map(|attempts| backoff(30, attempts).num_seconds())
            .to_vec();
        assert_eq!(seconds, [30, 60, 120, 3600, 3600]);
    }
}
