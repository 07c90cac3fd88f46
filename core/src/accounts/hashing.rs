//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1), on a pool of its own threads — as many as cores — so that a
//! login storm queues instead of starving the async executor or the
//! memory. Those threads run at a lower priority than the ones serving
//! pages ([`HASH_NICE`]): when the cores are idle, logins take all of them
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

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

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

/// The hashing threads' nice value, relative to the server's: 19, the
/// lowest priority, gives them about 1.5 % of a core's time against a busy
/// serving thread (CFS weights 15 and 1024) and all of it when nothing
/// else runs. Measured against 0 and 10 in docs/PERFORMANCE.md: only 19
/// kept the dashboard's p99 near 2 × idle during a login storm, and logins
/// alone still reach 91–95 % of the argon2id bound. Lowering a priority
/// needs no privilege (raising it back would: the threads keep theirs for
/// life).
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

/// On Linux the nice value is the calling thread's own; elsewhere `nice`
/// would lower the whole process, so the threads keep the server's.
#[cfg(target_os = "linux")]
fn lower_priority() {
    if let Err(error) = rustix::process::nice(HASH_NICE) {
        tracing::warn!(%error, "cannot lower the priority of a password hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[derive(Debug, Clone)]
pub struct PasswordHasher {
    pool: HashPool,
    /// A real hash of nothing anyone knows: checked against when the
    /// identifier is unknown, so that both cases take the same time.
    decoy: Arc<str>,
    /// The HMAC of temporary passwords, keyed, ready to clone.
    temporary_mac: TemporaryMac,
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
    /// `concurrency` hashing threads (the number of cores is right);
    /// `secret_key` is the server's (temporary passwords are keyed by it).
    pub fn new(concurrency: usize, secret_key: &[u8]) -> Result<Self, HashingError> {
        let decoy = hash_blocking(&crate::accounts::secrets::new_token())?;
        let key_error = |error| HashingError::Hash(format!("{error}"));
        let mut derive = HmacSha256::new_from_slice(secret_key).map_err(key_error)?;
        derive.update(TEMPORARY_KEY_LABEL);
        let mac = HmacSha256::new_from_slice(&derive.finalize().into_bytes()).map_err(key_error)?;
        Ok(Self {
            pool: HashPool::start(concurrency)?,
            decoy: decoy.into(),
            temporary_mac: TemporaryMac(mac),
        })
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
