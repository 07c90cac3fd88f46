//! "Edition de documents": the documents the town's modules offer (a form
//! for each one's parameters), those already issued (downloaded again),
//! and the public verification of a document by its code
//! (`/documents/verifier/<code>`), open to anyone holding the paper.

use rocket::form::FromForm;
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::Redirect;
use rocket::tokio::io::AsyncReadExt as _;
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{
    Checked, Csrf, CsrfForm, PageError, Resident, TownPage, Visitor, resident_page, visitor_page,
};
use crate::audit::Origin;
use crate::documents::{CopyCheck, Documents, Requester, Verified};
use crate::web::kit::Page;
use crate::web::kit::csrf::input_of;
use crate::web::kit::documents::{
    Answer, IssuedRow, OfferView, PdfDownload, Retry, issue_or_again, issued_rows, offers,
};
use crate::web::kit::module_view::{ModuleFields, ViewFace};

/// The verification's page ranks first: `/documents/verifier/<code>` also
/// has the shape of a download (`/documents/<id>/pdf`). A document is asked
/// for at `/documents/etablir/<module>/<document>`, which no module id can
/// make collide with the verification.
pub fn routes() -> Vec<Route> {
    routes![
        documents,
        issue,
        download,
        verify_form,
        verify_page,
        verify_file,
    ]
}

/// A PDF larger than this is not the town's (its documents weigh tens of
/// KiB): refused before it is read.
const MAX_COPY_BYTES: u64 = 5 * 1024 * 1024;

#[derive(Serialize)]
struct DocumentsView {
    /// The town's own words about its documents (its page `documents`).
    intro_html: Option<String>,
    offers: Vec<OfferView>,
    issued: Vec<IssuedRow>,
    /// The document just issued.
    ready: Option<IssuedRow>,
}

fn intro(page: &TownPage) -> Option<String> {
    crate::content::pages(&page.tenant)
        .iter()
        .find(|written| written.slug == "documents")
        .map(|written| written.html.clone())
}

async fn render(
    page: TownPage,
    resident: &Resident,
    csrf: &Csrf,
    documents: &Documents,
    status: Status,
    retry: Option<&Retry>,
    ready: Option<i32>,
) -> Result<Page, PageError> {
    let offers = offers(
        documents,
        &resident.tenant,
        &resident.account,
        csrf.token(),
        ViewFace::Documents,
        retry,
    )
    .await?;
    let issued = documents
        .issued_for(resident.tenant.scope(), resident.account.id)
        .await?;
    let (issued, ready) = issued_rows(&resident.tenant, issued, ready, |id| {
        format!("/documents/{id}/pdf")
    });
    let view = DocumentsView {
        intro_html: intro(&page),
        offers,
        issued,
        ready,
    };
    resident_page(page, resident, csrf).render(
        status,
        "pages/documents",
        "Edition de documents",
        view,
    )
}

#[get("/documents?<delivre>")]
async fn documents(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    documents: &State<Documents>,
    flash: Option<FlashMessage<'_>>,
    delivre: Option<i32>,
) -> Result<Page, PageError> {
    let page = page.with_flash(flash);
    render(page, &resident, &csrf, documents, Status::Ok, None, delivre).await
}

#[post("/documents/etablir/<module_id>/<document_id>", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn issue(
    module_id: &str,
    document_id: &str,
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    origin: Origin,
    documents: &State<Documents>,
    form: Checked<'_, ModuleFields>,
) -> Result<Either<Page, Redirect>, PageError> {
    let (ModuleFields(typed), stale) = input_of(form)?;
    let answer = issue_or_again(
        documents,
        &resident.tenant,
        &resident.account,
        module_id,
        document_id,
        &typed,
        stale,
        Requester::Resident,
        &origin,
    )
    .await?;
    match answer {
        Answer::Issued(issued) => Ok(Either::Right(Redirect::to(format!(
            "/documents?delivre={}",
            issued.id
        )))),
        Answer::Again(status, retry) => {
            let page = render(
                page,
                &resident,
                &csrf,
                documents,
                status,
                Some(&retry),
                None,
            );
            Ok(Either::Left(page.await?))
        }
    }
}

#[get("/documents/<id>/pdf", rank = 2)]
async fn download(
    id: i32,
    resident: Resident,
    documents: &State<Documents>,
) -> Result<Option<PdfDownload>, PageError> {
    Ok(documents
        .file(resident.tenant.scope(), resident.account.id, id)
        .await?
        .map(PdfDownload))
}

// -------------------------------------------------------- verification --

#[derive(Serialize, Default)]
struct VerifyView {
    csrf: String,
    code: String,
    code_error: Option<String>,
    found: Option<VerifiedView>,
    /// The outcome of comparing a file.
    identical: Option<bool>,
    file_error: Option<String>,
    max_megabytes: u64,
}

#[derive(Serialize)]
struct VerifiedView {
    code: String,
    title: String,
    number: String,
    issued_on: String,
    sha256: String,
    action: String,
}

fn verified_view(page: &TownPage, verified: Verified) -> VerifiedView {
    VerifiedView {
        action: format!("/documents/verifier/{}", verified.code),
        code: verified.code,
        title: verified.title,
        number: verified.number,
        issued_on: crate::format::date_time(
            &verified.issued_at.with_timezone(&page.tenant.timezone),
        ),
        sha256: verified.sha256,
    }
}

fn verify_view(csrf: &Csrf) -> VerifyView {
    VerifyView {
        csrf: csrf.token().to_owned(),
        max_megabytes: MAX_COPY_BYTES / (1024 * 1024),
        ..VerifyView::default()
    }
}

/// The code typed on the form (`?code=`), or the empty form.
#[get("/documents/verifier?<code>")]
fn verify_form(
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    code: Option<&str>,
) -> Result<Either<Page, Redirect>, PageError> {
    let mut view = verify_view(&csrf);
    if let Some(typed) = code {
        match crate::documents::normalize_code(typed) {
            Some(code) => {
                return Ok(Either::Right(Redirect::to(format!(
                    "/documents/verifier/{code}"
                ))));
            }
            None => {
                view.code = typed.chars().take(40).collect();
                view.code_error = Some(
                    "Ce code n'a pas la forme d'un code de vérification : 16 lettres et chiffres, par exemple K7QF-3M2P-XW9A-TC4D.".to_owned(),
                );
            }
        }
    }
    let status = if view.code_error.is_some() {
        Status::UnprocessableEntity
    } else {
        Status::Ok
    };
    visitor_page(page, &visitor, &csrf)
        .render(
            status,
            "pages/document_verify",
            "Vérifier un document",
            view,
        )
        .map(Either::Left)
}

#[get("/documents/verifier/<code>", rank = 1)]
async fn verify_page(
    code: &str,
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    documents: &State<Documents>,
) -> Result<Page, PageError> {
    let mut view = verify_view(&csrf);
    let found = documents.verify(page.tenant.scope(), code).await?;
    let title = verify_title(found.as_ref().map(|verified| verified.number.as_str()));
    let status = match found {
        Some(verified) => {
            view.found = Some(verified_view(&page, verified));
            Status::Ok
        }
        None => {
            view.code = code.chars().take(40).collect();
            view.code_error = Some(not_found(&page));
            Status::NotFound
        }
    };
    visitor_page(page, &visitor, &csrf).render(status, "pages/document_verify", &title, view)
}

/// Each page its own title: the document's, or the unknown code's.
fn verify_title(number: Option<&str>) -> String {
    match number {
        Some(number) => format!("Vérification du document n° {number}"),
        None => "Code de vérification inconnu".to_owned(),
    }
}

fn not_found(page: &TownPage) -> String {
    format!(
        "Aucun document de {} ne porte ce code. Vérifiez le code recopié ; un document qui ne se vérifie pas ici n'a pas été délivré par la mairie.",
        page.tenant.display_name
    )
}

#[derive(Debug, FromForm)]
struct CopyForm<'r> {
    fichier: Option<TempFile<'r>>,
}

#[post("/documents/verifier/<code>", data = "<form>")]
async fn verify_file(
    code: &str,
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    documents: &State<Documents>,
    form: CsrfForm<CopyForm<'_>>,
) -> Result<Page, PageError> {
    let mut view = verify_view(&csrf);
    let file = match &form.fichier {
        Some(file) if file.len() > 0 => Some(file),
        _ => None,
    };
    let bytes = match file {
        None => {
            view.file_error = Some("Choisissez le fichier PDF à comparer.".to_owned());
            None
        }
        Some(file) if file.len() > MAX_COPY_BYTES => {
            view.file_error = Some(format!(
                "Ce fichier dépasse {} Mo : ce n'est pas un document de la mairie.",
                MAX_COPY_BYTES / (1024 * 1024)
            ));
            None
        }
        Some(file) => {
            let mut bytes = Vec::new();
            match file.open().await {
                Ok(mut reader) => {
                    reader
                        .read_to_end(&mut bytes)
                        .await
                        .map_err(PageError::internal)?;
                    Some(bytes)
                }
                Err(error) => return Err(PageError::internal(error)),
            }
        }
    };
    let status = match bytes {
        Some(bytes) => match documents
            .check_copy(page.tenant.scope(), code, &bytes)
            .await?
        {
            Some((verified, check)) => {
                view.found = Some(verified_view(&page, verified));
                view.identical = Some(check == CopyCheck::Identical);
                Status::Ok
            }
            None => {
                view.code_error = Some(not_found(&page));
                Status::NotFound
            }
        },
        None => match documents.verify(page.tenant.scope(), code).await? {
            Some(verified) => {
                view.found = Some(verified_view(&page, verified));
                Status::UnprocessableEntity
            }
            None => {
                view.code_error = Some(not_found(&page));
                Status::NotFound
            }
        },
    };
    if view.code_error.is_some() {
        view.code = code.chars().take(40).collect();
    }
    let title = verify_title(view.found.as_ref().map(|found| found.number.as_str()));
    visitor_page(page, &visitor, &csrf).render(status, "pages/document_verify", &title, view)
}
