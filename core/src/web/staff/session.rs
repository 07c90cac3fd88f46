//! Request guards of the staff face: the staff session cookie, checked in
//! the request's town, and the role a page needs.
//!
//! - [`AnyStaffSession`]: any live staff session, even one whose second
//!   factor is still to come — for the code step and logout only.
//! - [`Staff<P>`]: a member logged in with both factors whose role has
//!   permission `P`. No session: to `/admin/connexion?suite=<page>`; a
//!   session at the code step: to `/admin/connexion/code?suite=<page>`; a
//!   role below `P`: 403, the error page in the admin layout. A suspended
//!   member has no session (suspension closes them; lookup checks again).

use std::marker::PhantomData;
use std::sync::Arc;

use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome, Request};

use crate::audit::Actor;
use crate::staff::entity::{staff_member, staff_session};
use crate::staff::{Permission, StaffService, StaffSession};
use crate::tenancy::{CurrentTenant, Tenant};
use crate::web::kit::WebSettings;
use crate::web::kit::errors::redirect_on_refusal;

pub const SESSION_COOKIE: &str = "guichet_staff";

/// The request's staff session, resolved once per request; `Err` when it
/// cannot be read (the database does not answer).
async fn current_session(request: &Request<'_>) -> Result<Option<AnyStaffSession>, ()> {
    request
        .local_cache_async(async {
            let tenant = match CurrentTenant::from_request(request).await {
                Outcome::Success(CurrentTenant(tenant)) => tenant,
                _ => return Ok(None),
            };
            let (Some(settings), Some(staff)) = (
                request.rocket().state::<WebSettings>(),
                request.rocket().state::<StaffService>(),
            ) else {
                return Ok(None);
            };
            let Some(token) = request
                .cookies()
                .get(&settings.cookie_name(SESSION_COOKIE))
                .map(|cookie| cookie.value().to_owned())
            else {
                return Ok(None);
            };
            match staff.session(&tenant, &token).await {
                Ok(Some(found)) => Ok(Some(AnyStaffSession { tenant, found })),
                Ok(None) => Ok(None),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the staff session");
                    Err(())
                }
            }
        })
        .await
        .clone()
}

/// Any live staff session of the request's town, verified or not.
#[derive(Debug, Clone)]
pub struct AnyStaffSession {
    pub tenant: Arc<Tenant>,
    pub found: StaffSession,
}

impl AnyStaffSession {
    /// The session, if one is open; refuses (503) only when a session
    /// cookie cannot be read.
    pub async fn of(request: &Request<'_>) -> Result<Option<Self>, Status> {
        current_session(request)
            .await
            .map_err(|()| Status::ServiceUnavailable)
    }
}

/// The path (and query) of the request, to come back to after logging in.
fn here(request: &Request<'_>) -> String {
    request.uri().to_string()
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AnyStaffSession {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        if let Outcome::Error(error) = CurrentTenant::from_request(request).await {
            return Outcome::Error(error);
        }
        match current_session(request).await {
            Ok(Some(session)) => Outcome::Success(session),
            Err(()) => Outcome::Error((Status::ServiceUnavailable, ())),
            Ok(None) => {
                redirect_on_refusal(
                    request,
                    super::with_suite(super::Staffs::LOGIN, &here(request)),
                );
                Outcome::Error((Status::Unauthorized, ()))
            }
        }
    }
}

/// A member of the request's town, logged in with both factors, whose role
/// has permission `P`.
#[derive(Debug, Clone)]
pub struct Staff<P> {
    pub tenant: Arc<Tenant>,
    pub member: staff_member::Model,
    pub session: staff_session::Model,
    permission: PhantomData<P>,
}

impl<P> Staff<P> {
    /// The journal's actor: this member, with name and role.
    pub fn actor(&self) -> Actor {
        crate::staff::actor(&self.member)
    }
}

#[rocket::async_trait]
impl<'r, P: Permission> FromRequest<'r> for Staff<P> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        if let Outcome::Error(error) = CurrentTenant::from_request(request).await {
            return Outcome::Error(error);
        }
        let session = match current_session(request).await {
            Ok(Some(session)) => session,
            Err(()) => return Outcome::Error((Status::ServiceUnavailable, ())),
            Ok(None) => {
                redirect_on_refusal(
                    request,
                    super::with_suite(super::Staffs::LOGIN, &here(request)),
                );
                return Outcome::Error((Status::Unauthorized, ()));
            }
        };
        if !session.found.is_verified() {
            redirect_on_refusal(
                request,
                super::with_suite(super::Staffs::CODE, &here(request)),
            );
            return Outcome::Error((Status::Unauthorized, ()));
        }
        if session.found.member.role < P::LEAST {
            return Outcome::Error((Status::Forbidden, ()));
        }
        Outcome::Success(Staff {
            tenant: session.tenant,
            member: session.found.member,
            session: session.found.session,
            permission: PhantomData,
        })
    }
}

/// Sets the staff session cookie (a new token at each step of the login).
pub fn set_session_cookie(jar: &CookieJar<'_>, settings: &WebSettings, token: String) {
    jar.add(settings.cookie(SESSION_COOKIE, token));
}

pub fn remove_session_cookie(jar: &CookieJar<'_>, settings: &WebSettings) {
    settings.remove_cookie(jar, SESSION_COOKIE);
}
