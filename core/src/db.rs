//! The database connection: SQLite (a file under `./data/` by default) or
//! PostgreSQL, chosen by the URL, with the schema migrated before use.
//!
//! Error policy: connection and migration failures happen at startup or in a
//! CLI command; they are returned as [`DbSetupError`], printed as one sentence
//! and stop the process. Nothing serves requests on a schema that failed to
//! migrate.

use std::path::PathBuf;
use std::time::Duration;

use guichet_migrations::{Migrator, MigratorTrait as _};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the database folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to the database {url}: {source}")]
    Connect { url: String, source: DbErr },
    #[error("the database migration failed: {0}")]
    Migrate(DbErr),
}

/// Opens a pool on `url`, creating the SQLite file (and its folder) if needed.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    let url = prepare_sqlite_url(url)?;
    let mut options = ConnectOptions::new(url.clone());
    options
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // One writer at a time in SQLite: a small pool avoids "database is
        // locked" storms and keeps reads concurrent.
        options.max_connections(8).min_connections(1);
    } else {
        options.max_connections(32).min_connections(1);
    }
    Database::connect(options)
        .await
        .map_err(|source| DbSetupError::Connect {
            url: redact_password(&url),
            source,
        })
}

/// Applies every pending migration; returns how many were applied.
pub async fn migrate(db: &DatabaseConnection) -> Result<usize, DbSetupError> {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .map_err(DbSetupError::Migrate)?
        .len();
    Migrator::up(db, None)
        .await
        .map_err(DbSetupError::Migrate)?;
    Ok(pending)
}

/// Connects and migrates: what every command that touches data does first.
pub async fn open(url: &str) -> Result<DatabaseConnection, DbSetupError> {
    let db = connect(url).await?;
    let applied = migrate(&db).await?;
    if applied > 0 {
        tracing::info!(applied, "database schema migrated");
    }
    Ok(db)
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

    pub async fn check(&self) -> Result<(), DbErr> {
        self.db.ping().await
    }
}
