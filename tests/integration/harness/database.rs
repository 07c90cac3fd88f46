//! A fresh, empty database for one test.

use rand::RngExt as _;
use sea_orm::{ConnectionTrait as _, Database};
use tempfile::TempDir;

/// Where the test's PostgreSQL databases are created; the CI machine and
/// every development machine run PostgreSQL here.
const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where the tests' PostgreSQL answers (`TEST_POSTGRES_URL`, else the
/// default), as a URL of its admin database.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for the life of this value.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    /// The SQLite file's folder, deleted on drop.
    _folder: Option<TempDir>,
    /// The PostgreSQL database to drop, and the URL to drop it from.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}/guichet.sqlite", folder.path().display());
                Self {
                    url,
                    _folder: Some(folder),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("guichet_test_{:016x}", rand::rng().random::<u64>());
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|error| {
                    panic!("PostgreSQL must run at {admin_url} (set TEST_POSTGRES_URL): {error}")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    _folder: None,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on:
        // a thread with its own small runtime does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            });
        });
        let _ = cleanup.join();
    }
}
