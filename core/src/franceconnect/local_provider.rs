//! The local OpenID provider of the demo: `tests/oidc/provider.mjs` (npm
//! oidc-provider in FranceConnect v2's shape), run with Node.js on a free
//! port of the loopback interface, stopped with the demo.
//!
//! The process itself is run by `crate::local_server`.

use std::path::Path;

use serde::Serialize;

use crate::local_server::{LocalServer, LocalServerError};

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
    _server: LocalServer,
}

impl LocalProvider {
    /// Starts `script` for these clients and waits until it listens.
    pub async fn start(script: &Path, clients: &[LocalClient]) -> Result<Self, LocalServerError> {
        let clients = serde_json::to_string(clients)
            .map_err(|error| LocalServerError::Failed(error.to_string()))?;
        // Its warnings about development settings are the point of a
        // local provider.
        let server = LocalServer::start(
            script,
            &[("CLIENTS", clients)],
            Some("oidc-provider"),
            "franceconnect::local_provider",
            |line| line.starts_with("oidc-provider WARNING"),
        )
        .await?;
        Ok(Self {
            issuer: server.url.clone(),
            _server: server,
        })
    }
}
