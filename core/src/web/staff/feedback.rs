//! `/admin/avis`: what residents wrote in "Votre avis nous intéresse", for
//! agents and up: new, read, handled; an answer by mail marks a message
//! handled. The work is `crate::feedback::Feedback`'s.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, CsrfForm, FieldError, Staff, staff_page};
use crate::audit::Origin;
use crate::feedback::{Feedback, FeedbackError, FeedbackFilter, FeedbackState, TOPICS};
use crate::staff::HandleFeedback;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![feedback_inbox, mark_read, mark_handled, reply]
}

#[derive(Serialize)]
struct ItemView {
    id: i32,
    date: String,
    resident: String,
    topic: String,
    message: String,
    state: &'static str,
    tone: &'static str,
    is_new: bool,
    handled: bool,
    reply: Option<String>,
    replied: Option<String>,
    /// The reply typed before a refusal, and why.
    draft: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct FilterView {
    href: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Serialize)]
struct FeedbackView {
    csrf: String,
    items: Vec<ItemView>,
    filters: Vec<FilterView>,
    caption: String,
    errors: Vec<FieldError>,
}

const FILTERS: [(&str, &str, FeedbackFilter); 5] = [
    ("/admin/avis", "À traiter", FeedbackFilter::Open),
    (
        "/admin/avis?etat=nouveaux",
        "Nouveaux",
        FeedbackFilter::Is(FeedbackState::New),
    ),
    (
        "/admin/avis?etat=lus",
        "Lus",
        FeedbackFilter::Is(FeedbackState::Read),
    ),
    (
        "/admin/avis?etat=traites",
        "Traités",
        FeedbackFilter::Is(FeedbackState::Handled),
    ),
    ("/admin/avis?etat=tous", "Tous", FeedbackFilter::All),
];

fn filter_of(etat: Option<&str>) -> FeedbackFilter {
    match etat {
        Some("nouveaux") => FeedbackFilter::Is(FeedbackState::New),
        Some("lus") => FeedbackFilter::Is(FeedbackState::Read),
        Some("traites") => FeedbackFilter::Is(FeedbackState::Handled),
        Some("tous") => FeedbackFilter::All,
        _ => FeedbackFilter::Open,
    }
}

/// A refused answer, shown under its message.
struct Draft {
    id: i32,
    text: String,
    error: String,
}

async fn render(
    page: AdminPage,
    staff: &Staff<HandleFeedback>,
    feedback: &Feedback,
    csrf: &Csrf,
    filter: FeedbackFilter,
    status: Status,
    draft: Option<Draft>,
) -> Result<Page, PageError> {
    let tenant = &staff.tenant;
    // A refused answer is shown whatever the filter: list them all then.
    let filter = if draft.is_some() {
        FeedbackFilter::All
    } else {
        filter
    };
    let items: Vec<ItemView> = feedback
        .inbox(tenant, filter)
        .await?
        .into_iter()
        .map(|item| {
            let draft = draft.as_ref().filter(|draft| draft.id == item.row.id);
            ItemView {
                id: item.row.id,
                date: crate::format::date_time(
                    &item.row.created_at.with_timezone(&tenant.timezone),
                ),
                resident: item.resident,
                topic: TOPICS
                    .iter()
                    .find(|(value, _)| *value == item.row.topic)
                    .map_or_else(|| item.row.topic.clone(), |(_, label)| (*label).to_owned()),
                message: item.row.message.clone(),
                state: item.state.label(),
                tone: match item.state {
                    FeedbackState::New => "warning",
                    FeedbackState::Read => "info",
                    FeedbackState::Handled => "success",
                },
                is_new: item.state == FeedbackState::New,
                handled: item.state == FeedbackState::Handled,
                reply: item.row.reply.clone(),
                replied: item
                    .row
                    .replied_at
                    .map(|at| crate::format::date_time(&at.with_timezone(&tenant.timezone))),
                draft: draft.map(|draft| draft.text.clone()).unwrap_or_default(),
                error: draft.map(|draft| draft.error.clone()),
            }
        })
        .collect();
    let errors = draft
        .iter()
        .map(|draft| FieldError {
            field: "reponse",
            message: draft.error.clone(),
        })
        .collect();
    let label = FILTERS
        .iter()
        .find(|(_, _, candidate)| *candidate == filter)
        .map_or("Avis", |(_, label, _)| label);
    let view = FeedbackView {
        csrf: csrf.token().to_owned(),
        caption: format!("Avis des usagers — {label} ({})", items.len()),
        items,
        filters: FILTERS
            .iter()
            .map(|(href, label, candidate)| FilterView {
                href,
                label,
                current: *candidate == filter,
            })
            .collect(),
        errors,
    };
    // A refused answer is shown at the form's action: its own title.
    let title = if status == Status::Ok {
        "Avis des usagers"
    } else {
        "Erreur – Avis des usagers"
    };
    staff_page(page, staff, csrf).render(status, "admin/feedback", title, view)
}

#[get("/avis?<etat>")]
async fn feedback_inbox(
    page: AdminPage,
    staff: Staff<HandleFeedback>,
    feedback: &State<Feedback>,
    csrf: Csrf,
    etat: Option<&str>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let filter = filter_of(etat);
    render(
        page.with_flash(flash),
        &staff,
        feedback,
        &csrf,
        filter,
        Status::Ok,
        None,
    )
    .await
}

fn back(done: &str) -> Flash<Redirect> {
    Flash::success(Redirect::to("/admin/avis"), done.to_owned())
}

#[post("/avis/<id>/lu", data = "<form>")]
async fn mark_read(
    staff: Staff<HandleFeedback>,
    feedback: &State<Feedback>,
    origin: Origin,
    id: i32,
    form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let _ = form;
    feedback
        .mark(&staff.tenant, &staff.member, id, false, &origin)
        .await?;
    Ok(back("Avis marqué comme lu."))
}

#[post("/avis/<id>/traite", data = "<form>")]
async fn mark_handled(
    staff: Staff<HandleFeedback>,
    feedback: &State<Feedback>,
    origin: Origin,
    id: i32,
    form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let _ = form;
    feedback
        .mark(&staff.tenant, &staff.member, id, true, &origin)
        .await?;
    Ok(back("Avis marqué comme traité."))
}

#[derive(Debug, FromForm)]
struct ReplyForm<'r> {
    reply: &'r str,
}

#[post("/avis/<id>/repondre", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn reply<'r>(
    page: AdminPage,
    staff: Staff<HandleFeedback>,
    feedback: &State<Feedback>,
    csrf: Csrf,
    origin: Origin,
    id: i32,
    form: Checked<'r, ReplyForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, stale) = input_of(form)?;
    let outcome = match stale {
        Some(status) => Err((status, refusal_message(status).to_owned())),
        None => match feedback
            .reply(&staff.tenant, &staff.member, id, form.reply, &origin)
            .await
        {
            Ok(()) => Ok(()),
            Err(FeedbackError::Refused(message)) => Err((Status::UnprocessableEntity, message)),
            Err(error) => return Err(error.into()),
        },
    };
    match outcome {
        Ok(()) => Ok(Either::Right(back(
            "Réponse envoyée par courriel ; l'avis est traité.",
        ))),
        Err((status, error)) => {
            let draft = Draft {
                id,
                text: form.reply.to_owned(),
                error,
            };
            let filter = FeedbackFilter::All;
            let page = render(page, &staff, feedback, &csrf, filter, status, Some(draft)).await?;
            Ok(Either::Left(page))
        }
    }
}
