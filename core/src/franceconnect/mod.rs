//! FranceConnect v2 login (OpenID Connect, authorization code flow).
//!
//! - [`client`]: discovery, the code exchange (client_secret_post), and the
//!   verification of the id_token and of the userinfo JWT (ES256 or RS256,
//!   by the provider's JWKS).
//! - [`FranceConnect`] (service.rs): a town's settings, its client secret,
//!   the authorization and logout URLs, and the links between a
//!   provider's identity (issuer, `sub`) and an account of the town —
//!   never matched by e-mail.
//! - [`seal`]: what the browser carries between Guichet and the provider
//!   (state, nonce, a pending link), in signed, short-lived cookies bound
//!   to the town.
//! - [`local_provider`]: the local provider `guichet demo` starts
//!   (tests/oidc/provider.mjs, npm oidc-provider in FranceConnect v2's shape).
//!
//! Error policy: every failure of the provider or of its tokens is a
//! [`FranceConnectError`], logged with its detail; the resident sees one
//! French page and nothing is logged in. Database failures stay `DbErr`.

mod callback;
pub mod client;
pub mod entity;
pub mod local_provider;
pub mod personal_data;
pub mod seal;
mod service;
mod settings;

pub use callback::{CallbackAnswer, CallbackError};
pub use client::{ACR, FranceConnectError, Identity, OidcClient, ProviderMetadata};
pub use seal::{FlowCookie, FlowIntent, LogoutCookie, PendingLink};
pub use service::{FranceConnect, LinkOutcome, VerifiedIdentity, insert_link};
pub use settings::{DEFAULT_SCOPES, FranceConnectSettings};
