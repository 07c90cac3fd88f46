//! Server-side sessions: the cookie holds a random token, the database its
//! hash, the town, the account, and the two deadlines (idle, absolute).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseBackend,
    DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait as _, FromQueryResult as _,
    JoinType, QueryFilter as _, QuerySelect as _, QueryTrait as _, RelationDef, Statement,
    TransactionTrait as _,
};
use tracing::Instrument as _;

use super::entity::{account, session};
use super::error::AccountError;
use super::secrets::{new_token, token_hash};
use super::service::Accounts;
use crate::audit::{self, AuditKind, Origin};
use crate::mail::MailKind;
use crate::tenancy::{Tenant, TenantScope};
use crate::versions::{Stamp, counters_column};

/// Session lifetimes, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// `last_seen_at` is written at most this often, not at every request.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Opens a session for `account_id`; returns the token for the cookie.
pub async fn open(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    policy: SessionPolicy,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let token = new_token();
    session::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        account_id: Set(account_id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + policy.absolute),
        ip: Set(origin.ip.clone()),
        user_agent: Set(origin.stored_user_agent()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The live session of `token` in this town, with its account and the
/// version counters of the town and of that account (versions/mod.rs);
/// expired sessions are deleted on sight.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    token: &str,
    policy: SessionPolicy,
    now: DateTime<Utc>,
) -> Result<Option<(session::Model, account::Model, Stamp)>, DbErr> {
    // The session, its account and the counters in one query (every
    // resident page starts here: one round trip), all in the request's
    // town.
    let owned_by: RelationDef = session::Entity::belongs_to(account::Entity)
        .from(session::Column::AccountId)
        .to(account::Column::Id)
        .into();
    let backend = db.get_database_backend();
    let query = scope
        .select::<session::Entity>()
        .filter(session::Column::TokenHash.eq(token_hash(token)))
        .join(JoinType::InnerJoin, owned_by)
        .filter(account::Column::TenantId.eq(scope.tenant_id().get()))
        .select_also(account::Entity)
        .expr_as(
            counters_column(
                backend,
                scope.tenant_id().get(),
                Expr::col((session::Entity, session::Column::AccountId)),
            ),
            COUNTERS,
        )
        .build(backend);
    let Some(row) = db.query_one_raw(query).await? else {
        return Ok(None);
    };
    // The aliases `select_also` gives the two models' columns.
    let found = session::Model::from_query_result(&row, "A_")?;
    let owner = account::Model::from_query_result(&row, "B_")?;
    let stamp = Stamp::from_column(
        Some(owner.id),
        row.try_get::<Option<String>>("", COUNTERS)?.as_deref(),
    )?;
    if found.expires_at <= now || found.last_seen_at + policy.idle <= now {
        close_by_id(db, scope, found.id).await?;
        return Ok(None);
    }
    // Disabling (or closing) ends the account's sessions; one opened in a
    // race with it is closed here.
    if owner.disabled_at.is_some() || owner.status == account::AccountStatus::Closed {
        close_by_id(db, scope, found.id).await?;
        return Ok(None);
    }
    Ok(Some((found, owner, stamp)))
}

/// Whether a session last seen at `last_seen_at` is to be touched at `now`.
fn touch_due(last_seen_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (now - last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS
}

/// Records that session `id` was seen at `now`, in a task the page does
/// not wait for (see [`Accounts::session`]). On PostgreSQL the commit
/// does not wait for the write-ahead log to reach the disk
/// (`synchronous_commit = off`, this transaction only): a touch lost in a
/// crash shortens a session's idle time by a minute at most, while a touch
/// waiting for the flush behind other commits (a login storm's) made its
/// page wait with it (docs/PERFORMANCE.md, fourth round). Never moves the
/// time back (two touches of one session can race).
async fn touch(
    db: &DatabaseConnection,
    scope: TenantScope,
    id: i32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let update = scope
        .update::<session::Entity>()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .filter(session::Column::LastSeenAt.lt(now));
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return update.exec(db).await.map(|_| ());
    }
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_string(
        DatabaseBackend::Postgres,
        "SET LOCAL synchronous_commit TO OFF",
    ))
    .await?;
    update.exec(&txn).await?;
    txn.commit().await
}

/// The column of the counters in [`find`]'s query.
const COUNTERS: &str = "version_counters";

/// Keeps the provider's id_token with a session opened through
/// FranceConnect (its logout goes through the provider).
pub async fn attach_id_token(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    token: &str,
    id_token: &str,
) -> Result<(), DbErr> {
    scope
        .update::<session::Entity>()
        .col_expr(
            session::Column::FranceconnectIdToken,
            Expr::value(Some(id_token.to_owned())),
        )
        .filter(session::Column::TokenHash.eq(token_hash(token)))
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends the session of `token`, if it exists in this town.
pub async fn close(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    token: &str,
) -> Result<(), DbErr> {
    scope
        .delete::<session::Entity>()
        .filter(session::Column::TokenHash.eq(token_hash(token)))
        .exec(db)
        .await
        .map(|_| ())
}

async fn close_by_id(db: &impl ConnectionTrait, scope: TenantScope, id: i32) -> Result<(), DbErr> {
    scope
        .delete::<session::Entity>()
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every session of the account but `keep` (after a password change).
pub async fn close_others(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    keep: Option<i32>,
) -> Result<u64, DbErr> {
    let mut delete = scope
        .delete::<session::Entity>()
        .filter(session::Column::AccountId.eq(account_id));
    if let Some(keep) = keep {
        delete = delete.filter(session::Column::Id.ne(keep));
    }
    delete.exec(db).await.map(|result| result.rows_affected)
}

impl Accounts {
    /// Opens a session, records the login (the previous one is kept for
    /// "votre dernière connexion"), and audits it.
    pub(super) async fn open_session(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        owner: &account::Model,
        origin: &Origin,
        franceconnect_id_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, AccountError> {
        let scope = tenant.scope();
        // First the account, on the condition that it is still open: a
        // closure that won the race (privacy/closure.rs) leaves nothing to
        // log in to, and this login writes nothing. Once this statement
        // holds the row, a closure waits for the login and then finds its
        // reason gone.
        let touched = scope
            .update::<account::Entity>()
            .col_expr(
                account::Column::PreviousLoginAt,
                Expr::value(owner.last_login_at),
            )
            .col_expr(account::Column::LastLoginAt, Expr::value(Some(now)))
            // A login answers the inactivity warning.
            .col_expr(
                account::Column::InactivityWarnedAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(account::Column::Id.eq(owner.id))
            .filter(account::Column::Status.ne(account::AccountStatus::Closed))
            .filter(account::Column::ClosedAt.is_null())
            .exec(txn)
            .await?;
        if touched.rows_affected != 1 {
            return Ok(None);
        }
        // And cancels a closure asked and not yet done: told by what this
        // statement changed, not by the account as read before.
        let cancelled = scope
            .update::<account::Entity>()
            .col_expr(
                account::Column::ClosureRequestedAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .col_expr(
                account::Column::ClosesAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(account::Column::Id.eq(owner.id))
            .filter(account::Column::ClosesAt.is_not_null())
            .exec(txn)
            .await?;
        if cancelled.rows_affected == 1 {
            audit::record(
                txn,
                scope,
                Some(owner.id),
                AuditKind::AccountClosureCancelled,
                origin,
                None,
            )
            .await?;
            // Told by mail: a login the owner did not make cancels too.
            self.mailer
                .queue(
                    txn,
                    tenant,
                    MailKind::ClosureCancelled,
                    &owner.email,
                    serde_json::json!({
                        "first_name": owner.first_name,
                        "last_name": owner.last_name,
                        "history_url": self.mailer.links().town_url(tenant, "/mon-compte/historique"),
                    }),
                )
                .await?;
        }
        let session_token = open(txn, scope, owner.id, self.sessions, origin, now).await?;
        if let Some(id_token) = franceconnect_id_token {
            attach_id_token(txn, scope, &session_token, id_token).await?;
        }
        audit::record(
            txn,
            scope,
            Some(owner.id),
            AuditKind::LoginSucceeded,
            origin,
            franceconnect_id_token.map(|_| "franceconnect".to_owned()),
        )
        .await?;
        Ok(Some(session_token))
    }

    /// The live session of a cookie's token, with its account and the
    /// version counters of the town and the account, read at once.
    pub async fn session(
        &self,
        tenant: &Tenant,
        session_token: &str,
    ) -> Result<Option<(session::Model, account::Model, Stamp)>, AccountError> {
        let now = Utc::now();
        let scope = tenant.scope();
        let found = find(&self.db, scope, session_token, self.sessions, now).await?;
        if let Some((session, _, _)) = &found
            && touch_due(session.last_seen_at, now)
        {
            // In a task of its own, never waited for; when every touch slot
            // is taken, left to the session's next request — unless half
            // of the idle time has gone by: then awaited here, so that a
            // busy moment never ends an active session.
            match self.touches.clone().try_acquire_owned() {
                Ok(slot) => {
                    let (db, id, town) = (self.db.clone(), session.id, tenant.slug.clone());
                    let work = async move {
                        if let Err(error) = touch(&db, scope, id, now).await {
                            tracing::warn!(town, %error, "cannot record a session's activity");
                        }
                        drop(slot);
                    };
                    tokio::spawn(work.instrument(tracing::Span::current()));
                }
                Err(_) if session.last_seen_at + self.sessions.idle / 2 <= now => {
                    touch(&self.db, scope, session.id, now).await?;
                }
                Err(_) => {}
            }
        }
        Ok(found)
    }
}
