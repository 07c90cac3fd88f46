//! CSRF protection: every form carries a token that only this site can make
//! for this browser.
//!
//! The token is an HMAC, under the secret key, of the town and of a value
//! the browser holds in an HttpOnly cookie — the session token once logged
//! in, a random "pre-session" value before. Another site can make the
//! browser send the cookie, but cannot read it, so it cannot compute the
//! token; the form of one town is worthless on another.

use hmac::{Hmac, KeyInit as _, Mac as _};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::session::{SESSION_COOKIE, WebSettings};
use crate::accounts::secrets::new_token;
use crate::tenancy::CurrentTenant;

const PRESESSION_COOKIE: &str = "guichet_csrf";

/// The CSRF token of this request's forms, and its check.
#[derive(Debug, Clone)]
pub struct Csrf {
    token: String,
}

impl Csrf {
    /// The value of the hidden `csrf` field.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// True when `submitted` is this browser's token for this town.
    pub fn verify(&self, submitted: &str) -> bool {
        !submitted.is_empty() && bool::from(self.token.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

fn compute(key: &[u8], tenant_id: i32, binding: &str) -> String {
    // HMAC accepts keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("csrf:{tenant_id}:{binding}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Csrf {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let tenant = match CurrentTenant::from_request(request).await {
            Outcome::Success(tenant) => tenant,
            Outcome::Error(error) => return Outcome::Error(error),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        let Some(settings) = request.rocket().state::<WebSettings>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let jar = request.cookies();
        let binding = if let Some(session) = jar.get(&settings.cookie_name(SESSION_COOKIE)) {
            session.value().to_owned()
        } else if let Some(presession) = jar.get_pending(&settings.cookie_name(PRESESSION_COOKIE)) {
            presession.value().to_owned()
        } else {
            let value = new_token();
            jar.add(settings.cookie(PRESESSION_COOKIE, value.clone()));
            value
        };
        Outcome::Success(Csrf {
            token: compute(&settings.secret_key, tenant.id().get(), &binding),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_key_town_and_binding() {
        let token = compute(b"key", 1, "abc");
        assert_eq!(token.len(), 64);
        assert_eq!(token, compute(b"key", 1, "abc"));
        assert_ne!(token, compute(b"other", 1, "abc"));
        assert_ne!(token, compute(b"key", 2, "abc"));
        assert_ne!(token, compute(b"key", 1, "abd"));
        let csrf = Csrf { token };
        assert!(!csrf.verify(""));
        assert!(!csrf.verify("x"));
    }
}
