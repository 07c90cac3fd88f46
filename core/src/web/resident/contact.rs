//! Contact details ("Coordonnées") and the e-mail change with its
//! confirmation link.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{
    Checked, Csrf, FieldError, PageError, Resident, TownPage, Visitor, field_errors, optional,
    resident_page, visitor_page,
};
use crate::accounts::{Accounts, EmailChangeProblem, EmailConfirmProblem, LinkProblem};
use crate::audit::Origin;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, refusal_message};

type PageResult = Result<Either<Page, Flash<Redirect>>, PageError>;

pub fn routes() -> Vec<Route> {
    routes![
        contact,
        contact_save,
        email_change,
        email_confirm_page,
        email_confirm,
    ]
}

// ------------------------------------------------------------- contact --

#[derive(Serialize, Default)]
struct ContactView {
    csrf: String,
    email: String,
    address: String,
    phone: String,
    address_error: Option<String>,
    phone_error: Option<String>,
    new_email: String,
    new_email_error: Option<String>,
    password_error: Option<String>,
    email_sent_to: Option<String>,
    errors: Vec<FieldError>,
    /// The town offers FranceConnect (a link to "Mon compte FranceConnect").
    franceconnect: bool,
}

fn contact_view(resident: &Resident, csrf: &Csrf) -> ContactView {
    let account = &resident.account;
    ContactView {
        csrf: csrf.token().to_owned(),
        franceconnect: crate::franceconnect::FranceConnect::settings(&resident.tenant).is_some(),
        email: account.email.clone(),
        address: account.address.clone().unwrap_or_default(),
        phone: account.phone.clone().unwrap_or_default(),
        ..ContactView::default()
    }
}

fn contact_page(
    page: TownPage,
    resident: &Resident,
    csrf: &Csrf,
    mut view: ContactView,
    status: Status,
) -> Result<Page, PageError> {
    view.errors = field_errors(&[
        ("adresse", &view.address_error),
        ("telephone", &view.phone_error),
        ("nouvelle-adresse", &view.new_email_error),
        ("mot-de-passe", &view.password_error),
    ]);
    resident_page(page, resident, csrf).render(status, "pages/contact", "Coordonnées", view)
}

#[get("/coordonnees")]
fn contact(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let view = contact_view(&resident, &csrf);
    contact_page(page.with_flash(flash), &resident, &csrf, view, Status::Ok)
}

#[derive(Debug, FromForm)]
struct ContactForm<'r> {
    address: &'r str,
    phone: &'r str,
}

use crate::accounts::is_plausible_phone;

#[post("/coordonnees", data = "<form>")]
async fn contact_save<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    accounts: &State<Accounts>,
    form: Checked<'r, ContactForm<'r>>,
) -> PageResult {
    let (form, stale) = input_of(form)?;
    let status = stale.unwrap_or(Status::UnprocessableEntity);
    let mut view = contact_view(&resident, &csrf);
    view.address = form.address.trim().to_owned();
    view.phone = form.phone.trim().to_owned();
    if let Some(status) = stale {
        view.address_error = Some(refusal_message(status).to_owned());
    } else if view.address.chars().count() > 300 {
        view.address_error = Some("L'adresse dépasse 300 caractères.".to_owned());
    }
    if !view.phone.is_empty() && !is_plausible_phone(&view.phone) {
        view.phone_error =
            Some("Indiquez un numéro de téléphone, par exemple 06 12 34 56 78.".to_owned());
    }
    if view.address_error.is_some() || view.phone_error.is_some() {
        return contact_page(page, &resident, &csrf, view, status).map(Either::Left);
    }
    accounts
        .update_contact(
            &resident.tenant,
            resident.account.id,
            optional(&view.address),
            optional(&view.phone),
        )
        .await?;
    Ok(Either::Right(Flash::success(
        Redirect::to("/coordonnees"),
        "Vos coordonnées sont enregistrées.",
    )))
}

#[derive(Debug, FromForm)]
struct EmailChangeForm<'r> {
    new_email: &'r str,
    password: &'r str,
}

#[post("/coordonnees/courriel", data = "<form>")]
async fn email_change<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    accounts: &State<Accounts>,
    form: Checked<'r, EmailChangeForm<'r>>,
) -> Result<Page, PageError> {
    let mut view = contact_view(&resident, &csrf);
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(refused) => {
            let (form, status) = refused.stale_input()?;
            view.new_email = form.new_email.trim().to_owned();
            view.new_email_error = Some(refusal_message(status).to_owned());
            return contact_page(page, &resident, &csrf, view, status);
        }
    };
    view.new_email = form.new_email.trim().to_owned();
    if form.password.is_empty() {
        view.password_error = Some("Saisissez votre mot de passe actuel.".to_owned());
        return contact_page(page, &resident, &csrf, view, Status::UnprocessableEntity);
    }
    match accounts
        .request_email_change(
            &resident.tenant,
            &resident.account,
            form.password,
            &view.new_email,
        )
        .await?
    {
        Ok(()) => {
            view.email_sent_to = Some(view.new_email.clone());
            view.new_email = String::new();
            contact_page(page, &resident, &csrf, view, Status::Ok)
        }
        Err(problem) => {
            match problem {
                EmailChangeProblem::InvalidEmail => view.new_email_error = Some(
                    "Indiquez une adresse électronique valide, par exemple prenom.nom@exemple.fr."
                        .to_owned(),
                ),
                EmailChangeProblem::SameEmail => {
                    view.new_email_error = Some("C'est déjà l'adresse de votre espace.".to_owned())
                }
                EmailChangeProblem::WrongPassword => {
                    view.password_error = Some("Ce mot de passe n'est pas le bon.".to_owned())
                }
            }
            contact_page(page, &resident, &csrf, view, Status::UnprocessableEntity)
        }
    }
}

#[derive(Serialize)]
struct EmailConfirmView {
    csrf: String,
    token: String,
    problem: Option<&'static str>,
}

fn link_problem(problem: &LinkProblem) -> &'static str {
    match problem {
        LinkProblem::Unknown => {
            "Ce lien n'est pas valable. Vérifiez qu'il est complet, ou refaites la demande depuis vos coordonnées."
        }
        LinkProblem::Used => {
            "Ce lien a déjà servi : votre adresse a été confirmée, ou une nouvelle demande l'a remplacé."
        }
        LinkProblem::Expired => "Ce lien a expiré : refaites la demande depuis vos coordonnées.",
    }
}

/// The link shows a button rather than changing on GET: mail scanners
/// follow links.
#[get("/coordonnees/courriel/<token>")]
async fn email_confirm_page(
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    accounts: &State<Accounts>,
    token: &str,
) -> Result<Page, PageError> {
    let problem = accounts
        .check_link(
            &page.tenant,
            crate::accounts::LinkPurpose::EmailChange,
            token,
        )
        .await?
        .err()
        .map(|problem| link_problem(&problem));
    let view = EmailConfirmView {
        csrf: csrf.token().to_owned(),
        token: token.to_owned(),
        problem,
    };
    let status = if problem.is_some() {
        Status::Gone
    } else {
        Status::Ok
    };
    visitor_page(page, &visitor, &csrf).render(
        status,
        "pages/email_confirm",
        "Confirmer ma nouvelle adresse",
        view,
    )
}

#[post("/coordonnees/courriel/<token>", data = "<form>")]
async fn email_confirm(
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    origin: Origin,
    accounts: &State<Accounts>,
    token: &str,
    form: Checked<'_, Button>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (_, stale) = input_of(form)?;
    let problem = match stale {
        Some(status) => Some(refusal_message(status)),
        None => match accounts
            .confirm_email_change(&page.tenant, token, &origin)
            .await?
        {
            Ok(_) => None,
            Err(EmailConfirmProblem::Link(problem)) => Some(link_problem(&problem)),
            Err(EmailConfirmProblem::Taken) => Some(
                "Cette adresse est déjà celle d'un autre espace de la commune : choisissez-en une autre.",
            ),
        },
    };
    let Some(problem) = problem else {
        let target = if visitor.0.is_some() {
            "/coordonnees"
        } else {
            "/"
        };
        return Ok(Either::Right(Flash::success(
            Redirect::to(target),
            "Votre nouvelle adresse électronique est confirmée.",
        )));
    };
    let view = EmailConfirmView {
        csrf: csrf.token().to_owned(),
        token: token.to_owned(),
        problem: Some(problem),
    };
    visitor_page(page, &visitor, &csrf)
        .render(
            stale.unwrap_or(Status::UnprocessableEntity),
            "pages/email_confirm",
            "Confirmer ma nouvelle adresse",
            view,
        )
        .map(Either::Left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_checked_loosely() {
        assert!(is_plausible_phone("06 12 34 56 78"));
        assert!(is_plausible_phone("+33 (0)6.12.34.56.78"));
        assert!(!is_plausible_phone("06 12 34 56 78 ou le soir"));
        assert!(!is_plausible_phone("12"));
        assert!(!is_plausible_phone("06+12"));
    }
}
