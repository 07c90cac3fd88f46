//! Requests ("démarches"): the resident's list, a request with its history,
//! and starting one of the town's request types.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{Checked, Csrf, FieldError, PageError, Resident, TownPage, resident_page};
use crate::modules::Modules;
use crate::requests::{self, NewRequest, Requests};
use crate::tenancy::Tenant;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Page, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![
        request_list,
        request_detail,
        request_new,
        request_type_form,
        request_type_submit,
    ]
}

// ------------------------------------------------------------ requests --

#[derive(Debug, Serialize)]
pub struct RequestView {
    pub reference: String,
    pub title: String,
    pub status: String,
    pub tone: &'static str,
    pub date: String,
    pub href: String,
}

impl RequestView {
    pub fn of(tenant: &Tenant, request: &requests::entity::request::Model) -> Self {
        Self {
            reference: request.reference.clone(),
            title: request.title.clone(),
            status: request.status.label().to_owned(),
            tone: request.status.tone(),
            date: crate::format::date(
                request
                    .created_at
                    .with_timezone(&tenant.timezone)
                    .date_naive(),
            ),
            href: format!("/demarches/{}", request.reference),
        }
    }
}

/// The resident's latest requests, for the home page.
pub async fn latest_requests(
    requests: &Requests,
    tenant: &Tenant,
    account_id: i32,
    count: u64,
) -> Result<Vec<RequestView>, sea_orm::DbErr> {
    Ok(requests
        .latest(tenant, account_id, count)
        .await?
        .iter()
        .map(|request| RequestView::of(tenant, request))
        .collect())
}

#[derive(Serialize)]
struct RequestListView {
    requests: Vec<RequestView>,
}

#[get("/demarches")]
async fn request_list(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    requests: &State<Requests>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let requests = latest_requests(requests, &resident.tenant, resident.account.id, 500).await?;
    resident_page(page.with_flash(flash), &resident, &csrf).ok(
        "pages/requests",
        "Mes demandes",
        RequestListView { requests },
    )
}

#[derive(Serialize)]
struct RequestDetailView {
    request: RequestView,
    details: Vec<(String, String)>,
    history: Vec<HistoryView>,
}

#[derive(Serialize)]
struct HistoryView {
    at: String,
    status: String,
    note: Option<String>,
}

#[get("/demarches/<reference>")]
async fn request_detail(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    requests: &State<Requests>,
    reference: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    let tenant = &resident.tenant;
    let Some((request, events)) = requests
        .find(tenant, resident.account.id, reference)
        .await?
    else {
        return Ok(None);
    };
    let view = RequestDetailView {
        details: requests::details(&request)
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .collect(),
        history: events
            .iter()
            .map(|event| HistoryView {
                at: crate::format::date_time(&event.at.with_timezone(&tenant.timezone)),
                status: event.status.label().to_owned(),
                note: event.note.clone(),
            })
            .collect(),
        request: RequestView::of(tenant, &request),
    };
    let title = format!("Demande {}", request.reference);
    resident_page(page.with_flash(flash), &resident, &csrf)
        .ok("pages/request", &title, view)
        .map(Some)
}

#[derive(Serialize)]
struct StartableView {
    label: String,
    description: String,
    href: String,
}

#[derive(Serialize)]
struct RequestNewView {
    startable: Vec<StartableView>,
}

#[get("/demarches/nouvelle")]
async fn request_new(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    modules: &State<Modules>,
) -> Result<Page, PageError> {
    let mut startable = Vec::new();
    for module in modules.enabled(&resident.tenant).await? {
        for action in &module.manifest.actions {
            startable.push(StartableView {
                label: action.label.clone(),
                description: module.manifest.description.clone(),
                href: format!("/services/{}/{}", module.module_id, action.view),
            });
        }
    }
    for request_type in requests::request_types(&resident.tenant) {
        startable.push(StartableView {
            label: request_type.label.clone(),
            description: request_type.description.clone(),
            href: format!("/demarches/nouvelle/{}", request_type.id),
        });
    }
    resident_page(page, &resident, &csrf).ok(
        "pages/request_new",
        "Nouvelle démarche",
        RequestNewView { startable },
    )
}

#[derive(Serialize)]
struct RequestFormView {
    id: String,
    label: String,
    description: String,
    csrf: String,
    message: String,
    error: Option<String>,
    errors: Vec<FieldError>,
}

const MAX_REQUEST_MESSAGE: usize = 2000;

fn request_type(tenant: &Tenant, id: &str) -> Option<requests::RequestType> {
    requests::request_types(tenant)
        .iter()
        .find(|request_type| request_type.id == id)
        .cloned()
}

#[get("/demarches/nouvelle/<type_id>")]
fn request_type_form(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    type_id: &str,
) -> Result<Option<Page>, PageError> {
    let Some(request_type) = request_type(&resident.tenant, type_id) else {
        return Ok(None);
    };
    let view = RequestFormView {
        id: request_type.id,
        label: request_type.label.clone(),
        description: request_type.description,
        csrf: csrf.token().to_owned(),
        message: String::new(),
        error: None,
        errors: Vec::new(),
    };
    resident_page(page, &resident, &csrf)
        .ok("pages/request_form", &request_type.label, view)
        .map(Some)
}

#[derive(Debug, FromForm)]
struct RequestForm<'r> {
    message: &'r str,
}

#[post("/demarches/nouvelle/<type_id>", data = "<form>")]
async fn request_type_submit<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    requests: &State<Requests>,
    type_id: &str,
    form: Checked<'r, RequestForm<'r>>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let (form, stale) = input_of(form)?;
    let Some(request_type) = request_type(&resident.tenant, type_id) else {
        return Ok(None);
    };
    let message = form.message.trim();
    let error = if let Some(status) = stale {
        Some(refusal_message(status).to_owned())
    } else if message.is_empty() {
        Some("Précisez votre demande en quelques mots.".to_owned())
    } else if message.chars().count() > MAX_REQUEST_MESSAGE {
        Some(format!(
            "Votre message dépasse {MAX_REQUEST_MESSAGE} caractères."
        ))
    } else {
        None
    };
    if let Some(error) = error {
        let status = stale.unwrap_or(Status::UnprocessableEntity);
        let view = RequestFormView {
            id: request_type.id,
            label: request_type.label.clone(),
            description: request_type.description,
            csrf: csrf.token().to_owned(),
            message: form.message.to_owned(),
            errors: vec![FieldError {
                field: "message",
                message: error.clone(),
            }],
            error: Some(error),
        };
        let page = resident_page(page, &resident, &csrf).render(
            status,
            "pages/request_form",
            &request_type.label,
            view,
        )?;
        return Ok(Some(Either::Left(page)));
    }
    let new = NewRequest {
        kind: request_type.id.clone(),
        module_id: None,
        title: request_type.label.clone(),
        details: vec![("Message".to_owned(), message.to_owned())],
    };
    let reference = requests
        .submit(&resident.tenant, resident.account.id, new)
        .await?;
    Ok(Some(Either::Right(Flash::success(
        Redirect::to(format!("/demarches/{reference}")),
        format!("Votre demande est enregistrée sous la référence {reference}."),
    ))))
}
