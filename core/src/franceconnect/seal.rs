//! Short-lived values the browser carries for the FranceConnect flow, in
//! HttpOnly cookies: serialized, then signed with HMAC-SHA-256 under the
//! server's key and a purpose label (a value sealed for one purpose does
//! not open as another; `accounts::secrets::seal`). Each names its town and
//! expires.
//!
//! The flow cookie is SameSite=Lax: the provider sends the browser back
//! with a top-level GET, which carries it.

use base64::Engine as _;
use rand::RngExt as _;
use serde::{Deserialize, Serialize};

use crate::accounts::secrets::{open, seal};

/// How long a resident may take at the provider.
pub const FLOW_MINUTES: i64 = 10;
/// How long an identity waits for its link (a login, or an activation).
pub const PENDING_LINK_MINUTES: i64 = 30;

pub const FLOW_COOKIE: &str = "guichet_fc_flow";
pub const PENDING_COOKIE: &str = "guichet_fc_pending";
pub const LOGOUT_COOKIE: &str = "guichet_fc_logout";

/// 256 random bits, base64url: 43 characters (FranceConnect asks for 32 at
/// least).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn expiry(minutes: i64) -> i64 {
    chrono::Utc::now().timestamp() + minutes * 60
}

/// Why the resident went to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowIntent {
    /// Log in (or link on the way, if the identity is new).
    Login,
    /// A logged-in resident links their identity to their account.
    Link,
}

/// What the browser carries between the redirect and the callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCookie {
    pub town: String,
    pub state: String,
    pub nonce: String,
    pub intent: FlowIntent,
    /// Where to go once logged in (already checked by `safe_next`).
    pub next: Option<String>,
    pub expires_at: i64,
}

impl FlowCookie {
    pub fn new(town: &str, intent: FlowIntent, next: Option<String>) -> Self {
        Self {
            town: town.to_owned(),
            state: random_token(),
            nonce: random_token(),
            intent,
            next,
            expires_at: expiry(FLOW_MINUTES),
        }
    }

    pub fn seal(&self, key: &[u8]) -> Option<String> {
        seal(self, key, FLOW_COOKIE)
    }

    /// The cookie's flow, if this server sealed it, for this town, and it
    /// has not expired.
    pub fn open(sealed: &str, key: &[u8], town: &str) -> Option<Self> {
        let flow: Self = open(sealed, key, FLOW_COOKIE)?;
        (flow.town == town && flow.expires_at > chrono::Utc::now().timestamp()).then_some(flow)
    }
}

/// An identity FranceConnect vouched for, waiting for the resident to say
/// which account of the town is theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub town: String,
    pub issuer: String,
    pub sub: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub id_token: String,
    pub next: Option<String>,
    pub expires_at: i64,
}

impl PendingLink {
    pub fn new(town: &str, verified: &super::VerifiedIdentity, next: Option<String>) -> Self {
        Self {
            town: town.to_owned(),
            issuer: verified.issuer.clone(),
            sub: verified.identity.sub.clone(),
            given_name: verified.identity.given_name.clone(),
            family_name: verified.identity.family_name.clone(),
            email: verified.identity.email.clone(),
            id_token: verified.id_token.clone(),
            next,
            expires_at: expiry(PENDING_LINK_MINUTES),
        }
    }

    pub fn seal(&self, key: &[u8]) -> Option<String> {
        seal(self, key, PENDING_COOKIE)
    }

    pub fn open(sealed: &str, key: &[u8], town: &str) -> Option<Self> {
        let pending: Self = open(sealed, key, PENDING_COOKIE)?;
        (pending.town == town && pending.expires_at > chrono::Utc::now().timestamp())
            .then_some(pending)
    }

    /// "Marie DUPONT", as far as the provider told.
    pub fn display_name(&self) -> String {
        let given = self.given_name.as_deref().unwrap_or_default();
        let family = self
            .family_name
            .as_deref()
            .unwrap_or_default()
            .to_uppercase();
        format!("{given} {family}").trim().to_owned()
    }
}

/// The `state` of a logout through the provider, checked when it sends the
/// browser back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutCookie {
    pub town: String,
    pub state: String,
    pub expires_at: i64,
}

impl LogoutCookie {
    pub fn new(town: &str) -> Self {
        Self {
            town: town.to_owned(),
            state: random_token(),
            expires_at: expiry(FLOW_MINUTES),
        }
    }

    pub fn seal(&self, key: &[u8]) -> Option<String> {
        seal(self, key, LOGOUT_COOKIE)
    }

    pub fn open(sealed: &str, key: &[u8], town: &str) -> Option<Self> {
        let logout: Self = open(sealed, key, LOGOUT_COOKIE)?;
        (logout.town == town && logout.expires_at > chrono::Utc::now().timestamp())
            .then_some(logout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key of the server, 32 bytes ok";

    #[test]
    fn a_flow_opens_only_here_for_its_town_and_in_time() {
        let flow = FlowCookie::new("villeneuve", FlowIntent::Login, Some("/famille".to_owned()));
        assert!(flow.state.len() >= 32 && flow.nonce.len() >= 32);
        assert_ne!(flow.state, flow.nonce);
        let sealed = flow.seal(KEY).expect("sealed");
        assert_eq!(
            FlowCookie::open(&sealed, KEY, "villeneuve"),
            Some(flow.clone())
        );
        assert_eq!(FlowCookie::open(&sealed, KEY, "saint-martin"), None);
        assert_eq!(
            FlowCookie::open(&sealed, b"another key", "villeneuve"),
            None
        );

        let (payload, tag) = sealed.split_once('.').expect("two parts");
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut forged: FlowCookie =
            serde_json::from_slice(&engine.decode(payload).expect("base64")).expect("json");
        forged.state = "chosen-by-an-attacker".to_owned();
        let forged = format!(
            "{}.{tag}",
            engine.encode(serde_json::to_vec(&forged).expect("json"))
        );
        assert_eq!(FlowCookie::open(&forged, KEY, "villeneuve"), None);

        let expired = FlowCookie {
            expires_at: chrono::Utc::now().timestamp() - 1,
            ..flow
        };
        let sealed = expired.seal(KEY).expect("sealed");
        assert_eq!(FlowCookie::open(&sealed, KEY, "villeneuve"), None);
    }

    #[test]
    fn a_value_sealed_for_one_purpose_does_not_open_as_another() {
        let logout = LogoutCookie::new("villeneuve");
        let sealed = logout.seal(KEY).expect("sealed");
        assert!(LogoutCookie::open(&sealed, KEY, "villeneuve").is_some());
        // Same fields would not even parse, but the purpose already refuses it.
        assert!(open::<LogoutCookie>(&sealed, KEY, FLOW_COOKIE).is_none());
    }
}
