//! The town's terms of use: the acceptance page of the seed (step 6), the
//! notice of minor versions, the resident's history, and every version.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::session::safe_next;
use super::{
    AnyResident, Checked, Csrf, CsrfForm, PageError, Resident, TownPage, resident_page,
    session_name,
};
use crate::audit::Origin;
use crate::terms::entity::terms_version;
use crate::terms::{Terms, TermsStatus};
use crate::web::kit::{Page, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![terms_page, accept, dismiss_notice, history, version_page]
}

const TITLE: &str = "Conditions générales d'utilisation";

#[derive(Debug, Serialize)]
struct VersionView {
    id: i32,
    number: i32,
    major: bool,
    published_on: String,
    html: String,
}

fn version_view(page: &TownPage, version: &terms_version::Model) -> VersionView {
    VersionView {
        id: version.id,
        number: version.number,
        major: version.kind == terms_version::MAJOR,
        published_on: crate::format::date(
            version
                .published_at
                .with_timezone(&page.tenant.timezone)
                .date_naive(),
        ),
        html: version.html.clone(),
    }
}

#[derive(Debug, Serialize)]
struct TermsView {
    csrf: String,
    next: Option<String>,
    version: Option<VersionView>,
    /// The resident must accept this version before going on.
    must_accept: bool,
    error: Option<&'static str>,
}

async fn render_terms(
    page: TownPage,
    terms: &Terms,
    resident: &AnyResident,
    csrf: &Csrf,
    next: Option<String>,
    status: Status,
    error: Option<&'static str>,
) -> Result<Page, PageError> {
    let current = terms.current(&page.tenant).await?;
    let must_accept = matches!(
        terms.status(&page.tenant, resident.account.id).await?,
        TermsStatus::MustAccept(_)
    );
    let view = TermsView {
        csrf: csrf.token().to_owned(),
        next,
        version: current.as_ref().map(|version| version_view(&page, version)),
        must_accept,
        error,
    };
    page.with_session(session_name(resident), csrf.token())
        .render(status, "pages/terms", TITLE, view)
}

/// The CGU page of the seed: read, then accept (or go back, which logs out).
#[get("/cgu?<suite>")]
async fn terms_page(
    page: TownPage,
    resident: AnyResident,
    terms: &State<Terms>,
    csrf: Csrf,
    suite: Option<&str>,
) -> Result<Either<Page, Redirect>, PageError> {
    if resident.account.password_is_temporary {
        return Ok(Either::Right(Redirect::to("/mot-de-passe/modifier")));
    }
    let page = render_terms(
        page,
        terms,
        &resident,
        &csrf,
        safe_next(suite),
        Status::Ok,
        None,
    )
    .await?;
    Ok(Either::Left(page))
}

#[derive(Debug, FromForm)]
struct AcceptForm<'r> {
    version_id: i32,
    next: Option<&'r str>,
}

#[post("/cgu", data = "<form>")]
async fn accept<'r>(
    page: TownPage,
    resident: AnyResident,
    terms: &State<Terms>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'r, AcceptForm<'r>>,
) -> Result<Either<Page, Redirect>, PageError> {
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(refused) if resident.account.password_is_temporary => {
            refused.stale_input()?;
            return Ok(Either::Right(Redirect::to("/mot-de-passe/modifier")));
        }
        Err(refused) => {
            let (form, status) = refused.stale_input()?;
            let next = safe_next(form.next);
            let page = render_terms(
                page,
                terms,
                &resident,
                &csrf,
                next,
                status,
                Some(refusal_message(status)),
            )
            .await?;
            return Ok(Either::Left(page));
        }
    };
    if resident.account.password_is_temporary {
        return Ok(Either::Right(Redirect::to("/mot-de-passe/modifier")));
    }
    let next = safe_next(form.next);
    match terms
        .accept(&page.tenant, resident.account.id, form.version_id, &origin)
        .await?
    {
        Ok(_) => Ok(Either::Right(Redirect::to(
            next.unwrap_or_else(|| "/".to_owned()),
        ))),
        Err(_) => {
            let error = Some(
                "Ces conditions ne sont pas (ou plus) celles en vigueur : lisez la version actuelle ci-dessous, puis acceptez-la.",
            );
            let page =
                render_terms(page, terms, &resident, &csrf, next, Status::Conflict, error).await?;
            Ok(Either::Left(page))
        }
    }
}

#[derive(Debug, FromForm)]
struct DismissForm {
    version_id: i32,
}

/// Closes the notice of a minor version.
#[post("/cgu/notice", data = "<form>")]
async fn dismiss_notice(
    resident: Resident,
    terms: &State<Terms>,
    origin: Origin,
    form: CsrfForm<DismissForm>,
) -> Result<Redirect, PageError> {
    // A notice of a version that is no longer the current one is simply gone.
    let _already_outdated = terms
        .dismiss(
            &resident.tenant,
            resident.account.id,
            form.version_id,
            &origin,
        )
        .await?
        .is_err();
    Ok(Redirect::to("/"))
}

#[derive(Debug, Serialize)]
struct AcceptanceView {
    number: i32,
    major: bool,
    accepted_at: String,
    content_hash: String,
}

#[derive(Debug, Serialize)]
struct HistoryView {
    acceptances: Vec<AcceptanceView>,
    versions: Vec<VersionView>,
}

/// Which versions the resident accepted, and when; every version to read.
#[get("/cgu/historique")]
async fn history(
    page: TownPage,
    resident: Resident,
    terms: &State<Terms>,
    csrf: Csrf,
) -> Result<Page, PageError> {
    let timezone = page.tenant.timezone;
    let acceptances = terms
        .history(&page.tenant, resident.account.id)
        .await?
        .into_iter()
        .map(|(acceptance, version)| AcceptanceView {
            number: version.number,
            major: version.kind == terms_version::MAJOR,
            accepted_at: crate::format::date_time(&acceptance.created_at.with_timezone(&timezone)),
            content_hash: acceptance.content_hash,
        })
        .collect();
    let mut versions: Vec<VersionView> = terms
        .versions(&page.tenant)
        .await?
        .iter()
        .map(|version| version_view(&page, version))
        .collect();
    versions.reverse();
    resident_page(page, &resident, &csrf).ok(
        "pages/terms_history",
        "Mes acceptations des conditions générales",
        HistoryView {
            acceptances,
            versions,
        },
    )
}

/// Any published version, for anyone on the town's site.
#[get("/cgu/versions/<number>")]
async fn version_page(
    page: TownPage,
    terms: &State<Terms>,
    number: i32,
) -> Result<Option<Page>, PageError> {
    let Some(version) = terms.version(&page.tenant, number).await? else {
        return Ok(None);
    };
    let view = version_view(&page, &version);
    let title = format!("Conditions générales d'utilisation, version {number}");
    Ok(Some(page.ok("pages/terms_version", &title, view)?))
}
