//! `lock`: read-decide-write, serializable per key, for module calls that
//! write (`act`, `act-staff`, `handle-event`).
//!
//! A key is (town, module, scope, resident for the resident scope, key).
//! Locking it takes, in order:
//! 1. an in-process fair mutex of the key (tokio's mutex serves waiters in
//!    arrival order): the calls of one instance queue in memory, holding no
//!    database connection while they wait;
//! 2. on PostgreSQL, `pg_advisory_xact_lock` of a 64-bit hash of the key,
//!    in a transaction opened at the call's first lock: the instances
//!    sharing the database queue on it. The call's writes are committed in
//!    that same transaction (`Modules::act`), so the lock is released by
//!    the very commit that makes them visible. SQLite serves one instance
//!    per file: the mutex is enough, and it is released only after the
//!    writes' own transaction committed.
//!
//! So what a call reads after locking a key, of the data every writer of it
//! also locks, stays true until its own writes are committed. Waits are
//! bounded by [`LOCK_WAIT`] (then the module is told `unavailable`) and are
//! not charged to the call's time limit ([`WaitClock`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sea_orm::{
    ConnectionTrait as _, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    Statement, TransactionTrait as _,
};
use sha2::Digest as _;
use tokio::sync::OwnedMutexGuard;

/// How long a call waits for one lock, at most.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);
/// Locks one call may hold.
pub const MAX_LOCKS_PER_CALL: usize = 32;
/// Past this many keys known, the table forgets those nobody holds.
const PRUNE_ABOVE: usize = 4096;

/// One lockable key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockKey {
    pub tenant_id: i32,
    pub module_id: String,
    /// The resident of the resident scope; none for the town scope.
    pub account_id: Option<i32>,
    pub key: String,
}

impl LockKey {
    /// The advisory lock's id: the first 8 bytes of a SHA-256 of the key,
    /// prefixed so that no other use of advisory locks can share it.
    pub fn advisory_id(&self) -> i64 {
        let mut hash = sha2::Sha256::new();
        hash.update(b"guichet-module-lock\0");
        hash.update(self.tenant_id.to_be_bytes());
        hash.update(self.module_id.as_bytes());
        hash.update([0]);
        match self.account_id {
            Some(account_id) => {
                hash.update([1]);
                hash.update(account_id.to_be_bytes());
            }
            None => hash.update([0]),
        }
        hash.update(self.key.as_bytes());
        let digest = hash.finalize();
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }
}

/// The in-process mutexes, by key, shared by every call of the host.
#[derive(Debug, Default)]
pub struct LockTable {
    mutexes: Mutex<HashMap<LockKey, Weak<tokio::sync::Mutex<()>>>>,
}

impl LockTable {
    fn mutex(&self, key: &LockKey) -> Arc<tokio::sync::Mutex<()>> {
        // A poisoned table still holds valid entries: take them back.
        let mut mutexes = self
            .mutexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mutex) = mutexes.get(key).and_then(Weak::upgrade) {
            return mutex;
        }
        if mutexes.len() >= PRUNE_ABOVE {
            mutexes.retain(|_, mutex| mutex.strong_count() > 0);
        }
        let mutex = Arc::new(tokio::sync::Mutex::new(()));
        mutexes.insert(key.clone(), Arc::downgrade(&mutex));
        mutex
    }
}

/// Why a lock was not had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the lock was not free within {} s", LOCK_WAIT.as_secs())]
    TimedOut,
    #[error("database error while locking: {0}")]
    Database(#[from] DbErr),
}

/// The locks of one call, held until its writes are committed or dropped.
#[derive(Debug, Default)]
pub struct HeldLocks {
    keys: BTreeSet<LockKey>,
    guards: Vec<OwnedMutexGuard<()>>,
    /// PostgreSQL: the transaction holding the advisory locks, in which the
    /// call's writes are committed.
    transaction: Option<DatabaseTransaction>,
    /// A statement of the transaction failed: PostgreSQL refuses every
    /// later one, so the call's writes cannot be committed.
    broken: bool,
}

impl HeldLocks {
    pub fn holds(&self, key: &LockKey) -> bool {
        self.keys.contains(key)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn transaction(&self) -> Option<&DatabaseTransaction> {
        self.transaction.as_ref()
    }

    /// The transaction to commit the call's writes in, if the locks opened
    /// one; `Err` when it can no longer commit. The mutexes stay held
    /// (by `self`) until `self` is dropped: after the commit.
    pub fn take_transaction(&mut self) -> Result<Option<DatabaseTransaction>, LockError> {
        if self.broken {
            return Err(LockError::Database(DbErr::Custom(
                "the call's lock transaction failed".to_owned(),
            )));
        }
        Ok(self.transaction.take())
    }

    /// Locks `key` for the rest of the call, waiting at most `wait`.
    pub async fn acquire(
        &mut self,
        table: &LockTable,
        db: &DatabaseConnection,
        key: LockKey,
        wait: Duration,
    ) -> Result<(), LockError> {
        let deadline = Instant::now() + wait;
        let mutex = table.mutex(&key);
        let guard = tokio::time::timeout(wait, mutex.lock_owned())
            .await
            .map_err(|_| LockError::TimedOut)?;
        if db.get_database_backend() == DatabaseBackend::Postgres {
            let locked = self.advisory(db, &key, deadline).await;
            if let Err(error) = locked {
                // A failed statement aborts a PostgreSQL transaction.
                self.broken = self.transaction.is_some();
                return Err(error);
            }
        }
        self.guards.push(guard);
        self.keys.insert(key);
        Ok(())
    }

    async fn advisory(
        &mut self,
        db: &DatabaseConnection,
        key: &LockKey,
        deadline: Instant,
    ) -> Result<(), LockError> {
        if self.transaction.is_none() {
            self.transaction = Some(db.begin().await?);
        }
        let Some(transaction) = self.transaction.as_ref() else {
            return Err(LockError::Database(DbErr::Custom(
                "no lock transaction".to_owned(),
            )));
        };
        // Usually free (the in-process mutex already queued this
        // instance's callers): one round trip, inside the section every
        // other caller of the key waits for.
        let taken = transaction
            .query_one_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock($1) AS taken",
                [key.advisory_id().into()],
            ))
            .await?
            .map(|row| row.try_get::<bool>("", "taken"))
            .transpose()?;
        if taken == Some(true) {
            return Ok(());
        }
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
            .max(1);
        // The wait is bounded by the server itself: a statement cancelled
        // from here would leave the connection in an unknown state. A
        // parameter, not a literal: one prepared statement whatever the
        // time left.
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT set_config('lock_timeout', $1, true)",
                [format!("{left}ms").into()],
            ))
            .await?;
        let locked = transaction
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [key.advisory_id().into()],
            ))
            .await;
        if let Err(error) = locked {
            // 55P03: lock_not_available, the lock_timeout passed.
            return Err(
                if error.to_string().contains("55P03") || error.to_string().contains("lock timeout")
                {
                    LockError::TimedOut
                } else {
                    LockError::Database(error)
                },
            );
        }
        transaction
            .execute_raw(Statement::from_string(
                DatabaseBackend::Postgres,
                "SET LOCAL lock_timeout TO DEFAULT",
            ))
            .await?;
        Ok(())
    }
}

/// Time a call spent waiting for locks: not charged to its wall-clock
/// limit (the host's `run` extends the call's deadline by it).
#[derive(Debug, Default)]
pub struct WaitClock {
    state: Mutex<WaitState>,
}

#[derive(Debug, Default)]
struct WaitState {
    waited: Duration,
    since: Option<Instant>,
}

impl WaitClock {
    pub fn start(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.since = Some(Instant::now());
        }
    }

    pub fn stop(&self) {
        if let Ok(mut state) = self.state.lock()
            && let Some(since) = state.since.take()
        {
            state.waited += since.elapsed();
        }
    }

    /// Time waited so far, the wait going on included; whether one is.
    pub fn waited(&self) -> (Duration, bool) {
        self.state.lock().map_or((Duration::ZERO, false), |state| {
            let current = state.since.map_or(Duration::ZERO, |since| since.elapsed());
            (state.waited + current, state.since.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(account_id: Option<i32>, key: &str) -> LockKey {
        LockKey {
            tenant_id: 1,
            module_id: "places".to_owned(),
            account_id,
            key: key.to_owned(),
        }
    }

    #[test]
    fn advisory_ids_tell_scopes_and_keys_apart() {
        assert_eq!(key(None, "a").advisory_id(), key(None, "a").advisory_id());
        assert_ne!(
            key(None, "a").advisory_id(),
            key(Some(1), "a").advisory_id()
        );
        assert_ne!(key(None, "a").advisory_id(), key(None, "b").advisory_id());
    }

    #[tokio::test]
    async fn waiters_are_served_in_arrival_order() {
        let table = Arc::new(LockTable::default());
        let first = table.mutex(&key(None, "jour")).lock_owned().await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for index in 0..5 {
            let table = table.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let _guard = table.mutex(&key(None, "jour")).lock_owned().await;
                order.lock().unwrap().push(index);
            }));
            // Each waiter queues before the next one arrives.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(first);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
