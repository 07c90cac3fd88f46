//! Request guards for residents: the session cookie, checked against the
//! database in the request's town, and the gates in front of resident pages.

use std::sync::Arc;

use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};

use crate::accounts::entity::{account, session};
use crate::accounts::{Accounts, DEVICE_COOKIE, DEVICE_TRUST_DAYS};
use crate::audit::Origin;
use crate::tenancy::{CurrentTenant, Tenant, database_silent};
use crate::terms::entity::terms_version;
use crate::terms::{Terms, TermsStatus};
use crate::versions::Stamp;
use crate::web::kit::WebSettings;
use crate::web::kit::errors::redirect_on_refusal;

pub const SESSION_COOKIE: &str = "guichet_session";

/// A logged-in resident of the request's town, whatever their password.
#[derive(Debug, Clone)]
pub struct AnyResident {
    pub tenant: Arc<Tenant>,
    pub account: account::Model,
    pub session: session::Model,
    /// The cookie's token, to close this very session at logout.
    pub token: String,
    /// The town's and the resident's version counters, read with the
    /// session in the same statement: what the request may reuse from
    /// memory (versions/mod.rs).
    pub stamp: Arc<Stamp>,
}

/// The request's session, resolved once per request; `Err` when it cannot
/// be read (the database does not answer).
async fn current_session(request: &Request<'_>) -> Result<Option<AnyResident>, ()> {
    request
        .local_cache_async(async {
            let tenant = match CurrentTenant::from_request(request).await {
                Outcome::Success(CurrentTenant(tenant)) => tenant,
                _ => return Ok(None),
            };
            let (Some(settings), Some(accounts)) = (
                request.rocket().state::<WebSettings>(),
                request.rocket().state::<Accounts>(),
            ) else {
                return Ok(None);
            };
            let cookies = request.cookies();
            let Some(token) = cookies
                .get(&settings.cookie_name(SESSION_COOKIE))
                .map(|cookie| cookie.value().to_owned())
            else {
                return Ok(None);
            };
            // The town came from memory after a whole acquire timeout:
            // the session would wait as long again (see database_silent).
            if database_silent(request) {
                return Err(());
            }
            match accounts.session(&tenant, &token).await {
                Ok(Some((session, account, stamp))) => Ok(Some(AnyResident {
                    tenant,
                    account,
                    session,
                    token,
                    stamp: Arc::new(stamp),
                })),
                Ok(None) => Ok(None),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the session");
                    Err(())
                }
            }
        })
        .await
        .clone()
}

/// The path (and query) of the request, for coming back after logging in.
fn here(request: &Request<'_>) -> String {
    request.uri().to_string()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AnyResident {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        if let Outcome::Error(error) = CurrentTenant::from_request(request).await {
            return Outcome::Error(error);
        }
        match current_session(request).await {
            Ok(Some(resident)) => Outcome::Success(resident),
            // Not "logged out": the session is unknown for now (503).
            Err(()) => Outcome::Error((Status::ServiceUnavailable, ())),
            Ok(None) => {
                let back = here(request);
                redirect_on_refusal(request, login_url(&back));
                Outcome::Error((Status::Unauthorized, ()))
            }
        }
    }
}

/// A page to come back to, if it is a path of this site: no `//host`, no
/// scheme, no backslash tricks (an open redirect would lend the town's
/// address to phishing), and only visible ASCII: browsers drop tabs and
/// newlines from URLs (`/\t/evil.example` is `//evil.example` to them), and
/// a `Location` header cannot carry them. Anything else goes home, quietly.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|next| {
        next.starts_with('/')
            && !next.starts_with("//")
            && !next.contains('\\')
            && !next.contains("://")
            && next.chars().all(|c| c.is_ascii_graphic())
    })
    .map(str::to_owned)
}

/// `/connexion?suite=<back>`, or `/connexion` when `back` is the home page.
pub fn login_url(back: &str) -> String {
    if back == "/" {
        "/connexion".to_owned()
    } else {
        let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        format!("/connexion?suite={encoded}")
    }
}

/// A logged-in resident who has chosen their own password and accepted the
/// town's current terms: what every resident page asks for. Otherwise the
/// resident is sent to the password change, then to the terms, and comes
/// back after.
#[derive(Debug, Clone)]
pub struct Resident {
    pub resident: AnyResident,
    /// A minor terms version the resident has not seen yet.
    pub terms_notice: Option<terms_version::Model>,
}

impl std::ops::Deref for Resident {
    type Target = AnyResident;

    fn deref(&self) -> &AnyResident {
        &self.resident
    }
}

/// What stands between a logged-in resident and the resident pages.
#[derive(Debug)]
pub enum Gate {
    /// Go there first.
    Redirect(String),
    /// Come in (with the notice of a minor terms version, if any).
    Pass(Option<terms_version::Model>),
}

/// The password change comes first, then the terms; `here` is where the
/// resident wanted to go.
pub async fn gate(
    terms: &Terms,
    resident: &AnyResident,
    here: &str,
) -> Result<Gate, sea_orm::DbErr> {
    if resident.account.password_is_temporary {
        return Ok(Gate::Redirect("/mot-de-passe/modifier".to_owned()));
    }
    Ok(
        match terms
            .status_at(&resident.tenant, resident.account.id, &resident.stamp)
            .await?
        {
            TermsStatus::MustAccept(_) => Gate::Redirect(terms_url(here)),
            TermsStatus::MinorNotice(version) => Gate::Pass(Some(version)),
            TermsStatus::UpToDate => Gate::Pass(None),
        },
    )
}

/// `/cgu?suite=<back>`, or `/cgu` when `back` is the home page.
pub fn terms_url(back: &str) -> String {
    if back == "/" {
        "/cgu".to_owned()
    } else {
        let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        format!("/cgu?suite={encoded}")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Resident {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let resident = match AnyResident::from_request(request).await {
            Outcome::Success(resident) => resident,
            Outcome::Error(error) => return Outcome::Error(error),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        let Some(terms) = request.rocket().state::<Terms>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        match gate(terms, &resident, &here(request)).await {
            Ok(Gate::Pass(terms_notice)) => Outcome::Success(Resident {
                resident,
                terms_notice,
            }),
            Ok(Gate::Redirect(target)) => {
                redirect_on_refusal(request, target);
                Outcome::Error((Status::Unauthorized, ()))
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the terms status");
                Outcome::Error((Status::ServiceUnavailable, ()))
            }
        }
    }
}

/// The resident if someone is logged in; refuses (503) only when a
/// session cookie cannot be read.
#[derive(Debug, Clone)]
pub struct Visitor(pub Option<AnyResident>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Visitor {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        match current_session(request).await {
            Ok(resident) => Outcome::Success(Visitor(resident)),
            // A session cookie that cannot be read: who this is stays
            // unknown for now (503), rather than shown as logged out.
            Err(()) => Outcome::Error((Status::ServiceUnavailable, ())),
        }
    }
}

/// A new session id at every login: the session the browser had before (or
/// a cookie planted there, for fixation) is closed, worth nothing after it.
pub async fn close_previous_session(
    accounts: &Accounts,
    visitor: &Visitor,
    origin: &Origin,
) -> Result<(), crate::accounts::AccountError> {
    if let Some(previous) = &visitor.0 {
        accounts
            .logout(
                &previous.tenant,
                &previous.token,
                previous.account.id,
                origin,
            )
            .await?;
    }
    Ok(())
}

/// Sets the session cookie after a login.
pub fn set_session_cookie(jar: &CookieJar<'_>, settings: &WebSettings, token: String) {
    jar.add(settings.cookie(SESSION_COOKIE, token));
}

pub fn remove_session_cookie(jar: &CookieJar<'_>, settings: &WebSettings) {
    settings.remove_cookie(jar, SESSION_COOKIE);
}

/// The browser's trusted-device cookie, as it came (the account service
/// opens and checks it).
pub fn device_cookie(jar: &CookieJar<'_>, settings: &WebSettings) -> Option<String> {
    jar.get(&settings.cookie_name(DEVICE_COOKIE))
        .map(|cookie| cookie.value().to_owned())
}

/// Keeps the trusted-device cookie a login (or a password change) gave.
/// It outlives logouts: it opens nothing by itself.
pub fn set_device_cookie(jar: &CookieJar<'_>, settings: &WebSettings, sealed: Option<String>) {
    if let Some(sealed) = sealed {
        jar.add(settings.lasting_cookie(DEVICE_COOKIE, sealed, DEVICE_TRUST_DAYS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_back_is_a_plain_path_of_this_site() {
        assert_eq!(
            safe_next(Some("/famille?x=1")).as_deref(),
            Some("/famille?x=1")
        );
        for evil in [
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\u{3000}/evil.example",
            "/a b",
            "famille",
        ] {
            assert_eq!(safe_next(Some(evil)), None, "{evil:?}");
        }
    }

    #[test]
    fn the_way_back_after_login_is_encoded() {
        assert_eq!(login_url("/"), "/connexion");
        assert_eq!(
            login_url("/famille?x=1"),
            "/connexion?suite=%2Ffamille%3Fx%3D1"
        );
    }
}
