//! Error pages: what a resident sees when something goes wrong, in French,
//! in their town's theme, without internal details.

use rocket::http::Status;
use rocket::response::{self, Redirect, Responder};
use rocket::{Catcher, Request, catch, catchers};
use serde::Serialize;

use super::Themes;
use super::fairings::RequestId;
use super::render::{Page, TownPage};
use super::session::gate_redirect;
use crate::tenancy::TenantResolution;
use crate::theme::ThemeError;

/// Failures of a page handler. The detail goes to the log, not to the page.
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
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let request_id = request.local_cache(RequestId::default);
        tracing::error!(request_id = %request_id.0, error = %self, "page failed");
        error_page(request, Status::InternalServerError).respond_to(request)
    }
}

pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, not_found, unavailable, any_status]
}

/// A resident guard refused the request: go where it said (the login page,
/// or the password change), else to the login page.
#[catch(401)]
fn unauthorized(request: &Request<'_>) -> Redirect {
    Redirect::to(gate_redirect(request).unwrap_or_else(|| "/connexion".to_owned()))
}

#[catch(404)]
async fn not_found(request: &Request<'_>) -> Page {
    match TenantResolution::of(request).await {
        TenantResolution::Found(_) => error_page(request, Status::NotFound),
        TenantResolution::UnknownHost => unknown_host_page(request),
        TenantResolution::Unavailable => error_page(request, Status::ServiceUnavailable),
    }
}

#[catch(503)]
fn unavailable(request: &Request<'_>) -> Page {
    error_page(request, Status::ServiceUnavailable)
}

#[catch(default)]
fn any_status(status: Status, request: &Request<'_>) -> Page {
    error_page(request, status)
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
fn error_page(request: &Request<'_>, status: Status) -> Page {
    let (heading, explanation) = describe(status);
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
        let page = TownPage::new(tenant, theme, request.uri().path().as_str());
        match page.render(status, "errors/error", heading, view) {
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
