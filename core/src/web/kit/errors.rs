//! Errors of every face: what a person sees when something goes wrong, in
//! French, in their town's theme, without internal details.
//!
//! A handler answers a client error with a constructor by status
//! ([`PageError::not_found`], [`PageError::forbidden`]…) and lets `?` turn a
//! service failure into its status ([`PageError::http_status`]): 503 when
//! the database cannot be reached (the page says when to come back, with
//! `Retry-After`), 400 for a value the database refused, 500 for anything
//! else. Either way the responder hands the status to the face's catcher,
//! which renders the page with that face's layout; catchers are registered
//! per face at its base path ([`catchers`]).

use rocket::catcher::BoxFuture;
use rocket::http::Status;
use rocket::response::{self, Redirect, Responder};
use rocket::{Catcher, Request};
use serde::Serialize;

use super::Themes;
use super::csrf::{FormProblem, form_problem, mark_form_problem};
use super::face::Face;
use super::fairings::RequestId;
use super::render::{Page, TownPage};
use crate::db::{DbFailure, classify};
use crate::tenancy::TenantResolution;
use crate::theme::ThemeError;

/// Failures of a page handler. Internal details go to the log, never to the
/// page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Requests(#[from] crate::requests::RequestError),
    #[error(transparent)]
    Staff(#[from] crate::staff::StaffError),
    /// Anything else that went wrong on the server (a document that
    /// cannot be rendered, a file that cannot be read): 500, logged.
    #[error("{0}")]
    Internal(String),
    /// A client error, shown with the status's own page (or, for a refused
    /// form, with what was wrong with it).
    #[error("{status}")]
    Status {
        status: Status,
        form: Option<FormProblem>,
    },
}

impl From<crate::requests::DeskError> for PageError {
    /// A refusal the handler did not show next to its field is the form's
    /// 422; an unknown request, a 404.
    fn from(error: crate::requests::DeskError) -> Self {
        match error {
            crate::requests::DeskError::NotFound => Self::status(Status::NotFound),
            crate::requests::DeskError::Refused(_) => Self::status(Status::UnprocessableEntity),
            crate::requests::DeskError::Failed(error) => Self::Requests(error),
        }
    }
}

impl From<crate::privacy::PrivacyError> for PageError {
    /// A database that does not answer is the page's 503; anything else
    /// (an archive that cannot be written, a mail that cannot be
    /// composed) a 500, logged.
    fn from(error: crate::privacy::PrivacyError) -> Self {
        use crate::privacy::{ClosureError, PrivacyError};
        match error {
            PrivacyError::Database(error)
            | PrivacyError::Closure(ClosureError::Database(error)) => Self::Database(error),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::privacy::ClosureError> for PageError {
    fn from(error: crate::privacy::ClosureError) -> Self {
        crate::privacy::PrivacyError::from(error).into()
    }
}

impl From<crate::feedback::FeedbackError> for PageError {
    fn from(error: crate::feedback::FeedbackError) -> Self {
        use crate::feedback::FeedbackError;
        match error {
            FeedbackError::NotFound => Self::status(Status::NotFound),
            FeedbackError::Refused(_) => Self::status(Status::UnprocessableEntity),
            FeedbackError::Database(error) => Self::Database(error),
            FeedbackError::Mail(error) => {
                Self::Requests(crate::requests::RequestError::Mail(error))
            }
        }
    }
}

impl PageError {
    /// Any status, shown with its page.
    pub fn status(status: Status) -> Self {
        Self::Status { status, form: None }
    }

    /// 400: the request cannot be understood.
    pub fn bad_request() -> Self {
        Self::status(Status::BadRequest)
    }

    /// 403: not for this person.
    pub fn forbidden() -> Self {
        Self::status(Status::Forbidden)
    }

    /// 404: no such page (or not this person's: same answer, no enumeration).
    pub fn not_found() -> Self {
        Self::status(Status::NotFound)
    }

    /// 500: something failed on the server (logged, never shown).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    /// 409: the thing changed meanwhile.
    pub fn conflict() -> Self {
        Self::status(Status::Conflict)
    }

    /// 503: a service this page needs does not answer.
    pub fn unavailable() -> Self {
        Self::status(Status::ServiceUnavailable)
    }

    /// A form refused for its CSRF token (or, with 400, for a character no
    /// text may hold), with nothing to show again: the page says
    /// [`super::STALE_FORM`] (or [`super::csrf::INVALID_TEXT`]).
    pub fn stale_form(status: Status) -> Self {
        Self::Status {
            status,
            // 400 is the kit's refusal of a forbidden character (see
            // `FormProblem::of`), which the page names as such.
            form: Some(FormProblem::of(status)),
        }
    }

    /// 400: a form field held a character no text may hold, with nothing
    /// to show again: the page says [`super::csrf::INVALID_TEXT`].
    pub fn invalid_text() -> Self {
        Self::Status {
            status: Status::BadRequest,
            form: Some(FormProblem::InvalidText),
        }
    }

    /// The status this failure is answered with: a client error's own; for
    /// a database error, 503 only when the database cannot be reached, 400
    /// when it refused a value it was given, else 500.
    pub fn http_status(&self) -> Status {
        use crate::accounts::AccountError;
        use crate::mail::MailError;
        match self {
            Self::Status { status, .. } => *status,
            Self::Database(error)
            | Self::Accounts(
                AccountError::Database(error) | AccountError::Mail(MailError::Database(error)),
            )
            | Self::Requests(crate::requests::RequestError::Database(error))
            | Self::Staff(
                crate::staff::StaffError::Database(error)
                | crate::staff::StaffError::Mail(MailError::Database(error)),
            ) => match classify(error) {
                DbFailure::Unavailable => Status::ServiceUnavailable,
                DbFailure::RefusedInput => Status::BadRequest,
                DbFailure::Internal => Status::InternalServerError,
            },
            // Too many password checks waiting: the server is busy.
            Self::Accounts(AccountError::Hashing(crate::accounts::HashingError::Busy))
            | Self::Staff(crate::staff::StaffError::Hashing(crate::accounts::HashingError::Busy)) => {
                Status::ServiceUnavailable
            }
            _ => Status::InternalServerError,
        }
    }
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let status = self.http_status();
        match &self {
            Self::Status { form, .. } => {
                if let Some(problem) = form {
                    mark_form_problem(request, *problem);
                }
            }
            // An outage, or a value the database refused (a check missing
            // before it): a warning per request, not an error.
            error if status == Status::ServiceUnavailable || status == Status::BadRequest => {
                let request_id = request.local_cache(RequestId::default);
                tracing::warn!(request_id = %request_id.0, %error, %status, "page refused");
            }
            error => {
                let request_id = request.local_cache(RequestId::default);
                tracing::error!(request_id = %request_id.0, %error, "page failed");
            }
        }
        // The face's catcher renders the page (see the module's doc).
        Err(status)
    }
}

/// Where a refused guard sends the browser; read by the 401 catcher.
#[derive(Debug, Clone, Default)]
struct GateRedirect(Option<String>);

fn redirect_slot<'r>(request: &'r Request<'_>) -> &'r std::sync::Mutex<GateRedirect> {
    request.local_cache(|| std::sync::Mutex::new(GateRedirect::default()))
}

/// Records where a guard that is about to fail with 401 sends the browser.
pub fn redirect_on_refusal(request: &Request<'_>, target: String) {
    if let Ok(mut slot) = redirect_slot(request).lock() {
        slot.0 = Some(target);
    }
}

fn gate_redirect(request: &Request<'_>) -> Option<String> {
    redirect_slot(request)
        .lock()
        .ok()
        .and_then(|slot| slot.0.clone())
}

/// The catchers of face `F`, to register at its base path: 401 goes where
/// the guard said (else `F::LOGIN_PATH`); every other status gets its page
/// in the town's theme with `F`'s layout.
pub fn catchers<F: Face>() -> Vec<Catcher> {
    vec![
        Catcher::new(401, unauthorized::<F>),
        Catcher::new(404, not_found::<F>),
        Catcher::new(None, any_status::<F>),
    ]
}

fn unauthorized<'r, F: Face>(_: Status, request: &'r Request<'_>) -> BoxFuture<'r> {
    let target = gate_redirect(request).unwrap_or_else(|| F::LOGIN_PATH.to_owned());
    Box::pin(async move { Redirect::to(target).respond_to(request) })
}

fn not_found<'r, F: Face>(_: Status, request: &'r Request<'_>) -> BoxFuture<'r> {
    Box::pin(async move {
        let page = match TenantResolution::of(request).await {
            TenantResolution::Found(_) => error_page::<F>(request, Status::NotFound),
            TenantResolution::UnknownHost => unknown_host_page(request),
            TenantResolution::Unavailable => error_page::<F>(request, Status::ServiceUnavailable),
        };
        page.respond_to(request)
    })
}

fn any_status<'r, F: Face>(status: Status, request: &'r Request<'_>) -> BoxFuture<'r> {
    Box::pin(async move { error_page::<F>(request, status).respond_to(request) })
}

#[derive(Serialize)]
struct ErrorView {
    code: u16,
    heading: &'static str,
    explanation: &'static str,
}

fn describe(status: Status) -> (&'static str, &'static str) {
    match status.code {
        400 | 422 => (
            "Demande incorrecte",
            "La demande envoyée n'a pas pu être comprise. Revenez à la page précédente et réessayez.",
        ),
        403 => ("Accès refusé", "Vous n'avez pas accès à cette page."),
        404 => (
            "Page introuvable",
            "La page demandée n'existe pas ou n'existe plus. Vérifiez l'adresse ou revenez à l'accueil.",
        ),
        405 => (
            "Action impossible",
            "Cette action n'est pas possible sur cette page.",
        ),
        409 => (
            "Action impossible",
            "Ce que vous vouliez modifier a changé entre-temps. Rechargez la page et réessayez.",
        ),
        413 => (
            "Envoi trop volumineux",
            "Les données envoyées dépassent la taille autorisée.",
        ),
        429 => (
            "Trop de tentatives",
            "Vous avez fait trop de tentatives. Patientez quelques minutes avant de réessayer.",
        ),
        503 => (
            "Service momentanément indisponible",
            "Le service est momentanément indisponible. Réessayez dans quelques minutes.",
        ),
        _ => (
            "Une erreur est survenue",
            "Une erreur inattendue est survenue. Réessayez dans quelques minutes ; si le problème persiste, contactez votre mairie.",
        ),
    }
}

/// The error page in the town's theme, or the neutral one when the request
/// has no town (or the themes cannot render).
fn error_page<F: Face>(request: &Request<'_>, status: Status) -> Page {
    let (heading, explanation) = match form_problem(request) {
        Some(problem) => (problem.heading(), problem.message()),
        None => describe(status),
    };
    let view = ErrorView {
        code: status.code,
        heading,
        explanation,
    };
    if let (Some(tenant), Some(Themes(themes))) = (
        TenantResolution::cached(request),
        request.rocket().state::<Themes>(),
    ) {
        let theme = themes.get(&tenant.theme);
        let page = TownPage::<F>::new(tenant, theme, request.uri().path().as_str());
        match page.render(status, F::ERROR_TEMPLATE, heading, view) {
            Ok(page) => return page,
            Err(error) => tracing::error!(%error, "the error page itself failed to render"),
        }
        return plain_page(status, heading, explanation);
    }
    neutral_page(request, status, heading, explanation)
}

/// For hosts that belong to no town: says so, and names no town.
fn unknown_host_page(request: &Request<'_>) -> Page {
    neutral_page(
        request,
        Status::NotFound,
        "Adresse inconnue",
        "Cette adresse ne correspond à aucun espace citoyens. Vérifiez l'adresse saisie, \
         ou utilisez le lien donné par votre mairie.",
    )
}

fn neutral_page(
    request: &Request<'_>,
    status: Status,
    heading: &'static str,
    explanation: &'static str,
) -> Page {
    let view = ErrorView {
        code: status.code,
        heading,
        explanation,
    };
    if let Some(Themes(themes)) = request.rocket().state::<Themes>() {
        match themes.default_theme().render("errors/neutral", &view) {
            Ok(html) => return Page { status, html },
            Err(error) => tracing::error!(%error, "the neutral error page failed to render"),
        }
    }
    plain_page(status, heading, explanation)
}

/// Last resort: a page that needs no template.
fn plain_page(status: Status, heading: &str, explanation: &str) -> Page {
    Page {
        status,
        html: format!(
            "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
             <title>{heading}</title></head><body><main><h1>{heading}</h1>\
             <p>{explanation}</p></main></body></html>"
        ),
    }
}
