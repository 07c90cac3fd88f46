//! The local OpenID provider of the demo: `tests/oidc/provider.mjs` (npm
//! oidc-provider in FranceConnect v2's shape), run with Node.js on a free
//! port of the loopback interface, stopped with the demo.
//!
//! Off the request path: errors are `anyhow`-free but plain messages, since
//! the demo only prints them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Where the provider lives, from the repository's root.
pub const SCRIPT: &str = "tests/oidc/provider.mjs";

/// A client the provider must know: one per town using it.
#[derive(Debug, Clone, Serialize)]
pub struct LocalClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

/// A running provider, stopped when dropped.
#[derive(Debug)]
pub struct LocalProvider {
    pub issuer: String,
    _process: Child,
}

/// Why the provider could not start, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LocalProviderError {
    #[error("{} is missing: run `guichet demo` from the repository to try FranceConnect", .0.display())]
    ScriptMissing(PathBuf),
    #[error("its npm packages are missing: run `npm ci --prefix tests/oidc` (Node.js 20 or later)")]
    PackagesMissing,
    #[error(
        "Node.js cannot be run ({0}): install Node.js 20 or later, then `npm ci --prefix tests/oidc`"
    )]
    NodeMissing(String),
    #[error("the provider did not start: {0}")]
    Failed(String),
}

impl LocalProvider {
    /// Starts `script` for these clients and waits until it listens.
    pub async fn start(script: &Path, clients: &[LocalClient]) -> Result<Self, LocalProviderError> {
        if !script.is_file() {
            return Err(LocalProviderError::ScriptMissing(script.to_owned()));
        }
        let folder = script.parent().unwrap_or(Path::new("."));
        if !folder.join("node_modules/oidc-provider").is_dir() {
            return Err(LocalProviderError::PackagesMissing);
        }
        let clients = serde_json::to_string(clients)
            .map_err(|error| LocalProviderError::Failed(error.to_string()))?;
        let mut process = Command::new("node")
            .arg(script)
            .env("PORT", "0")
            .env("CLIENTS", clients)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| LocalProviderError::NodeMissing(error.to_string()))?;
        if let Some(stderr) = process.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    // Its warnings about development settings are the point
                    // of a local provider.
                    if !line.starts_with("oidc-provider WARNING") {
                        tracing::warn!(target: "franceconnect::local_provider", "{line}");
                    }
                }
            });
        }
        let stdout = process
            .stdout
            .take()
            .ok_or_else(|| LocalProviderError::Failed("no standard output".to_owned()))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(issuer) = line.strip_prefix("ready ") {
                    return Some(issuer.trim().to_owned());
                }
            }
            None
        })
        .await;
        match ready {
            Ok(Some(issuer)) => {
                // Its notices keep coming: drain them so its writes never fail.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok(Self {
                    issuer,
                    _process: process,
                })
            }
            Ok(None) => {
                let status = process.wait().await.ok();
                Err(LocalProviderError::Failed(format!(
                    "node stopped ({})",
                    status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string())
                )))
            }
            Err(_) => Err(LocalProviderError::Failed(
                "not ready after 20 seconds".to_owned(),
            )),
        }
    }
}
