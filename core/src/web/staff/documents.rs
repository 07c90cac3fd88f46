//! Documents in the back-office: a resident's documents, issued for them
//! at the counter (`/admin/usagers/<identifier>/documents`, agents: the
//! same forms the resident has online, journaled as the member's), their
//! downloads, and who signs the town's documents (`/admin/documents`,
//! administrators).

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::residents::open_resident;
use super::{AdminPage, Checked, Csrf, CsrfForm, FieldError, Staff, staff_page};
use crate::accounts::Accounts;
use crate::accounts::entity::account;
use crate::audit::Origin;
use crate::documents::{Documents, Requester, SignatoryInput};
use crate::staff::{IssueDocuments, ManageTown, ReadResidents};
use crate::web::kit::csrf::input_of;
use crate::web::kit::documents::{
    Answer, IssuedRow, OfferView, PdfDownload, Retry, issue_or_again, issued_rows, offers,
};
use crate::web::kit::module_view::{ModuleFields, ViewFace};
use crate::web::kit::{Page, PageError};

/// The resident's documents rank before `/usagers/<identifier>/<code>`
/// (an action's confirmation page) and after `/usagers/import/<id>`, which
/// match the same paths.
pub(super) fn routes() -> Vec<Route> {
    routes![
        resident_documents,
        issue,
        download,
        signatory_form,
        signatory_save
    ]
}

#[derive(Serialize)]
struct ResidentDocumentsView {
    identifier: String,
    name: String,
    offers: Vec<OfferView>,
    issued: Vec<IssuedRow>,
    ready: Option<IssuedRow>,
}

fn encoded(identifier: &str) -> String {
    url::form_urlencoded::byte_serialize(identifier.as_bytes()).collect()
}

#[allow(clippy::too_many_arguments)]
async fn render(
    page: AdminPage,
    staff: &Staff<IssueDocuments>,
    csrf: &Csrf,
    documents: &Documents,
    owner: &account::Model,
    status: Status,
    retry: Option<&Retry>,
    ready: Option<i32>,
) -> Result<Page, PageError> {
    let offers = offers(
        documents,
        &staff.tenant,
        owner,
        csrf.token(),
        ViewFace::StaffDocuments {
            identifier: &owner.identifier,
        },
        retry,
    )
    .await?;
    let issued = documents.issued_for(staff.tenant.scope(), owner.id).await?;
    let base = format!("/admin/usagers/{}/documents", encoded(&owner.identifier));
    let (issued, ready) = issued_rows(&staff.tenant, issued, ready, |id| format!("{base}/{id}"));
    let name = crate::format::full_name(&owner.first_name, &owner.last_name);
    let view = ResidentDocumentsView {
        identifier: owner.identifier.clone(),
        name: name.clone(),
        offers,
        issued,
        ready,
    };
    staff_page(page, staff, csrf).render(
        status,
        "admin/resident_documents",
        &format!("Documents de {name}"),
        view,
    )
}

#[get("/usagers/<identifier>/documents?<delivre>", rank = 2)]
#[allow(clippy::too_many_arguments)]
async fn resident_documents(
    identifier: &str,
    delivre: Option<i32>,
    page: AdminPage,
    staff: Staff<IssueDocuments>,
    csrf: Csrf,
    accounts: &State<Accounts>,
    documents: &State<Documents>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    let page = page.with_flash(flash);
    render(
        page,
        &staff,
        &csrf,
        documents,
        &owner,
        Status::Ok,
        None,
        delivre,
    )
    .await
}

#[post(
    "/usagers/<identifier>/documents/<module_id>/<document_id>",
    data = "<form>"
)]
#[allow(clippy::too_many_arguments)]
async fn issue(
    identifier: &str,
    module_id: &str,
    document_id: &str,
    page: AdminPage,
    staff: Staff<IssueDocuments>,
    csrf: Csrf,
    origin: Origin,
    accounts: &State<Accounts>,
    documents: &State<Documents>,
    form: Checked<'_, ModuleFields>,
) -> Result<Either<Page, Redirect>, PageError> {
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    let (ModuleFields(typed), stale) = input_of(form)?;
    let answer = issue_or_again(
        documents,
        &staff.tenant,
        &owner,
        module_id,
        document_id,
        &typed,
        stale,
        Requester::Staff(&staff.member),
        &origin,
    )
    .await?;
    match answer {
        Answer::Issued(issued) => Ok(Either::Right(Redirect::to(format!(
            "/admin/usagers/{}/documents?delivre={}",
            encoded(&owner.identifier),
            issued.id
        )))),
        Answer::Again(status, retry) => {
            let page = render(
                page,
                &staff,
                &csrf,
                documents,
                &owner,
                status,
                Some(&retry),
                None,
            );
            Ok(Either::Left(page.await?))
        }
    }
}

#[get("/usagers/<identifier>/documents/<id>", rank = 2)]
async fn download(
    identifier: &str,
    id: i32,
    staff: Staff<ReadResidents>,
    accounts: &State<Accounts>,
    documents: &State<Documents>,
) -> Result<PdfDownload, PageError> {
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    documents
        .file(staff.tenant.scope(), owner.id, id)
        .await?
        .map(PdfDownload)
        .ok_or_else(PageError::not_found)
}

// ----------------------------------------------------------- signatory --

#[derive(Serialize, Default)]
struct SignatoryView {
    csrf: String,
    place: String,
    signatory: String,
    title: String,
    from_back_office: bool,
    place_error: Option<String>,
    signatory_error: Option<String>,
    title_error: Option<String>,
    errors: Vec<FieldError>,
}

#[get("/documents")]
async fn signatory_form(
    page: AdminPage,
    staff: Staff<ManageTown>,
    csrf: Csrf,
    documents: &State<Documents>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let current = documents.signatory(&staff.tenant).await?;
    let view = SignatoryView {
        csrf: csrf.token().to_owned(),
        place: current.place,
        signatory: current.signatory.unwrap_or_default(),
        title: current.title.unwrap_or_default(),
        from_back_office: current.from_back_office,
        ..SignatoryView::default()
    };
    staff_page(page.with_flash(flash), &staff, &csrf).ok("admin/documents", "Documents", view)
}

#[derive(Debug, FromForm)]
struct SignatoryForm<'r> {
    place: &'r str,
    signatory: &'r str,
    title: &'r str,
}

#[post("/documents", data = "<form>")]
async fn signatory_save(
    page: AdminPage,
    staff: Staff<ManageTown>,
    csrf: Csrf,
    origin: Origin,
    documents: &State<Documents>,
    form: CsrfForm<SignatoryForm<'_>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let input = SignatoryInput {
        place: form.place.to_owned(),
        signatory: form.signatory.to_owned(),
        title: form.title.to_owned(),
    };
    let errors = input.errors();
    if !errors.is_empty() {
        let message = |name: &str| {
            errors
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, message)| message.clone())
        };
        let view = SignatoryView {
            csrf: csrf.token().to_owned(),
            place: input.place.clone(),
            signatory: input.signatory.clone(),
            title: input.title.clone(),
            from_back_office: documents.signatory(&staff.tenant).await?.from_back_office,
            place_error: message("place"),
            signatory_error: message("signatory"),
            title_error: message("title"),
            errors: errors
                .iter()
                .map(|(field, message)| FieldError {
                    field,
                    message: message.clone(),
                })
                .collect(),
        };
        let page = staff_page(page, &staff, &csrf).render(
            Status::UnprocessableEntity,
            "admin/documents",
            "Documents",
            view,
        )?;
        return Ok(Either::Left(page));
    }
    documents
        .save_signatory(&staff.tenant, &staff.member, &input, &origin)
        .await?;
    Ok(Either::Right(Flash::success(
        Redirect::to("/admin/documents"),
        "Le signataire des documents est enregistré : les prochains documents le porteront.",
    )))
}
