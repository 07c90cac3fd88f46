//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1), on a pool of its own threads — as many as cores, unless
//! `password_hash_threads` says fewer — so that a login storm queues
//! instead of starving the async executor or the memory. Those threads run
//! at a lower priority than the ones serving pages (`SCHED_IDLE`, see
//! [`HASH_NICE`]): when the cores are idle, logins take all of them
//! (a hash is the same work whatever its priority); when residents' pages
//! want the cores, the pages go first and the logins wait a little. A
//! login storm therefore slows logins, not the dashboard of everyone
//! already in (docs/PERFORMANCE.md has the figures behind the choice).
//!
//! Temporary passwords (the activation mail's) are not chosen by anyone:
//! 81 random bits ([`super::secrets::new_temporary_password`]). A slow hash
//! protects guessable passwords; against 2^80 guesses on average it buys
//! nothing, and it would cost 3 minutes for an import of 10,000 residents.
//! They are stored as `$hmac-sha256$v=1$<tag>`: HMAC-SHA-256 under a key
//! derived from the server's secret key, so that a copy of the database
//! without the key cannot even test a guess. [`PasswordHasher::verify`]
//! recognises both forms; a chosen password is always argon2id.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The stored form of a temporary password, before its tag.
const TEMPORARY_PREFIX: &str = "$hmac-sha256$v=1$";
/// Separates the temporary passwords' key from the other uses of the
/// server's secret key.
const TEMPORARY_KEY_LABEL: &[u8] = b"guichet/temporary-password/v1";

/// OWASP Password Storage Cheat Sheet, argon2id, first option.
const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing task stopped")]
    Join,
    /// [`QUEUED_PER_THREAD`] hashes already wait for each thread: the
    /// login is refused as the server being busy (503), rather than queued
    /// behind minutes of work.
    #[error("too many password checks are waiting")]
    Busy,
}

/// Hashes that may wait per hashing thread (each ~18 ms of a core): beyond
/// that a login waits more than a few seconds, and the next is refused.
pub const QUEUED_PER_THREAD: usize = 64;

/// Logins at work at once per hashing thread (their database statements
/// before and after the hash, and the hash): one hashing, one reading or
/// writing, so the threads never wait for work. The others wait their turn
/// without touching the database — a storm of them would otherwise crowd
/// the pages' statements and executor (measured: the dashboard's p99 during
/// a storm of 32 at once, 7.7 ms; of 4 at once, 4.6 ms; logins per second
/// the same).
pub const LOGINS_PER_THREAD: usize = 2;

/// The hashing threads run under Linux's `SCHED_IDLE` policy: a serving thread
/// that wakes up takes the core from them at once, where a thread at nice 19
/// keeps it for the rest of its slice (CFS weights 3 and 15 against 1024, but
/// above all the wakeup preemption), and they have all of the cores when
/// nothing else runs. Measured in docs/PERFORMANCE.md against nice 0, 10 and
/// 19. The policy orders threads within one scheduling group: where the kernel
/// groups processes by session (`kernel.sched_autogroup_enabled`) or by
/// container, another process — PostgreSQL on the same machine — shares a
/// hashing core as a group apart, at its group's weight, and the pages that
/// wait for its backends stall (`Config::scheduling_doubts` names the case at
/// startup). Where the policy is refused they fall back to this nice value,
/// relative to the server's: 19, the lowest. Lowering a priority needs no
/// privilege (raising it back would: the threads keep theirs for life).
pub const HASH_NICE: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads, fed through one queue; they stop when the last
/// hasher holding the queue is dropped.
#[derive(Debug, Clone)]
struct HashPool {
    jobs: SyncSender<Job>,
}

impl HashPool {
    fn start(threads: usize) -> Result<Self, HashingError> {
        let (jobs, queue) = sync_channel::<Job>(threads.max(1) * QUEUED_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("guichet-hash-{index}"))
                .spawn(move || hashing_thread(&queue))
                .map_err(|error| HashingError::Hash(format!("cannot start a thread: {error}")))?;
        }
        Ok(Self { jobs })
    }

    fn submit(&self, job: Job) -> Result<(), HashingError> {
        self.jobs.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => HashingError::Busy,
            TrySendError::Disconnected(_) => HashingError::Join,
        })
    }
}

fn hashing_thread(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            // A panicking hash fails its own login (its answer channel is
            // dropped: `Join`), not the thread.
            Ok(job) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

/// On Linux the scheduling policy and the nice value are the calling
/// thread's own; elsewhere `nice` would lower the whole process, so the
/// threads keep the server's priority.
#[cfg(target_os = "linux")]
fn lower_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id, thread_schedule_policy,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    // The wrapper also sets the nice value SCHED_IDLE ignores (to 0): its
    // error, when the server runs at a higher nice, says nothing of the
    // policy, which is checked instead.
    let _ = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle);
    if !matches!(thread_schedule_policy(), Ok(policy) if policy == idle) {
        tracing::warn!("cannot run the password hashing threads under SCHED_IDLE");
    }
    // Where SCHED_IDLE was refused, nice 19 still puts pages first.
    if let Err(error) = rustix::process::nice(HASH_NICE) {
        tracing::warn!(%error, "cannot lower the priority of a password hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[derive(Debug, Clone)]
pub struct PasswordHasher {
    pool: HashPool,
    logins: Arc<LoginGate>,
    /// A real hash of nothing anyone knows: checked against when the
    /// identifier is unknown, so that both cases take the same time.
    decoy: Arc<str>,
    /// The HMAC of temporary passwords, keyed, ready to clone.
    temporary_mac: TemporaryMac,
}

/// The logins' turns ([`PasswordHasher::admit_login`]).
#[derive(Debug)]
struct LoginGate {
    permits: Arc<Semaphore>,
    /// Logins waiting for a turn.
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// One login counted as waiting while it lives.
struct Waiting<'a> {
    count: &'a AtomicUsize,
    /// How many waited before it.
    before: usize,
}

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        let before = count.fetch_add(1, Ordering::SeqCst);
        Self { count, before }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct TemporaryMac(HmacSha256);

impl std::fmt::Debug for TemporaryMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.write_str("TemporaryMac")
    }
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds.
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    /// `concurrency` hashing threads (the number of cores, unless the
    /// configuration's `password_hash_threads` keeps cores for the pages);
    /// `secret_key` is the server's (temporary passwords are keyed by it).
    pub fn new(concurrency: usize, secret_key: &[u8]) -> Result<Self, HashingError> {
        let decoy = hash_blocking(&crate::accounts::secrets::new_token())?;
        let key_error = |error| HashingError::Hash(format!("{error}"));
        let mut derive = HmacSha256::new_from_slice(secret_key).map_err(key_error)?;
        derive.update(TEMPORARY_KEY_LABEL);
        let mac = HmacSha256::new_from_slice(&derive.finalize().into_bytes()).map_err(key_error)?;
        Ok(Self {
            pool: HashPool::start(concurrency)?,
            logins: Arc::new(LoginGate {
                permits: Arc::new(Semaphore::new(concurrency.max(1) * LOGINS_PER_THREAD)),
                waiting: AtomicUsize::new(0),
                max_waiting: concurrency.max(1) * QUEUED_PER_THREAD,
            }),
            decoy: decoy.into(),
            temporary_mac: TemporaryMac(mac),
        })
    }

    /// A login's turn (see [`LOGINS_PER_THREAD`]), held until it is
    /// answered; [`HashingError::Busy`] when as many logins already wait as
    /// the hashing queue holds.
    pub async fn admit_login(&self) -> Result<OwnedSemaphorePermit, HashingError> {
        let gate = &self.logins;
        if let Ok(permit) = gate.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Leaves the count when this function returns, turn taken or not,
        // or when the request is dropped while it waits.
        let waiting = Waiting::enter(&gate.waiting);
        if waiting.before >= gate.max_waiting {
            return Err(HashingError::Busy);
        }
        gate.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashingError::Join)
    }

    /// What the database keeps of a temporary password (random, never
    /// chosen: see the module's comment). A microsecond, no thread needed.
    pub fn hash_temporary(&self, password: &str) -> String {
        let tag = self.temporary_mac(password).finalize().into_bytes();
        format!(
            "{TEMPORARY_PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(tag)
        )
    }

    fn temporary_mac(&self, password: &str) -> HmacSha256 {
        let mut mac = self.temporary_mac.0.clone();
        mac.update(password.as_bytes());
        mac
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashingError> {
        let password = password.to_owned();
        self.run(move || hash_blocking(&password)).await?
    }

    /// True if `password` matches `stored`; `None` checks against the decoy
    /// and always answers false, in the same time.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashingError> {
        if let Some(tag) = stored.and_then(|stored| stored.strip_prefix(TEMPORARY_PREFIX)) {
            let matches = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(tag)
                .is_ok_and(|tag| self.temporary_mac(password).verify_slice(&tag).is_ok());
            // An argon2 verification all the same: an answer in a
            // microsecond would tell a guesser that this identifier exists
            // and still waits for its activation.
            self.verify_argon2(password, None).await?;
            return Ok(matches);
        }
        self.verify_argon2(password, stored).await
    }

    async fn verify_argon2(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<bool, HashingError> {
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.decoy.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self
            .run(move || {
                PasswordHash::new(&stored)
                    .map(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.pool.submit(Box::new(move || {
            // Nobody waits any more (the request was cancelled, the client
            // gone): no 18 ms of a core for nothing.
            if done.is_closed() {
                return;
            }
            let _ = done.send(work());
        }))?;
        answer.await.map_err(|_| HashingError::Join)
    }
}

fn hash_blocking(password: &str) -> Result<String, HashingError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| HashingError::Hash(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_panic_does_not_stop_the_pool() {
        let hasher = PasswordHasher::new(1, b"key").unwrap();
        // The one thread held until released…
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        hasher
            .pool
            .submit(Box::new(move || {
                let _ = started.send(());
                let _ = held.recv();
            }))
            .unwrap();
        running.recv().unwrap();
        // …the queue takes its bound, then refuses: busy, not queued.
        let mut queued = 0;
        let refused = loop {
            match hasher.pool.submit(Box::new(|| {})) {
                Ok(()) => queued += 1,
                Err(error) => break error,
            }
        };
        assert_eq!(queued, QUEUED_PER_THREAD);
        assert!(matches!(refused, HashingError::Busy), "{refused:?}");
        release.send(()).unwrap();
        // A job that panics fails alone (once the queue has drained); the
        // thread serves the next.
        let panicked = loop {
            match hasher
                .run(|| -> bool { panic!("a hash that panics") })
                .await
            {
                Err(HashingError::Busy) => {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                other => break other,
            }
        };
        assert!(matches!(panicked, Err(HashingError::Join)), "{panicked:?}");
        assert!(hasher.run(|| true).await.unwrap());
    }

    #[tokio::test]
    async fn logins_take_turns_and_too_many_waiting_are_refused() {
        let hasher = PasswordHasher::new(1, b"key").unwrap();
        let first = hasher.admit_login().await.unwrap();
        let _second = hasher.admit_login().await.unwrap();
        // Both turns taken: the next ones wait, up to the queue's bound.
        let mut waiting = Vec::new();
        for _ in 0..QUEUED_PER_THREAD {
            let hasher = hasher.clone();
            // The turn is kept in the task's output, not given back.
            waiting.push(tokio::spawn(async move { hasher.admit_login().await }));
        }
        while hasher.logins.waiting.load(Ordering::SeqCst) < QUEUED_PER_THREAD {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            hasher.admit_login().await,
            Err(HashingError::Busy)
        ));
        // A turn given back lets one waiting login in.
        drop(first);
        let mut admitted = 0;
        while admitted == 0 {
            tokio::task::yield_now().await;
            admitted = waiting.iter().filter(|task| task.is_finished()).count();
        }
        assert_eq!(admitted, 1);
        // Waiters dropped (their requests gone) no longer count.
        for task in &waiting {
            task.abort();
        }
        for task in waiting {
            let _ = task.await;
        }
        assert_eq!(hasher.logins.waiting.load(Ordering::SeqCst), 0);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_under_sched_idle_and_the_caller_keeps_its_policy() {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
        };
        let server = thread_schedule_policy().unwrap();
        let hasher = PasswordHasher::new(2, b"key").unwrap();
        let hashing = hasher
            .run(|| thread_schedule_policy().unwrap())
            .await
            .unwrap();
        assert_eq!(
            hashing,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!(thread_schedule_policy().unwrap(), server);
        assert_ne!(server, hashing);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashes_run_on_threads_of_lower_priority_than_the_server() {
        let server = rustix::process::getpriority_process(None).unwrap();
        let hasher = PasswordHasher::new(2, b"key").unwrap();
        let hashing = hasher
            .run(|| rustix::process::getpriority_process(None).unwrap())
            .await
            .unwrap();
        assert_eq!(hashing, (server + HASH_NICE).min(19));
        assert_eq!(
            rustix::process::getpriority_process(None).unwrap(),
            server,
            "the caller's own priority is untouched"
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_carry_the_owasp_parameters() {
        let hasher = PasswordHasher::new(2, b"key").unwrap();
        let hash = hasher.hash("correct horse").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("correct horse", None).await.unwrap());
        assert!(!hasher.verify("x", Some("not a hash")).await.unwrap());
    }

    #[tokio::test]
    async fn temporary_passwords_are_keyed_and_take_an_argon2_time() {
        let hasher = PasswordHasher::new(2, b"key").unwrap();
        let password = crate::accounts::secrets::new_temporary_password();
        let stored = hasher.hash_temporary(&password);
        assert!(stored.starts_with("$hmac-sha256$v=1$"), "{stored}");
        assert_eq!(stored, hasher.hash_temporary(&password));
        assert!(hasher.verify(&password, Some(&stored)).await.unwrap());
        assert!(!hasher.verify("wrong", Some(&stored)).await.unwrap());
        assert!(
            !hasher
                .verify(&password, Some("$hmac-sha256$v=1$@@@"))
                .await
                .unwrap()
        );
        // Another server's key opens nothing.
        let other = PasswordHasher::new(2, b"other key").unwrap();
        assert!(!other.verify(&password, Some(&stored)).await.unwrap());

        let started = std::time::Instant::now();
        hasher.verify(&password, Some(&stored)).await.unwrap();
        assert!(started.elapsed() > std::time::Duration::from_millis(3));
    }
}
