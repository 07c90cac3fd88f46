//! Requests ("démarches"): the resident's list, a request with its history
//! (the town's messages included, never its internal notes: those live in
//! a table this face does not read), the answer to a request waiting for
//! information, and starting one of the town's request types.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{Checked, Csrf, FieldError, PageError, Resident, TownPage, resident_page};
use crate::audit::Origin;
use crate::modules::Modules;
use crate::requests::entity::request_event::EventAuthor;
use crate::requests::{self, DeskError, NewRequest, RequestDesk, RequestStatus, Requests};
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
        request_answer,
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
    /// The request waits for the resident's answer: the form is shown.
    waiting: bool,
    csrf: String,
    answer: String,
    answer_error: Option<String>,
    errors: Vec<FieldError>,
}

#[derive(Serialize)]
struct HistoryView {
    at: String,
    status: String,
    /// "La mairie" or "Vous", for a step with a message.
    author: Option<&'static str>,
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
    detail_page(
        page.with_flash(flash),
        &resident,
        &csrf,
        requests,
        reference,
        Status::Ok,
        String::new(),
        None,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn detail_page(
    page: TownPage,
    resident: &Resident,
    csrf: &Csrf,
    requests: &Requests,
    reference: &str,
    status: Status,
    answer: String,
    answer_error: Option<String>,
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
                author: event.note.as_ref().and(match event.author {
                    Some(EventAuthor::Staff) => Some("La mairie"),
                    Some(EventAuthor::Resident) => Some("Vous"),
                    None => None,
                }),
                note: event.note.clone(),
            })
            .collect(),
        waiting: request.status == RequestStatus::WaitingForInformation,
        csrf: csrf.token().to_owned(),
        answer,
        errors: answer_error
            .iter()
            .map(|message| FieldError {
                field: "reponse",
                message: message.clone(),
            })
            .collect(),
        answer_error,
        request: RequestView::of(tenant, &request),
    };
    // A refused form is shown at its action's address: its own title, which
    // says so (RGAA 8.6), not the page's.
    let title = if status == Status::Ok {
        format!("Demande {}", request.reference)
    } else {
        format!("Erreur – Demande {}", request.reference)
    };
    resident_page(page, resident, csrf)
        .render(status, "pages/request", &title, view)
        .map(Some)
}

#[derive(Debug, FromForm)]
struct AnswerForm<'r> {
    answer: &'r str,
}

/// The resident answers the town's question: the request goes back to
/// "En cours" and its agent is told (requests/answer.rs).
#[post("/demarches/<reference>/repondre", data = "<form>", rank = 2)]
#[allow(clippy::too_many_arguments)]
async fn request_answer<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    requests: &State<Requests>,
    desk: &State<RequestDesk>,
    origin: Origin,
    reference: &str,
    form: Checked<'r, AnswerForm<'r>>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let (form, stale) = input_of(form)?;
    let refusal = match stale {
        Some(status) => Some((status, refusal_message(status).to_owned())),
        None => match desk
            .answer(
                &resident.tenant,
                resident.account.id,
                reference,
                form.answer,
                &origin,
            )
            .await
        {
            Ok(()) => None,
            Err(DeskError::NotFound) => return Ok(None),
            Err(DeskError::Refused(refusal)) => {
                Some((Status::UnprocessableEntity, refusal.message()))
            }
            Err(error) => return Err(error.into()),
        },
    };
    match refusal {
        None => Ok(Some(Either::Right(Flash::success(
            Redirect::to(format!("/demarches/{reference}")),
            "Votre réponse est envoyée à la mairie.".to_owned(),
        )))),
        Some((status, message)) => {
            let answer = form.answer.to_owned();
            let page = detail_page(
                page,
                &resident,
                &csrf,
                requests,
                reference,
                status,
                answer,
                Some(message),
            )
            .await?;
            Ok(page.map(Either::Left))
        }
    }
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
