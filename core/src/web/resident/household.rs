//! The household ("Dossier administratif", "Membres foyer"): shown to every
//! resident, edited by residents where the town allows it.

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{
    Checked, Choice, Csrf, CsrfForm, FieldError, PageError, Resident, TownPage, field_errors,
    resident_page, today,
};
use crate::households::{Households, MemberField, MemberInput, Relation};
use crate::tenancy::Tenant;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![household, household_add, household_remove,]
}

// ----------------------------------------------------------- household --

#[derive(Debug, Serialize)]
pub struct MemberView {
    pub id: i32,
    pub name: String,
    pub relation: String,
    pub birth_date: Option<String>,
}

/// The household, for the home page's "Membres foyer".
pub async fn household_members(
    households: &Households,
    tenant: &Tenant,
    account_id: i32,
) -> Result<Vec<MemberView>, sea_orm::DbErr> {
    Ok(households
        .members(tenant.scope(), account_id)
        .await?
        .iter()
        .map(MemberView::of)
        .collect())
}

impl MemberView {
    pub fn of(member: &crate::households::entity::household_member::Model) -> Self {
        Self {
            id: member.id,
            name: crate::format::full_name(&member.first_name, &member.last_name),
            relation: member.relation.label().to_owned(),
            birth_date: member.birth_date.map(crate::format::date),
        }
    }
}

#[derive(Serialize, Default)]
struct MemberFormView {
    first_name: String,
    last_name: String,
    birth_date: String,
    relation: String,
    first_name_error: Option<String>,
    last_name_error: Option<String>,
    birth_date_error: Option<String>,
    relation_error: Option<String>,
}

#[derive(Serialize)]
struct HouseholdView {
    holder: String,
    members: Vec<MemberView>,
    editable: bool,
    csrf: String,
    relations: Vec<Choice>,
    form: MemberFormView,
    errors: Vec<FieldError>,
}

async fn household_page(
    page: TownPage,
    resident: &Resident,
    csrf: &Csrf,
    households: &Households,
    form: MemberFormView,
    errors: Vec<FieldError>,
    status: Status,
) -> Result<Page, PageError> {
    let account = &resident.account;
    let view = HouseholdView {
        holder: crate::format::full_name(&account.first_name, &account.last_name),
        members: household_members(households, &resident.tenant, account.id).await?,
        editable: crate::households::settings(&resident.tenant).editable,
        csrf: csrf.token().to_owned(),
        relations: Relation::ALL
            .iter()
            .map(|relation| Choice {
                value: relation.code(),
                label: relation.label(),
                selected: form.relation == relation.code(),
            })
            .collect(),
        form,
        errors,
    };
    resident_page(page, resident, csrf).render(
        status,
        "pages/household",
        "Dossier administratif",
        view,
    )
}

#[get("/famille")]
async fn household(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    households: &State<Households>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    household_page(
        page.with_flash(flash),
        &resident,
        &csrf,
        households,
        MemberFormView::default(),
        Vec::new(),
        Status::Ok,
    )
    .await
}

#[derive(Debug, FromForm)]
struct MemberForm<'r> {
    first_name: &'r str,
    last_name: &'r str,
    birth_date: &'r str,
    relation: &'r str,
}

#[post("/famille/membres", data = "<form>")]
async fn household_add<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    households: &State<Households>,
    form: Checked<'r, MemberForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, stale) = input_of(form)?;
    let status = stale.unwrap_or(Status::UnprocessableEntity);
    if !crate::households::settings(&resident.tenant).editable {
        return Ok(Either::Right(Flash::error(
            Redirect::to("/famille"),
            "Votre mairie tient votre dossier à jour : contactez-la pour le modifier.",
        )));
    }
    let mut view = MemberFormView {
        first_name: form.first_name.trim().to_owned(),
        last_name: form.last_name.trim().to_owned(),
        birth_date: form.birth_date.trim().to_owned(),
        relation: form.relation.to_owned(),
        ..MemberFormView::default()
    };
    let mut errors = Vec::new();
    if let Some(status) = stale {
        errors.push(FieldError {
            field: "prenom",
            message: refusal_message(status).to_owned(),
        });
    }
    // The household's rules are the domain's, shared with the data API.
    let checked = MemberInput {
        first_name: view.first_name.clone(),
        last_name: view.last_name.clone(),
        birth_date: view.birth_date.clone(),
        relation: view.relation.clone(),
        external_ref: None,
    }
    .validate(today(&resident.tenant));
    if let Err(refused) = &checked {
        view.first_name_error = refused.message(MemberField::FirstName);
        view.last_name_error = refused.message(MemberField::LastName);
        view.birth_date_error = refused.message(MemberField::BirthDate);
        view.relation_error = refused.message(MemberField::Relation);
    }
    errors.extend(field_errors(&[
        ("prenom", &view.first_name_error),
        ("nom", &view.last_name_error),
        ("naissance", &view.birth_date_error),
        ("lien", &view.relation_error),
    ]));
    let member = match checked {
        Ok(member) if errors.is_empty() => member,
        _ => {
            return household_page(page, &resident, &csrf, households, view, errors, status)
                .await
                .map(Either::Left);
        }
    };
    let name = view.first_name.clone();
    households
        .add(resident.tenant.scope(), resident.account.id, member)
        .await?;
    Ok(Either::Right(Flash::success(
        Redirect::to("/famille"),
        format!("{name} fait maintenant partie de votre foyer."),
    )))
}

#[post("/famille/membres/<member_id>/retirer", data = "<_form>")]
async fn household_remove(
    resident: Resident,
    households: &State<Households>,
    member_id: i32,
    _form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let back = Redirect::to("/famille");
    if !crate::households::settings(&resident.tenant).editable {
        return Ok(Flash::error(
            back,
            "Votre mairie tient votre dossier à jour : contactez-la pour le modifier.",
        ));
    }
    let removed = households
        .remove(resident.tenant.scope(), resident.account.id, member_id)
        .await?;
    Ok(if removed {
        Flash::success(back, "Ce membre ne fait plus partie de votre foyer.")
    } else {
        Flash::error(back, "Ce membre ne fait pas partie de votre foyer.")
    })
}
