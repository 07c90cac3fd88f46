//! The database connection: SQLite (a file under `./data/` by default) or
//! PostgreSQL, chosen by the URL, with the schema migrated before use.
//!
//! Error policy: connection and migration failures happen at startup or in a
//! CLI command; they are returned as [`DbSetupError`], printed as one sentence
//! and stop the process (a database that does not answer says so in plain
//! words, naming its host, never its password). Nothing serves requests on a
//! schema that failed to migrate. On the request path, [`classify`] tells
//! what a [`DbErr`] means for the client: the database unreachable (503, try
//! again), a value the database refused (the client's input, 4xx), or
//! anything else (500, logged).

use std::path::PathBuf;
use std::time::Duration;

use guichet_migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};

/// How long a caller waits for a connection before the database counts as
/// unreachable, unless `database_acquire_timeout_ms` says otherwise: a
/// request answers 503 after this long at worst, instead of hanging.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long `/readyz` waits for the database: a load balancer's probe gets
/// "not ready" within a second, never a timeout of its own.
pub const READINESS_TIMEOUT: Duration = Duration::from_millis(800);

/// Whether the database can store `text` as it is: not with a NUL
/// character, which PostgreSQL refuses in any text (and SQLite would keep
/// on one backend only). Every text a form or the data API accepts is
/// checked with this before it reaches a service.
pub fn is_storable_text(text: &str) -> bool {
    !text.contains('\0')
}

/// A PostgreSQL connection idle in the pool for this long is tested
/// (pinged) before use; one used more recently is not.
const TEST_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// What a 503 for an unavailable database tells clients to wait
/// (`Retry-After`, in seconds) before trying again.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// What a database error means for whoever made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The database cannot be reached, or refuses work for now (shutting
    /// down, too many connections, a lock or serialization conflict): the
    /// same request may work in a moment (503 with `Retry-After`).
    Unavailable,
    /// The database refused a value it was given: a NUL character in a
    /// text, a number or date out of range, a text too long. The client's
    /// input (400/422), which the layers above should have refused first.
    RefusedInput,
    /// Anything else: a bug, a schema out of step, a misconfiguration
    /// (500, logged).
    Internal,
}

/// Classifies a database error (see [`DbFailure`]).
pub fn classify(error: &DbErr) -> DbFailure {
    match error {
        DbErr::ConnectionAcquire(_) => DbFailure::Unavailable,
        DbErr::Conn(RuntimeErr::SqlxError(error))
        | DbErr::Exec(RuntimeErr::SqlxError(error))
        | DbErr::Query(RuntimeErr::SqlxError(error)) => classify_sqlx(error),
        _ => DbFailure::Internal,
    }
}

fn classify_sqlx(error: &sea_orm::sqlx::Error) -> DbFailure {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => {
            DbFailure::Unavailable
        }
        // A handshake cut short is the server going away; a certificate
        // refused is a misconfiguration.
        Error::Tls(source) if caused_by_io(source.as_ref()) => DbFailure::Unavailable,
        Error::Database(error) => {
            if error
                .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                classify_postgres(error.code().as_deref().unwrap_or_default())
            } else {
                classify_sqlite(error.code().as_deref().unwrap_or_default())
            }
        }
        _ => DbFailure::Internal,
    }
}

fn caused_by_io(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<std::io::Error>() {
            return true;
        }
        current = error.source();
    }
    false
}

/// By SQLSTATE (PostgreSQL's appendix A, "Error codes").
fn classify_postgres(code: &str) -> DbFailure {
    match code {
        // Class 22, data exception: NUL in a text (22021), value too long
        // (22001), numeric or date out of range (22003, 22008), a text
        // that is not a number (22P02)…
        _ if code.starts_with("22") => DbFailure::RefusedInput,
        // Class 08, connection exception; 53, insufficient resources
        // (too many connections, disk full); 57P01-57P03, the server
        // shutting down or starting up; 40001 and 40P01, a serialization
        // failure or a deadlock, which a retry resolves.
        _ if code.starts_with("08") || code.starts_with("53") => DbFailure::Unavailable,
        "57P01" | "57P02" | "57P03" | "40001" | "40P01" => DbFailure::Unavailable,
        _ => DbFailure::Internal,
    }
}

/// By SQLite result code (the primary code is the extended code's low byte).
fn classify_sqlite(code: &str) -> DbFailure {
    match code.parse::<i32>().map(|code| code & 0xff) {
        // SQLITE_TOOBIG: a string or blob over the limit.
        Ok(18) => DbFailure::RefusedInput,
        // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL,
        // SQLITE_CANTOPEN: the file is busy or cannot be used right now.
        Ok(5 | 6 | 10 | 13 | 14) => DbFailure::Unavailable,
        _ => DbFailure::Internal,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the database folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Nothing answers at the database's address (or not in time).
    #[error(
        "database unreachable: {server} does not answer ({reason}); \
         check that the database server runs and that `database_url` names it"
    )]
    Unreachable {
        /// `host:port`, never the user or the password.
        server: String,
        reason: String,
    },
    #[error("cannot connect to the database {url}: {source}")]
    Connect { url: String, source: DbErr },
    #[error("the database migration failed: {0}")]
    Migrate(DbErr),
}

/// Opens a pool on `url`, creating the SQLite file (and its folder) if
/// needed; a caller waits at most [`DEFAULT_ACQUIRE_TIMEOUT`] for a
/// connection.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    connect_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Like [`connect`], waiting at most `acquire_timeout` for a connection:
/// for each query of a request, and for this first connection.
pub async fn connect_with(
    url: &str,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbSetupError> {
    let url = prepare_sqlite_url(url)?;
    let mut options = ConnectOptions::new(url.clone());
    // Acquiring includes connecting, retried while the server refuses
    // connections (it may be restarting): the whole wait is bounded by the
    // acquire timeout, after which the request is answered 503.
    options
        .connect_timeout(acquire_timeout)
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time in SQLite: a small pool avoids "database is
        // locked" storms and keeps reads concurrent. Not tested before use:
        // nothing between the process and its file can break a connection,
        // and a ping is a round trip to the connection's thread, as dear as
        // a statement (a worker that died fails its statement, answered
        // 503 like any unavailability).
        options
            .max_connections(8)
            .min_connections(1)
            .test_before_acquire(false);
    } else {
        // A connection that has waited in the pool is tested before use,
        // so that the first request after the database's return does not
        // get a connection it had closed. One in constant use is not: the
        // test is a round trip to the server, as dear as a page's query
        // (sqlx already tests each connection when it comes back to the
        // pool, and closes it if broken).
        options
            .max_connections(32)
            .min_connections(1)
            .test_before_acquire(false);
        // PostgreSQL's notices ("relation seaql_migrations already exists,
        // skipping" at every start) are not ours to relay: warnings and
        // errors still come through. Set once connected rather than as a
        // startup parameter, which PgBouncer refuses by default.
        options.map_sqlx_postgres_pool_opts(|pool| {
            pool.after_connect(|connection, _| {
                Box::pin(async move {
                    use sea_orm::sqlx::Executor as _;
                    connection
                        .execute("SET client_min_messages = warning")
                        .await?;
                    Ok(())
                })
            })
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= TEST_IF_IDLE_FOR {
                        use sea_orm::sqlx::Connection as _;
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
        });
    }
    Database::connect(options).await.map_err(|source| {
        // A SQLite file is there or not: its errors say which file.
        if !url.starts_with("sqlite:") && classify(&source) == DbFailure::Unavailable {
            DbSetupError::Unreachable {
                server: server_of(&url),
                reason: plain_reason(&source, Some(acquire_timeout)),
            }
        } else {
            DbSetupError::Connect {
                url: redact_password(&url),
                source,
            }
        }
    })
}

/// The connection pool now: connections open, idle among them, and the
/// most it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// What `/metrics` says of the pool.
pub fn pool_figures(db: &DatabaseConnection) -> PoolFigures {
    use sea_orm::DatabaseConnectionType as Pool;
    let figures = |open: u32, idle: usize, max: u32| PoolFigures {
        open,
        idle: u32::try_from(idle).unwrap_or(u32::MAX),
        max,
    };
    match &db.inner {
        Pool::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            figures(
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        Pool::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            figures(
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => figures(0, 0, 0),
    }
}

/// Applies every pending migration; returns how many were applied.
pub async fn migrate(db: &DatabaseConnection) -> Result<usize, DbSetupError> {
    let failed = |error: DbErr| {
        // The database went away between connecting and migrating: say
        // that, not which migration step happened to fail.
        if classify(&error) == DbFailure::Unavailable {
            DbSetupError::Unreachable {
                server: "the database server".to_owned(),
                reason: plain_reason(&error, None),
            }
        } else {
            DbSetupError::Migrate(error)
        }
    };
    let pending = Migrator::get_pending_migrations(db)
        .await
        .map_err(failed)?
        .len();
    Migrator::up(db, None).await.map_err(failed)?;
    Ok(pending)
}

/// Connects and migrates: what every command that touches data does first.
pub async fn open(
    url: &str,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection, DbSetupError> {
    let db = connect_with(url, acquire_timeout).await?;
    let applied = migrate(&db).await?;
    if applied > 0 {
        tracing::info!(applied, "database schema migrated");
    }
    Ok(db)
}

/// The first string, in byte order, above every string that starts with
/// `prefix`: `prefix` with its last character moved one up (trailing
/// U+10FFFF, which has none, dropped); none if nothing is above. So
/// `key >= prefix AND key < prefix_end(prefix)` is a prefix search that is
/// an index range, exact where keys compare byte by byte (SQLite's
/// `BINARY`; on PostgreSQL, columns in the `"C"` collation), as UTF-8
/// orders as code points do.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // `from_u32` skips the surrogates, which are not characters.
        if let Some(next) = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `host:port` of a server URL (PostgreSQL's port by default): never the
/// user or the password.
fn server_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "{}:{}",
            parsed.host_str().unwrap_or("localhost"),
            parsed.port().unwrap_or(5432)
        ),
        Err(_) => "the database server".to_owned(),
    }
}

/// Why the connection failed, in a few words.
fn plain_reason(error: &DbErr, waited: Option<Duration>) -> String {
    use sea_orm::sqlx::Error;
    let sqlx = match error {
        DbErr::Conn(RuntimeErr::SqlxError(error)) => Some(error.as_ref()),
        _ => None,
    };
    match sqlx {
        Some(Error::PoolTimedOut) | None => match waited {
            Some(waited) => format!("no connection within {} s", waited.as_secs_f32()),
            None => "no connection in time".to_owned(),
        },
        Some(Error::Io(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        Some(Error::Io(error)) => error.to_string(),
        Some(Error::Tls(_)) => "the connection was cut during its set-up".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// SQLite: make sure the file's folder exists and that sqlx creates the file.
fn prepare_sqlite_url(url: &str) -> Result<String, DbSetupError> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(url.to_owned());
    };
    let path_and_query = rest.trim_start_matches("//");
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(folder) = std::path::Path::new(path).parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder).map_err(|source| DbSetupError::Folder {
            path: folder.to_owned(),
            source,
        })?;
    }
    let query = if query.split('&').any(|pair| pair.starts_with("mode=")) {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The URL with any password replaced, for error messages and logs.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Setting a password only fails on URLs without a host, which
            // cannot have one to begin with.
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Begins a transaction that will write.
///
/// On SQLite it takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`): a
/// deferred transaction that reads, then writes, fails at once with "database
/// is locked" when another connection wrote in between, instead of waiting
/// its turn. PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait as _};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_its_last_character_s_successor() {
        assert_eq!(prefix_end("dur").as_deref(), Some("dus"));
        assert_eq!(prefix_end("a9").as_deref(), Some("a:"));
        assert_eq!(prefix_end("day:").as_deref(), Some("day;"));
        assert_eq!(prefix_end("a%_").as_deref(), Some("a%`"), "no wildcard");
        assert_eq!(prefix_end("é").as_deref(), Some("ê"));
        assert_eq!(
            prefix_end("a\u{D7FF}").as_deref(),
            Some("a\u{E000}"),
            "past the surrogates"
        );
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
        // Every string with the prefix is within the range, in byte order.
        let end = prefix_end("day:").unwrap();
        for key in ["day:", "day:2026", "day:\u{10FFFF}\u{10FFFF}", "day:~"] {
            assert!(key >= "day:" && key < end.as_str(), "{key}");
        }
        for key in ["day", "day;", "daz", "Day:"] {
            assert!(!(key >= "day:" && key < end.as_str()), "{key}");
        }
    }

    /// The bundled SQLite is built with the query planner stability
    /// guarantee (`.cargo/config.toml`): without it, each execution of a
    /// statement with a bound `LIMIT` (every `.one()`) prepares it again.
    #[tokio::test]
    async fn sqlite_plans_do_not_depend_on_bound_values() {
        use sea_orm::{ConnectionTrait as _, DatabaseBackend, Statement};
        let db = Database::connect("sqlite::memory:").await.unwrap();
        let rows = db
            .query_all_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA compile_options",
            ))
            .await
            .unwrap();
        let options: Vec<String> = rows
            .iter()
            .filter_map(|row| row.try_get_by_index::<String>(0).ok())
            .collect();
        assert!(
            options.iter().any(|option| option == "ENABLE_QPSG"),
            "{options:?}"
        );
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/guichet.sqlite", dir.path().display());
        let prepared = prepare_sqlite_url(&url).unwrap();
        assert!(
            prepared.ends_with("/sub/guichet.sqlite?mode=rwc"),
            "{prepared}"
        );
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite://data/x.sqlite?mode=ro").unwrap(),
            "sqlite://data/x.sqlite?mode=ro"
        );
        assert_eq!(
            prepare_sqlite_url("postgres://u@h/d").unwrap(),
            "postgres://u@h/d"
        );
    }

    #[test]
    fn nul_is_the_one_character_no_text_may_hold() {
        assert!(!is_storable_text("a\0b"));
        assert!(is_storable_text("Zoé\tà la ligne\n"));
    }

    #[test]
    fn database_errors_are_classified() {
        use sea_orm::ConnAcquireErr;
        assert_eq!(
            classify(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            DbFailure::Unavailable
        );
        let sqlx = |error| DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(error)));
        assert_eq!(
            classify(&sqlx(sea_orm::sqlx::Error::Io(std::io::Error::from(
                std::io::ErrorKind::ConnectionReset
            )))),
            DbFailure::Unavailable
        );
        assert_eq!(
            classify(&sqlx(sea_orm::sqlx::Error::PoolTimedOut)),
            DbFailure::Unavailable
        );
        assert_eq!(
            classify(&sqlx(sea_orm::sqlx::Error::RowNotFound)),
            DbFailure::Internal
        );
        assert_eq!(
            classify(&DbErr::Custom("bug".to_owned())),
            DbFailure::Internal
        );
        // NUL in a text, a value too long, a number or a date out of range.
        for code in ["22021", "22001", "22003", "22008", "22P02"] {
            assert_eq!(classify_postgres(code), DbFailure::RefusedInput, "{code}");
        }
        for code in ["08006", "57P01", "57P03", "53300", "40001", "40P01"] {
            assert_eq!(classify_postgres(code), DbFailure::Unavailable, "{code}");
        }
        for code in ["23505", "42P01", "28P01", ""] {
            assert_eq!(classify_postgres(code), DbFailure::Internal, "{code}");
        }
        // SQLITE_BUSY and SQLITE_BUSY_SNAPSHOT (517), SQLITE_TOOBIG,
        // SQLITE_CONSTRAINT_UNIQUE (2067).
        assert_eq!(classify_sqlite("5"), DbFailure::Unavailable);
        assert_eq!(classify_sqlite("517"), DbFailure::Unavailable);
        assert_eq!(classify_sqlite("18"), DbFailure::RefusedInput);
        assert_eq!(classify_sqlite("2067"), DbFailure::Internal);
    }

    #[test]
    fn an_unreachable_server_is_named_without_its_password() {
        assert_eq!(
            server_of("postgres://app:hunter2@db.example.fr/guichet"),
            "db.example.fr:5432"
        );
        assert_eq!(server_of("postgres://127.0.0.1:6543/x"), "127.0.0.1:6543");
        let error = DbSetupError::Unreachable {
            server: server_of("postgres://app:hunter2@db.example.fr/guichet"),
            reason: plain_reason(
                &DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(
                    sea_orm::sqlx::Error::PoolTimedOut,
                ))),
                Some(Duration::from_secs(2)),
            ),
        }
        .to_string();
        assert!(
            error.starts_with("database unreachable: db.example.fr:5432 does not answer"),
            "{error}"
        );
        assert!(error.contains("no connection within 2 s"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_password("postgres://app:hunter2@db/guichet"),
            "postgres://app:********@db/guichet"
        );
    }
}

/// Whether this instance can serve: its database answers (`/readyz`).
#[derive(Debug, Clone)]
pub struct Readiness {
    db: DatabaseConnection,
}

impl Readiness {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Pings the database, giving up after [`READINESS_TIMEOUT`]: a probe
    /// is answered "not ready" in time rather than left to time out.
    pub async fn check(&self) -> Result<(), DbErr> {
        match tokio::time::timeout(READINESS_TIMEOUT, self.db.ping()).await {
            Ok(answer) => answer,
            Err(_) => Err(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)),
        }
    }
}
