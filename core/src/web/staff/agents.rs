//! `/admin/agents`: the town's team, for administrators — the list, the
//! invitation form, role changes, suspension and reactivation. The service
//! refuses what would leave the town without an active administrator; the
//! page says so.

use rocket::Either;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes};
use serde::Serialize;

use super::{
    AdminPage, Checked, Choice, Csrf, CsrfForm, FieldError, Staff, role_choices, staff_page,
};
use crate::audit::Origin;
use crate::staff::{ChangeRefused, ManageStaff, StaffRole, StaffService, StaffStatus};
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![agents, invite, change_role, suspend, reactivate]
}

const PATH: &str = "/admin/agents";

#[derive(Serialize)]
struct MemberView {
    id: i32,
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
    active: bool,
    joined: bool,
    is_me: bool,
    last_login: String,
    roles: Vec<Choice>,
}

#[derive(Default, Serialize)]
struct InviteInput {
    email: String,
    email_error: Option<String>,
    roles: Vec<Choice>,
}

#[derive(Serialize)]
struct AgentsView {
    csrf: String,
    members: Vec<MemberView>,
    invite: InviteInput,
    errors: Vec<FieldError>,
    /// A refused change, above the table.
    error: Option<String>,
}

async fn render(
    page: AdminPage,
    staff: &Staff<ManageStaff>,
    service: &StaffService,
    csrf: &Csrf,
    status: Status,
    invite: InviteInput,
    error: Option<String>,
) -> Result<Page, PageError> {
    let timezone = staff.tenant.timezone;
    let members = service
        .members(&staff.tenant)
        .await?
        .into_iter()
        .map(|member| MemberView {
            id: member.id,
            name: member.display_name(),
            joined: member.has_joined(),
            email: member.email.clone(),
            role: member.role.label(),
            status: if member.has_joined() {
                member.status.label()
            } else {
                "Invitation envoyée"
            },
            active: member.status == StaffStatus::Active,
            is_me: member.id == staff.member.id,
            last_login: member.last_login_at.map_or_else(
                || "Jamais".to_owned(),
                |at| crate::format::date_time(&at.with_timezone(&timezone)),
            ),
            roles: role_choices(Some(member.role)),
        })
        .collect();
    let errors = invite
        .email_error
        .iter()
        .map(|message| FieldError {
            field: "courriel",
            message: message.clone(),
        })
        .collect();
    let view = AgentsView {
        csrf: csrf.token().to_owned(),
        members,
        invite,
        errors,
        error,
    };
    staff_page(page, staff, csrf).render(status, "admin/agents", "Équipe", view)
}

#[get("/agents")]
async fn agents(
    page: AdminPage,
    staff: Staff<ManageStaff>,
    service: &State<StaffService>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let invite = InviteInput {
        roles: role_choices(Some(StaffRole::Agent)),
        ..InviteInput::default()
    };
    render(
        page.with_flash(flash),
        &staff,
        service,
        &csrf,
        Status::Ok,
        invite,
        None,
    )
    .await
}

#[derive(Debug, FromForm)]
struct InviteForm<'r> {
    email: &'r str,
    role: &'r str,
}

#[post("/agents/inviter", data = "<form>")]
async fn invite<'r>(
    page: AdminPage,
    staff: Staff<ManageStaff>,
    service: &State<StaffService>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'r, InviteForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, status) = input_of(form)?;
    let role = StaffRole::parse(form.role);
    let mut input = InviteInput {
        email: form.email.trim().to_owned(),
        roles: role_choices(role.or(Some(StaffRole::Agent))),
        ..InviteInput::default()
    };
    if let Some(status) = status {
        input.email_error = Some(refusal_message(status).to_owned());
        return Ok(Either::Left(
            render(page, &staff, service, &csrf, status, input, None).await?,
        ));
    }
    let Some(role) = role else {
        return Err(PageError::bad_request());
    };
    match service
        .invite(&staff.tenant, form.email, role, staff.actor(), &origin)
        .await?
    {
        Ok(_) => Ok(Either::Right(Flash::success(
            Redirect::to(PATH),
            format!(
                "Invitation envoyée à {} ({}). Le lien est valable {} heures.",
                form.email.trim(),
                role.label().to_lowercase(),
                crate::staff::INVITATION_VALIDITY_HOURS
            ),
        ))),
        Err(refused) => {
            input.email_error = Some(refused.message().to_owned());
            Ok(Either::Left(
                render(
                    page,
                    &staff,
                    service,
                    &csrf,
                    Status::UnprocessableEntity,
                    input,
                    None,
                )
                .await?,
            ))
        }
    }
}

/// After a change: back to the list with a confirmation, or the list with
/// why it was refused.
async fn after_change(
    page: AdminPage,
    staff: &Staff<ManageStaff>,
    service: &StaffService,
    csrf: &Csrf,
    outcome: Result<(), ChangeRefused>,
    done: String,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    match outcome {
        Ok(()) => Ok(Either::Right(Flash::success(Redirect::to(PATH), done))),
        Err(ChangeRefused::NotFound) => Err(PageError::not_found()),
        Err(refused) => {
            let invite = InviteInput {
                roles: role_choices(Some(StaffRole::Agent)),
                ..InviteInput::default()
            };
            Ok(Either::Left(
                render(
                    page,
                    staff,
                    service,
                    csrf,
                    Status::Conflict,
                    invite,
                    Some(refused.message().to_owned()),
                )
                .await?,
            ))
        }
    }
}

#[derive(Debug, FromForm)]
struct RoleForm<'r> {
    role: &'r str,
}

#[post("/agents/<id>/role", data = "<form>")]
async fn change_role<'r>(
    page: AdminPage,
    staff: Staff<ManageStaff>,
    service: &State<StaffService>,
    csrf: Csrf,
    origin: Origin,
    id: i32,
    form: CsrfForm<RoleForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let Some(role) = StaffRole::parse(form.role) else {
        return Err(PageError::bad_request());
    };
    let outcome = service
        .change_role(&staff.tenant, &staff.member, id, role, &origin)
        .await?;
    let done = format!("Rôle modifié : {}.", role.label().to_lowercase());
    after_change(page, &staff, service, &csrf, outcome, done).await
}

#[post("/agents/<id>/suspendre", data = "<form>")]
async fn suspend(
    page: AdminPage,
    staff: Staff<ManageStaff>,
    service: &State<StaffService>,
    csrf: Csrf,
    origin: Origin,
    id: i32,
    form: CsrfForm<Button>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let _ = form;
    let outcome = service
        .set_suspended(&staff.tenant, &staff.member, id, true, &origin)
        .await?;
    let done = "Membre suspendu : ses sessions sont fermées.".to_owned();
    after_change(page, &staff, service, &csrf, outcome, done).await
}

#[post("/agents/<id>/reactiver", data = "<form>")]
async fn reactivate(
    page: AdminPage,
    staff: Staff<ManageStaff>,
    service: &State<StaffService>,
    csrf: Csrf,
    origin: Origin,
    id: i32,
    form: CsrfForm<Button>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let _ = form;
    let outcome = service
        .set_suspended(&staff.tenant, &staff.member, id, false, &origin)
        .await?;
    let done = "Membre réactivé.".to_owned();
    after_change(page, &staff, service, &csrf, outcome, done).await
}
