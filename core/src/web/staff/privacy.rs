//! The town's privacy settings (`/admin/donnees-personnelles`,
//! administrators): the notice's controller and DPO, the periods of the
//! residents' rights (privacy/admin.rs).

use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, Staff, staff_page};
use crate::audit::Origin;
use crate::privacy::{EffectiveSettings, Privacy, SettingsInput};
use crate::staff::ManageTown;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Page, PageError, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![settings_form, settings_save]
}

#[derive(Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

#[derive(Serialize, Default)]
struct SettingsView {
    csrf: String,
    controller: String,
    dpo_name: String,
    dpo_email: String,
    dpo_address: String,
    closure_grace_days: String,
    inactive_after_months: String,
    never_activated_after_months: String,
    from_back_office: bool,
    updated_by: Option<String>,
    town_name: String,
    controller_error: Option<String>,
    dpo_name_error: Option<String>,
    dpo_email_error: Option<String>,
    dpo_address_error: Option<String>,
    closure_grace_days_error: Option<String>,
    inactive_after_months_error: Option<String>,
    never_activated_after_months_error: Option<String>,
    errors: Vec<FieldError>,
}

fn view_of(
    csrf: &Csrf,
    input: SettingsInput,
    current: &EffectiveSettings,
    town: &str,
) -> SettingsView {
    SettingsView {
        csrf: csrf.token().to_owned(),
        controller: input.controller,
        dpo_name: input.dpo_name,
        dpo_email: input.dpo_email,
        dpo_address: input.dpo_address,
        closure_grace_days: input.closure_grace_days,
        inactive_after_months: input.inactive_after_months,
        never_activated_after_months: input.never_activated_after_months,
        from_back_office: current.from_back_office,
        updated_by: current.updated_by.clone(),
        town_name: town.to_owned(),
        ..SettingsView::default()
    }
}

const TITLE: &str = "Données personnelles";

#[get("/donnees-personnelles")]
async fn settings_form(
    page: AdminPage,
    staff: Staff<ManageTown>,
    csrf: Csrf,
    privacy: &State<Privacy>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let current = privacy.settings(&staff.tenant).await?;
    let settings = &current.settings;
    let input = SettingsInput {
        controller: settings.controller.clone().unwrap_or_default(),
        dpo_name: settings.dpo_name.clone().unwrap_or_default(),
        dpo_email: settings.dpo_email.clone().unwrap_or_default(),
        dpo_address: settings.dpo_address.clone().unwrap_or_default(),
        closure_grace_days: settings.closure_grace_days.to_string(),
        inactive_after_months: settings.inactive_after_months.to_string(),
        never_activated_after_months: settings.never_activated_after_months.to_string(),
    };
    let view = view_of(&csrf, input, &current, &staff.tenant.display_name);
    staff_page(page.with_flash(flash), &staff, &csrf).ok("admin/privacy_settings", TITLE, view)
}

#[derive(Debug, FromForm)]
struct SettingsForm<'r> {
    controller: &'r str,
    dpo_name: &'r str,
    dpo_email: &'r str,
    dpo_address: &'r str,
    closure_grace_days: &'r str,
    inactive_after_months: &'r str,
    never_activated_after_months: &'r str,
}

#[post("/donnees-personnelles", data = "<form>")]
async fn settings_save<'r>(
    page: AdminPage,
    staff: Staff<ManageTown>,
    csrf: Csrf,
    origin: Origin,
    privacy: &State<Privacy>,
    form: Checked<'r, SettingsForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, stale) = input_of(form)?;
    let input = SettingsInput {
        controller: form.controller.to_owned(),
        dpo_name: form.dpo_name.to_owned(),
        dpo_email: form.dpo_email.to_owned(),
        dpo_address: form.dpo_address.to_owned(),
        closure_grace_days: form.closure_grace_days.to_owned(),
        inactive_after_months: form.inactive_after_months.to_owned(),
        never_activated_after_months: form.never_activated_after_months.to_owned(),
    };
    let problems = match stale {
        Some(status) => Err((
            status,
            vec![("controller", refusal_message(status).to_owned())],
        )),
        None => match privacy
            .save_settings(&staff.tenant, &staff.member, &input, &origin)
            .await?
        {
            Ok(()) => Ok(()),
            Err(problems) => Err((Status::UnprocessableEntity, problems)),
        },
    };
    match problems {
        Ok(()) => Ok(Either::Right(Flash::success(
            Redirect::to("/admin/donnees-personnelles"),
            "Les réglages sont enregistrés : la page « Données personnelles » des usagers et les durées de conservation les suivent dès maintenant.",
        ))),
        Err((status, problems)) => {
            let current = privacy.settings(&staff.tenant).await?;
            let mut view = view_of(&csrf, input, &current, &staff.tenant.display_name);
            for (field, message) in problems {
                let slot = match field {
                    "controller" => &mut view.controller_error,
                    "dpo_name" => &mut view.dpo_name_error,
                    "dpo_email" => &mut view.dpo_email_error,
                    "dpo_address" => &mut view.dpo_address_error,
                    "closure_grace_days" => &mut view.closure_grace_days_error,
                    "inactive_after_months" => &mut view.inactive_after_months_error,
                    _ => &mut view.never_activated_after_months_error,
                };
                *slot = Some(message.clone());
                view.errors.push(FieldError { field, message });
            }
            Ok(Either::Left(staff_page(page, &staff, &csrf).render(
                status,
                "admin/privacy_settings",
                TITLE,
                view,
            )?))
        }
    }
}
