//! The account service's handle. Its operations live in one file per use
//! case (creation, activation, login, password, e-mail change, FranceConnect),
//! each with its own `impl Accounts`.

use std::future::Future;
use std::sync::Arc;

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    QueryFilter as _,
};
use serde::Serialize;
use tokio::sync::Semaphore;

use super::entity::account::{self, Civility};
use super::error::AccountError;
use super::hashing::PasswordHasher;
use super::sessions::SessionPolicy;
use crate::audit::{self, AuditKind, Origin};
use crate::mail::Mailer;
use crate::tenancy::TenantScope;

/// Work the public mail forms leave to run after their answer, at most this
/// many at once: a flood of requests waits for a slot (known and unknown
/// identifiers alike) instead of piling up tasks without end.
const BACKGROUND_SLOTS: usize = 8;

/// Sessions' activity written in tasks their pages do not wait for, at
/// most this many at once (sessions.rs, `Accounts::session`); beyond, a
/// touch is left to the session's next request.
const TOUCH_SLOTS: usize = 4;

/// The account service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub(super) db: DatabaseConnection,
    pub(super) hasher: PasswordHasher,
    pub(super) mailer: Mailer,
    pub(super) sessions: SessionPolicy,
    /// Seals the trusted-device cookies.
    pub(super) secret_key: Arc<[u8]>,
    background: Arc<Semaphore>,
    /// Slots of the sessions' touches ([`TOUCH_SLOTS`]).
    pub(super) touches: Arc<Semaphore>,
}

impl Accounts {
    pub fn new(
        db: DatabaseConnection,
        hasher: PasswordHasher,
        mailer: Mailer,
        sessions: SessionPolicy,
        secret_key: Arc<[u8]>,
    ) -> Self {
        Self {
            db,
            hasher,
            mailer,
            sessions,
            secret_key,
            background: Arc::new(Semaphore::new(BACKGROUND_SLOTS)),
            touches: Arc::new(Semaphore::new(TOUCH_SLOTS)),
        }
    }

    /// Runs `work` after the caller has answered: waits for a background
    /// slot, then spawns it. Its failure is logged (`what`, the town),
    /// never shown: the answer has gone.
    pub(super) async fn in_background<F>(&self, town: &str, what: &'static str, work: F)
    where
        F: Future<Output = Result<(), AccountError>> + Send + 'static,
    {
        let Ok(slot) = self.background.clone().acquire_owned().await else {
            // Never closed; if it were, doing nothing is the quiet answer.
            tracing::error!(town, what, "no background slot");
            return;
        };
        let town = town.to_owned();
        tokio::spawn(async move {
            if let Err(error) = work.await {
                tracing::error!(town, what, %error, "background work failed");
            }
            drop(slot);
        });
    }

    /// Ends a change that queued a mail: audits it, commits (the mail goes
    /// to the outbox with the change or not at all), then wakes the
    /// delivery worker.
    pub(super) async fn commit_with_mail(
        &self,
        txn: DatabaseTransaction,
        scope: TenantScope,
        account_id: i32,
        kind: AuditKind,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        audit::record(&txn, scope, Some(account_id), kind, origin, None).await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(())
    }

    /// [`Accounts::commit_with_mail`] for an event with its own actor.
    pub(super) async fn commit_with_mail_by(
        &self,
        txn: DatabaseTransaction,
        scope: TenantScope,
        event: audit::Event<'_>,
    ) -> Result<(), AccountError> {
        audit::record_event(&txn, scope, event).await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(())
    }
}

/// Whom a mail greets ("Madame Jeanne MARTIN"): the first fields of every
/// account mail.
#[derive(Serialize)]
pub(super) struct Addressee<'a> {
    civility: Option<&'static str>,
    first_name: &'a str,
    last_name: &'a str,
}

impl<'a> Addressee<'a> {
    pub(super) fn of(owner: &'a account::Model) -> Self {
        Self {
            civility: owner.civility.map(Civility::title),
            first_name: &owner.first_name,
            last_name: &owner.last_name,
        }
    }
}

/// The town's account with this id.
pub(super) async fn account_by_id(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
) -> Result<Option<account::Model>, DbErr> {
    scope
        .select::<account::Entity>()
        .filter(account::Column::Id.eq(account_id))
        .one(db)
        .await
}
