//! The OpenID Connect client side of FranceConnect v2: discovery, the
//! authorization URL, the code exchange (client_secret_post), and the
//! verification of the id_token and of the userinfo JWT against the
//! provider's JWKS (ES256 or RS256; `iss`, `aud`, `exp`, `nonce`, `acr`).
//!
//! Error policy: every failure is a [`FranceConnectError`] for the logs; the
//! resident sees one French page and nothing is logged in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The acr FranceConnect v2 asks for and must answer.
pub const ACR: &str = "eidas1";
/// Discovery documents and key sets are kept this long.
const CACHE_FOR: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum FranceConnectError {
    #[error("the provider answered an error: {error} ({description})")]
    Provider { error: String, description: String },
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the provider's answer is not what OpenID Connect says: {0}")]
    Protocol(String),
    #[error("a token does not verify: {0}")]
    BadToken(String),
    #[error("the client secret is missing: set the environment variable {0}")]
    MissingSecret(String),
    #[error("FranceConnect is not enabled for this town")]
    Disabled,
}

/// What discovery gives.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// The identity FranceConnect vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Identity {
    pub sub: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub birthdate: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: String,
    access_token: String,
}

#[derive(Debug, Deserialize)]
struct IdTokenClaims {
    sub: String,
    nonce: Option<String>,
    acr: Option<String>,
}

#[derive(Debug, Clone)]
struct Cached<T> {
    value: T,
    at: Instant,
}

/// An HTTP client with the providers' metadata and keys cached.
#[derive(Debug, Clone)]
pub struct OidcClient {
    http: reqwest::Client,
    metadata: Arc<Mutex<HashMap<String, Cached<ProviderMetadata>>>>,
    keys: Arc<Mutex<HashMap<String, Cached<JwkSet>>>>,
}

impl OidcClient {
    pub fn new() -> Result<Self, FranceConnectError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        Ok(Self {
            http,
            metadata: Arc::default(),
            keys: Arc::default(),
        })
    }

    fn fresh<T: Clone>(cache: &Mutex<HashMap<String, Cached<T>>>, key: &str) -> Option<T> {
        cache
            .lock()
            .ok()?
            .get(key)
            .filter(|cached| cached.at.elapsed() < CACHE_FOR)
            .map(|cached| cached.value.clone())
    }

    fn remember<T>(cache: &Mutex<HashMap<String, Cached<T>>>, key: &str, value: T) {
        if let Ok(mut cache) = cache.lock() {
            cache.insert(
                key.to_owned(),
                Cached {
                    value,
                    at: Instant::now(),
                },
            );
        }
    }

    /// `<issuer>/.well-known/openid-configuration`, checked to name the
    /// same issuer.
    pub async fn discover(&self, issuer: &str) -> Result<ProviderMetadata, FranceConnectError> {
        if let Some(metadata) = Self::fresh(&self.metadata, issuer) {
            return Ok(metadata);
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let metadata: ProviderMetadata = self.get_json(&url).await?;
        if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(FranceConnectError::Protocol(format!(
                "discovery names the issuer {} instead of {issuer}",
                metadata.issuer
            )));
        }
        Self::remember(&self.metadata, issuer, metadata.clone());
        Ok(metadata)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, FranceConnectError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(FranceConnectError::Protocol(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let body = response
            .text()
            .await
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        serde_json::from_str(&body)
            .map_err(|error| FranceConnectError::Protocol(format!("{url}: {error}")))
    }

    async fn key_set(
        &self,
        metadata: &ProviderMetadata,
        refresh: bool,
    ) -> Result<JwkSet, FranceConnectError> {
        if !refresh && let Some(keys) = Self::fresh(&self.keys, &metadata.jwks_uri) {
            return Ok(keys);
        }
        let keys: JwkSet = self.get_json(&metadata.jwks_uri).await?;
        Self::remember(&self.keys, &metadata.jwks_uri, keys.clone());
        Ok(keys)
    }

    /// Verifies a JWT signed by the provider (ES256 or RS256, by its `kid`;
    /// the key set is fetched again once when the `kid` is unknown, for key
    /// rotation).
    async fn verify<T: serde::de::DeserializeOwned>(
        &self,
        metadata: &ProviderMetadata,
        token: &str,
        audience: &str,
        required_claims: &[&str],
    ) -> Result<T, FranceConnectError> {
        let bad = |error: String| FranceConnectError::BadToken(error);
        let header = jsonwebtoken::decode_header(token).map_err(|error| bad(error.to_string()))?;
        if !matches!(header.alg, Algorithm::ES256 | Algorithm::RS256) {
            return Err(bad(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let kid = header.kid.clone().unwrap_or_default();
        let mut keys = self.key_set(metadata, false).await?;
        if keys.find(&kid).is_none() {
            keys = self.key_set(metadata, true).await?;
        }
        let jwk = keys
            .find(&kid)
            .ok_or_else(|| bad(format!("no key `{kid}` in the provider's key set")))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|error| bad(error.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[metadata.issuer.as_str()]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(required_claims);
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|error| bad(error.to_string()))
    }

    /// Exchanges the code, verifies the id_token (and its nonce and acr),
    /// then fetches and verifies the userinfo JWT, whose `sub` must be the
    /// id_token's. Answers the identity and the raw id_token (for logout).
    pub async fn finish(
        &self,
        metadata: &ProviderMetadata,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        code: &str,
        nonce: &str,
    ) -> Result<(Identity, String), FranceConnectError> {
        let response = self
            .http
            .post(&metadata.token_endpoint)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", client_id),
                ("client_secret", client_secret),
            ])
            .send()
            .await
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        if !status.is_success() {
            let error: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            return Err(FranceConnectError::Provider {
                error: error["error"].as_str().unwrap_or("token_error").to_owned(),
                description: error["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        let tokens: TokenResponse = serde_json::from_str(&body)
            .map_err(|error| FranceConnectError::Protocol(format!("token response: {error}")))?;
        let claims: IdTokenClaims = self
            .verify(
                metadata,
                &tokens.id_token,
                client_id,
                &["exp", "iss", "aud", "sub"],
            )
            .await?;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(FranceConnectError::BadToken(
                "the nonce is not this flow's".to_owned(),
            ));
        }
        if claims.acr.as_deref() != Some(ACR) {
            return Err(FranceConnectError::BadToken(format!(
                "acr is {:?}, not {ACR}",
                claims.acr
            )));
        }
        let userinfo = self
            .http
            .get(&metadata.userinfo_endpoint)
            .bearer_auth(&tokens.access_token)
            .send()
            .await
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        if !userinfo.status().is_success() {
            return Err(FranceConnectError::Protocol(format!(
                "userinfo answered {}",
                userinfo.status()
            )));
        }
        let jwt = userinfo
            .text()
            .await
            .map_err(|error| FranceConnectError::Unreachable(error.to_string()))?;
        // A signed userinfo need not expire (FranceConnect's carries no exp):
        // it is fetched just now, over TLS, with the fresh access token.
        let identity: Identity = self
            .verify(metadata, jwt.trim(), client_id, &["iss", "aud", "sub"])
            .await?;
        if identity.sub != claims.sub {
            return Err(FranceConnectError::BadToken(
                "userinfo is about someone else".to_owned(),
            ));
        }
        Ok((identity, tokens.id_token))
    }
}
