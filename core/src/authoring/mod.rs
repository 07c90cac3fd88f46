//! What module authors run beside their code: `guichet module new` (a
//! module crate to start from, [`scaffold`]), `module check` (the
//! publication checks without publishing, [`check`]), `module preview` (the
//! module on a local page with sample data, [`preview`]), and `module
//! keygen` / `module sign` (a publisher's key and a release's signature,
//! [`signing`]).
//!
//! Above the features like `towns/`: it drives the module host, the
//! registry and, for the preview, a whole [`crate::app::App`] on a
//! throw-away database; nothing below imports it.
//!
//! Error policy: these are commands run by a person at a terminal;
//! [`AuthoringError`] says what to do in one sentence, and the CLI prints
//! it. A module's own failure in the preview is not an error: the page
//! shows what limit it hit.

pub mod check;
pub mod preview;
pub mod scaffold;
pub mod signing;

use std::path::PathBuf;

use crate::config::Config;
use crate::modules::{ArtifactCache, ModuleHost, ModuleLimits};

#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    #[error("{}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Startup(#[from] crate::app::StartupError),
    #[error("the module host cannot start: {0}")]
    Host(String),
}

impl AuthoringError {
    pub fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File { path, source }
    }
}

/// A module host with the configuration's limits, no database behind it
/// and its compiled code in a directory removed with the returned guard:
/// for checking a component on a machine that serves no town.
pub async fn standalone_host(
    config: &Config,
) -> Result<(ModuleHost, tempfile::TempDir), AuthoringError> {
    let scratch = tempfile::tempdir().map_err(AuthoringError::file(std::env::temp_dir()))?;
    let mut options = sea_orm::ConnectOptions::new("sqlite::memory:");
    options.sqlx_logging(false);
    let db = sea_orm::Database::connect(options)
        .await
        .map_err(|error| AuthoringError::Host(error.to_string()))?;
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    let cache = ArtifactCache::new(scratch.path().join("modules"), key.to_vec().into())
        .map_err(|error| AuthoringError::Host(error.to_string()))?;
    let host = ModuleHost::new(db, ModuleLimits::from_config(config), cache)
        .map_err(|error| AuthoringError::Host(error.to_string()))?;
    Ok((host, scratch))
}
