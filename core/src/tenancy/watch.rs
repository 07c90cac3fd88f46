//! Towns changed on one instance (`tenant apply`, later the back-office)
//! seen by every other within a second, with their caches kept.
//!
//! - PostgreSQL: the transaction that changes a town sends `NOTIFY
//!   guichet_towns` (delivered only if it commits); each instance keeps one
//!   connection in `LISTEN` and flushes its cache on each notification.
//!   Notifications sent while that connection is down are lost, so the
//!   cache is flushed again each time it listens anew.
//! - SQLite (one machine, maybe several processes: `serve` and a CLI
//!   `tenant apply`): the towns' change stamp — their count and latest
//!   `updated_at` — is read every [`POLL_INTERVAL`]; the cache is flushed
//!   when it moves.
//!
//! While the database does not answer, the cache is trusted as it is (see
//! [`Freshness::DatabaseDown`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait as _, QuerySelect as _, Statement,
};

use super::cache::{Freshness, TownCache};
use super::entity::tenant;

/// The PostgreSQL channel of town changes; the payload is the town's slug.
pub const TOWNS_CHANNEL: &str = "guichet_towns";
/// How often SQLite's change stamp is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long to wait before listening again after a failure.
const RETRY_DELAY: Duration = Duration::from_millis(250);

/// Tells every instance, once `txn` commits, that the town `slug` changed.
/// Nothing to do on SQLite, whose change stamp is the row itself.
pub(super) async fn announce_change(txn: &DatabaseTransaction, slug: &str) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [TOWNS_CHANNEL.into(), slug.into()],
    ))
    .await?;
    Ok(())
}

/// Keeps `cache` in step with the database until `stop` resolves; the
/// cache is then unwatched again.
pub(super) async fn watch(
    db: DatabaseConnection,
    cache: Arc<TownCache>,
    stop: impl Future<Output = ()> + Send,
) {
    let watching = async {
        if db.get_database_backend() == DbBackend::Postgres {
            listen(&db, &cache).await;
        } else {
            poll(&db, &cache).await;
        }
    };
    tokio::select! {
        () = stop => {}
        () = watching => {}
    }
    cache.set_freshness(Freshness::Unwatched);
}

/// PostgreSQL: `LISTEN`, flush on each notification; listen again (and
/// flush) after any loss of the connection.
async fn listen(db: &DatabaseConnection, cache: &TownCache) {
    loop {
        match subscribe(db).await {
            Ok(mut listener) => {
                // Subscribed first, flushed next: a change committed in
                // between is read again, never missed.
                cache.flush();
                if cache.set_freshness(Freshness::Watched) != Freshness::Watched {
                    tracing::info!(channel = TOWNS_CHANNEL, "town changes: listening");
                }
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            tracing::debug!(town = notification.payload(), "town changed");
                            cache.flush();
                        }
                        // The connection is gone; the cache stays trusted
                        // until listening again tells whether the database
                        // answers (flush) or not (kept as it is).
                        Ok(None) => break,
                        Err(error) => {
                            tracing::debug!(%error, "town changes: listening stopped");
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                let state = if is_unreachable(&error) {
                    Freshness::DatabaseDown
                } else {
                    Freshness::Unwatched
                };
                if cache.set_freshness(state) != state {
                    tracing::warn!(%error, ?state, "town changes: cannot listen");
                }
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
}

/// A connection of the application's pool, listening on [`TOWNS_CHANNEL`].
async fn subscribe(db: &DatabaseConnection) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
    // A lost connection is reported (and listened again, with a flush) by
    // the loop above, not silently replaced.
    listener.eager_reconnect(false);
    listener.listen(TOWNS_CHANNEL).await?;
    Ok(listener)
}

/// The database cannot be reached (rather than refusing `LISTEN`).
fn is_unreachable(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    matches!(
        error,
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed
    )
}

/// SQLite: flush when the towns' change stamp moves.
async fn poll(db: &DatabaseConnection, cache: &TownCache) {
    let mut last = None;
    loop {
        match change_stamp(db).await {
            Ok(stamp) => {
                let was = cache.set_freshness(Freshness::Watched);
                if last.as_ref() != Some(&stamp) || was != Freshness::Watched {
                    cache.flush();
                }
                last = Some(stamp);
            }
            Err(error) => {
                if cache.set_freshness(Freshness::DatabaseDown) != Freshness::DatabaseDown {
                    tracing::warn!(%error, "town changes: the database does not answer");
                }
            }
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// How many towns there are and when one last changed: `tenant apply`
/// writes `updated_at` with every change of a town, and creates rows.
async fn change_stamp(db: &DatabaseConnection) -> Result<(i64, Option<String>), DbErr> {
    use sea_orm::sea_query::{Expr, Func};
    let stamp = tenant::Entity::find()
        .select_only()
        .column_as(
            Expr::from(Func::count(Expr::col(tenant::Column::Id))),
            "towns",
        )
        .column_as(
            Expr::from(Func::max(Expr::col(tenant::Column::UpdatedAt))),
            "changed",
        )
        .into_tuple::<(i64, Option<String>)>()
        .one(db)
        .await?;
    Ok(stamp.unwrap_or_default())
}
