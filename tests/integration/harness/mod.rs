//! The test harness: a fresh database per test (a SQLite file in a temporary
//! folder, or a PostgreSQL database created for the test and dropped after),
//! the application on port 0, and an HTTP client that talks to it with any
//! `Host` header.

mod app;
mod database;
mod oidc;
pub mod openapi;
mod payfip;
mod proxy;
mod smtp;
mod visitor;

pub use app::{NEW_PASSWORD, OpenApp, STAFF_PASSWORD, Smtp, TestApp, TestAppOptions, TestResponse};
pub use database::{Backend, TestDatabase, postgres_admin_url};
pub use oidc::{OidcProvider, path_of};
pub use payfip::{PayFiPServer, VILLENEUVE_NUMCLI};
pub use proxy::DbProxy;
pub use smtp::{SmtpSink, free_port};
pub use visitor::{Visitor, csrf_of, field_value};

use std::path::PathBuf;

/// The root of the repository (`tenants/`, `themes/`).
/// Runs the `guichet` binary with `args` in `dir`, with only the given
/// `GUICHET_*` variables (none of the test process's own).
pub fn run_guichet(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("GUICHET_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("the binary runs")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ has a parent")
        .to_owned()
}

/// Writes a test once, runs it on SQLite and on PostgreSQL:
///
/// ```ignore
/// on_both_databases! {
///     async fn tenant_apply_is_idempotent(backend) { … }
/// }
/// ```
/// gives the tests `tenant_apply_is_idempotent::sqlite` and `…::postgres`.
macro_rules! on_both_databases {
    ($(async fn $name:ident($backend:ident) $body:block)+) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($backend: $crate::harness::Backend) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::harness::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::harness::Backend::Postgres).await
                }
            }
        )+
    };
}
