//! "Votre avis nous intéresse": a message to the town.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{
    Checked, Choice, Csrf, FieldError, PageError, Resident, TownPage, field_errors, resident_page,
};
use crate::feedback::Feedback;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Page, refusal_message};

type PageResult = Result<Either<Page, Flash<Redirect>>, PageError>;

pub fn routes() -> Vec<Route> {
    routes![feedback_form, feedback_submit,]
}

// ------------------------------------------------------------ feedback --

#[derive(Serialize, Default)]
struct FeedbackView {
    csrf: String,
    topics: Vec<Choice>,
    message: String,
    topic_error: Option<String>,
    message_error: Option<String>,
    errors: Vec<FieldError>,
    max: usize,
}

fn feedback_view(csrf: &Csrf, topic: &str, message: &str) -> FeedbackView {
    FeedbackView {
        csrf: csrf.token().to_owned(),
        topics: crate::feedback::TOPICS
            .iter()
            .map(|&(value, label)| Choice {
                value,
                label,
                selected: value == topic,
            })
            .collect(),
        message: message.to_owned(),
        max: crate::feedback::MAX_MESSAGE_CHARS,
        ..FeedbackView::default()
    }
}

#[get("/avis")]
fn feedback_form(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let view = feedback_view(&csrf, "", "");
    resident_page(page.with_flash(flash), &resident, &csrf).ok(
        "pages/feedback",
        "Votre avis nous intéresse",
        view,
    )
}

#[derive(Debug, FromForm)]
struct FeedbackForm<'r> {
    topic: &'r str,
    message: &'r str,
}

#[post("/avis", data = "<form>")]
async fn feedback_submit<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    feedback: &State<Feedback>,
    form: Checked<'r, FeedbackForm<'r>>,
) -> PageResult {
    let (form, stale) = input_of(form)?;
    let status = stale.unwrap_or(Status::UnprocessableEntity);
    let mut view = feedback_view(&csrf, form.topic, form.message);
    let message = form.message.trim();
    if let Some(status) = stale {
        view.message_error = Some(refusal_message(status).to_owned());
    } else if message.is_empty() {
        view.message_error = Some("Écrivez votre message.".to_owned());
    } else if message.chars().count() > crate::feedback::MAX_MESSAGE_CHARS {
        view.message_error = Some(format!(
            "Votre message dépasse {} caractères.",
            crate::feedback::MAX_MESSAGE_CHARS
        ));
    }
    if !crate::feedback::TOPICS
        .iter()
        .any(|(code, _)| *code == form.topic)
    {
        view.topic_error = Some("Choisissez le sujet de votre message.".to_owned());
    }
    view.errors = field_errors(&[
        ("sujet", &view.topic_error),
        ("message", &view.message_error),
    ]);
    if !view.errors.is_empty() {
        let page = resident_page(page, &resident, &csrf).render(
            status,
            "pages/feedback",
            "Votre avis nous intéresse",
            view,
        )?;
        return Ok(Either::Left(page));
    }
    feedback
        .submit(
            resident.tenant.scope(),
            resident.account.id,
            form.topic,
            message,
        )
        .await?;
    Ok(Either::Right(Flash::success(
        Redirect::to("/avis"),
        "Merci ! Votre message a été transmis à la mairie.",
    )))
}
