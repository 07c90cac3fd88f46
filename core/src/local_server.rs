//! The demo's local servers in the shape of the real services Guichet
//! speaks to (an OpenID provider in FranceConnect's shape, a payment
//! server in PayFiP's): Node.js scripts of `tests/`, started on a free port
//! of the loopback interface, which print `ready <url>` once they listen;
//! stopped when dropped, with the demo.
//!
//! Off the request path: errors are plain messages the demo prints.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// A running script, stopped when dropped.
#[derive(Debug)]
pub struct LocalServer {
    /// What it printed after `ready `.
    pub url: String,
    _process: Child,
}

/// Why a script could not start, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    #[error("{} is missing: run `guichet demo` from the repository", .0.display())]
    ScriptMissing(PathBuf),
    #[error("its npm packages are missing: run `npm ci --prefix {0}` (Node.js 20 or later)")]
    PackagesMissing(String),
    #[error("Node.js cannot be run ({0}): install Node.js 20 or later")]
    NodeMissing(String),
    #[error("it did not start: {0}")]
    Failed(String),
}

impl LocalServer {
    /// Runs `script` with `env` (and `PORT=0`), and waits until it is
    /// ready. `package`: an npm package its folder must have installed.
    /// Its standard error goes to the log under `target`, but for lines
    /// `quiet` says are expected.
    pub async fn start(
        script: &Path,
        env: &[(&str, String)],
        package: Option<&str>,
        log_as: &'static str,
        quiet: fn(&str) -> bool,
    ) -> Result<Self, LocalServerError> {
        if !script.is_file() {
            return Err(LocalServerError::ScriptMissing(script.to_owned()));
        }
        let folder = script.parent().unwrap_or(Path::new("."));
        if let Some(package) = package
            && !folder.join("node_modules").join(package).is_dir()
        {
            return Err(LocalServerError::PackagesMissing(
                folder.display().to_string(),
            ));
        }
        let mut command = Command::new("node");
        command
            .arg(script)
            .env("PORT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let mut process = command
            .spawn()
            .map_err(|error| LocalServerError::NodeMissing(error.to_string()))?;
        if let Some(stderr) = process.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if !quiet(&line) {
                        tracing::warn!(server = log_as, "{line}");
                    }
                }
            });
        }
        let stdout = process
            .stdout
            .take()
            .ok_or_else(|| LocalServerError::Failed("no standard output".to_owned()))?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("ready ") {
                    return Some(url.trim().to_owned());
                }
            }
            None
        })
        .await;
        match ready {
            Ok(Some(url)) => {
                // Its notices keep coming: drain them so its writes never fail.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok(Self {
                    url,
                    _process: process,
                })
            }
            Ok(None) => {
                let status = process.wait().await.ok();
                Err(LocalServerError::Failed(format!(
                    "node stopped ({})",
                    status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string())
                )))
            }
            Err(_) => Err(LocalServerError::Failed(
                "not ready after 20 seconds".to_owned(),
            )),
        }
    }
}
