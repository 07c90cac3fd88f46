//! The staff's way in: the password, then the second factor (a TOTP code or
//! a recovery code) — or, for a member who just joined, the TOTP enrolment
//! and the recovery codes shown once; invitations (choosing a name and a
//! password); logout. Handlers read the form, call the staff service,
//! render.

use rocket::Either;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes};
use serde::Serialize;

use super::session::{AnyStaffSession, remove_session_cookie, set_session_cookie};
use super::{AdminPage, Checked, Csrf, CsrfForm, FieldError, Staffs, next_page, with_suite};
use crate::accounts::PasswordPolicy;
use crate::audit::Origin;
use crate::staff::{
    AcceptOutcome, CodeOutcome, EnrolOutcome, InvitationProblem, Joining, PasswordOutcome,
    RECOVERY_CODES, StaffService,
};
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, WebSettings, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![
        login_page,
        login,
        code_page,
        code,
        enrol,
        logout,
        invitation_page,
        accept_invitation,
    ]
}

type PageResult = Result<Page, PageError>;
type PageOrRedirect = Result<Either<Page, Redirect>, PageError>;

const WRONG_PASSWORD: &str = "Adresse électronique ou mot de passe incorrect.";
const WRONG_CODE: &str = "Code incorrect ou déjà utilisé. Saisissez le code affiché maintenant \
     par votre application, ou un code de secours.";
const LOGGED_IN: &str = "Vous êtes connecté(e) à l'espace agents.";
const LOGGED_OUT: &str = "Vous êtes déconnecté(e) de l'espace agents.";

fn throttled(seconds: i64) -> String {
    format!("Trop de tentatives. Patientez {seconds} seconde(s) avant de réessayer.")
}

#[derive(Debug, Default, Serialize)]
struct LoginView {
    csrf: String,
    email: String,
    error: Option<String>,
    next: Option<String>,
}

#[get("/connexion?<suite>")]
async fn login_page(
    page: AdminPage,
    csrf: Csrf,
    suite: Option<&str>,
    flash: Option<FlashMessage<'_>>,
    current: CurrentStaff,
) -> PageOrRedirect {
    if current.0.as_ref().is_some_and(|s| s.found.is_verified()) {
        return Ok(Either::Right(Redirect::to(next_page(suite))));
    }
    let view = LoginView {
        csrf: csrf.token().to_owned(),
        next: suite.map(|suite| next_page(Some(suite))),
        ..LoginView::default()
    };
    Ok(Either::Left(page.with_flash(flash).ok(
        "admin/login",
        "Connexion à l'espace agents",
        view,
    )?))
}

#[derive(Debug, FromForm)]
struct LoginForm<'r> {
    email: &'r str,
    password: &'r str,
    next: Option<&'r str>,
}

// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/connexion", data = "<form>")]
async fn login<'r>(
    page: AdminPage,
    staff: &State<StaffService>,
    settings: &State<WebSettings>,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    current: CurrentStaff,
    metrics: &State<crate::metrics::Metrics>,
    form: Checked<'r, LoginForm<'r>>,
) -> PageOrRedirect {
    let (form, status) = input_of(form)?;
    let next = next_page(form.next);
    let mut view = LoginView {
        csrf: csrf.token().to_owned(),
        email: form.email.trim().to_owned(),
        next: Some(next.clone()),
        ..LoginView::default()
    };
    let refuse = |view: LoginView, status: Status| -> PageOrRedirect {
        Ok(Either::Left(page.render(
            status,
            "admin/login",
            "Connexion à l'espace agents",
            view,
        )?))
    };
    if let Some(status) = status {
        view.error = Some(refusal_message(status).to_owned());
        return refuse(view, status);
    }
    let outcome = staff
        .check_password(&page.tenant, form.email, form.password, &origin)
        .await?;
    // The password step's outcome (the code is asked next).
    metrics.count_login(
        crate::metrics::LoginFace::Staff,
        match &outcome {
            PasswordOutcome::CodeStep { .. } => crate::metrics::LoginResult::Success,
            PasswordOutcome::Refused => crate::metrics::LoginResult::Refused,
            PasswordOutcome::Throttled(_) => crate::metrics::LoginResult::Throttled,
        },
    );
    let token = match outcome {
        PasswordOutcome::CodeStep { token } => token,
        PasswordOutcome::Refused => {
            view.error = Some(WRONG_PASSWORD.to_owned());
            return refuse(view, Status::Unauthorized);
        }
        PasswordOutcome::Throttled(seconds) => {
            view.error = Some(throttled(seconds));
            return refuse(view, Status::TooManyRequests);
        }
    };
    // A new session id at each login: the previous one is closed.
    if let Some(previous) = &current.0 {
        staff.logout(&page.tenant, &previous.found, &origin).await?;
    }
    set_session_cookie(jar, settings, token);
    Ok(Either::Right(Redirect::to(with_suite(Staffs::CODE, &next))))
}

/// The staff session, if any (none is not a refusal).
struct CurrentStaff(Option<AnyStaffSession>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for CurrentStaff {
    type Error = ();

    async fn from_request(request: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        match AnyStaffSession::of(request).await {
            Ok(session) => rocket::request::Outcome::Success(CurrentStaff(session)),
            Err(status) => rocket::request::Outcome::Error((status, ())),
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct CodeView {
    csrf: String,
    error: Option<String>,
    next: String,
    email: String,
}

#[derive(Debug, Serialize)]
struct EnrolView {
    csrf: String,
    error: Option<String>,
    next: String,
    email: String,
    secret: String,
    qr_svg: String,
}

async fn enrol_page(
    page: &AdminPage,
    staff: &StaffService,
    session: &AnyStaffSession,
    csrf: &Csrf,
    next: String,
    error: Option<String>,
    status: Status,
) -> PageResult {
    let enrolment = staff.enrolment(&page.tenant, &session.found.member).await?;
    let view = EnrolView {
        csrf: csrf.token().to_owned(),
        error,
        next,
        email: session.found.member.email.clone(),
        secret: enrolment.secret_text,
        qr_svg: enrolment.qr_svg,
    };
    page.render(
        status,
        "admin/enrol",
        "Activer la double authentification",
        view,
    )
}

#[get("/connexion/code?<suite>")]
async fn code_page(
    page: AdminPage,
    staff: &State<StaffService>,
    session: AnyStaffSession,
    csrf: Csrf,
    suite: Option<&str>,
) -> PageOrRedirect {
    let next = next_page(suite);
    if session.found.is_verified() {
        return Ok(Either::Right(Redirect::to(next)));
    }
    if session.found.member.totp_enrolled_at.is_none() {
        return Ok(Either::Left(
            enrol_page(&page, staff, &session, &csrf, next, None, Status::Ok).await?,
        ));
    }
    let view = CodeView {
        csrf: csrf.token().to_owned(),
        next,
        email: session.found.member.email.clone(),
        ..CodeView::default()
    };
    Ok(Either::Left(page.ok(
        "admin/code",
        "Code de vérification",
        view,
    )?))
}

#[derive(Debug, FromForm)]
struct CodeForm<'r> {
    code: &'r str,
    next: Option<&'r str>,
}

// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/connexion/code", data = "<form>")]
async fn code<'r>(
    page: AdminPage,
    staff: &State<StaffService>,
    settings: &State<WebSettings>,
    session: AnyStaffSession,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    form: Checked<'r, CodeForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, status) = input_of(form)?;
    let next = next_page(form.next);
    let mut view = CodeView {
        csrf: csrf.token().to_owned(),
        next: next.clone(),
        email: session.found.member.email.clone(),
        ..CodeView::default()
    };
    let refuse =
        |view: CodeView, status: Status| -> Result<Either<Page, Flash<Redirect>>, PageError> {
            Ok(Either::Left(page.render(
                status,
                "admin/code",
                "Code de vérification",
                view,
            )?))
        };
    if let Some(status) = status {
        view.error = Some(refusal_message(status).to_owned());
        return refuse(view, status);
    }
    if session.found.is_verified() {
        return Ok(Either::Right(Flash::success(Redirect::to(next), LOGGED_IN)));
    }
    match staff
        .second_factor(&page.tenant, &session.found, form.code, &origin)
        .await?
    {
        CodeOutcome::Verified {
            token,
            recovery_codes_left,
        } => {
            set_session_cookie(jar, settings, token);
            let message = match recovery_codes_left {
                Some(left) => format!(
                    "Vous vous êtes connecté(e) avec un code de secours. Il vous en reste {left} \
                     sur {RECOVERY_CODES}."
                ),
                None => LOGGED_IN.to_owned(),
            };
            Ok(Either::Right(Flash::success(Redirect::to(next), message)))
        }
        CodeOutcome::Refused => {
            view.error = Some(WRONG_CODE.to_owned());
            refuse(view, Status::Unauthorized)
        }
        CodeOutcome::Throttled(seconds) => {
            view.error = Some(throttled(seconds));
            refuse(view, Status::TooManyRequests)
        }
    }
}

#[derive(Debug, Serialize)]
struct RecoveryCodesView {
    codes: Vec<String>,
    next: String,
}

// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/connexion/enrolement", data = "<form>")]
async fn enrol<'r>(
    page: AdminPage,
    staff: &State<StaffService>,
    settings: &State<WebSettings>,
    session: AnyStaffSession,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    form: Checked<'r, CodeForm<'r>>,
) -> PageOrRedirect {
    let (form, status) = input_of(form)?;
    let next = next_page(form.next);
    if let Some(status) = status {
        let error = Some(refusal_message(status).to_owned());
        return Ok(Either::Left(
            enrol_page(&page, staff, &session, &csrf, next, error, status).await?,
        ));
    }
    if session.found.member.totp_enrolled_at.is_some() {
        return Ok(Either::Right(Redirect::to(with_suite(Staffs::CODE, &next))));
    }
    match staff
        .confirm_enrolment(&page.tenant, &session.found, form.code, &origin)
        .await?
    {
        EnrolOutcome::Done {
            token,
            recovery_codes,
        } => {
            set_session_cookie(jar, settings, token);
            // Shown this once; the page is not cached (no-store).
            let view = RecoveryCodesView {
                codes: recovery_codes,
                next,
            };
            Ok(Either::Left(page.ok(
                "admin/recovery_codes",
                "Vos codes de secours",
                view,
            )?))
        }
        EnrolOutcome::WrongCode => {
            let error = Some(WRONG_CODE.to_owned());
            Ok(Either::Left(
                enrol_page(
                    &page,
                    staff,
                    &session,
                    &csrf,
                    next,
                    error,
                    Status::Unauthorized,
                )
                .await?,
            ))
        }
        EnrolOutcome::Throttled(seconds) => Ok(Either::Left(
            enrol_page(
                &page,
                staff,
                &session,
                &csrf,
                next,
                Some(throttled(seconds)),
                Status::TooManyRequests,
            )
            .await?,
        )),
    }
}

#[post("/deconnexion", data = "<form>")]
async fn logout(
    page: AdminPage,
    staff: &State<StaffService>,
    settings: &State<WebSettings>,
    session: AnyStaffSession,
    origin: Origin,
    jar: &CookieJar<'_>,
    form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let _ = form;
    staff.logout(&page.tenant, &session.found, &origin).await?;
    remove_session_cookie(jar, settings);
    Ok(Flash::success(Redirect::to(Staffs::LOGIN), LOGGED_OUT))
}

#[derive(Debug, Default, Serialize)]
struct InvitationView {
    csrf: String,
    token: String,
    email: String,
    role: &'static str,
    first_name: String,
    last_name: String,
    errors: Vec<FieldError>,
    first_name_error: Option<String>,
    last_name_error: Option<String>,
    password_errors: Vec<String>,
    confirmation_errors: Vec<String>,
    rule: String,
    checks: Vec<crate::accounts::PasswordCheck>,
    blocklist_note: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct ProblemView {
    message: &'static str,
}

fn problem_page(page: &AdminPage, problem: InvitationProblem) -> PageResult {
    let status = match problem {
        InvitationProblem::Unknown => Status::NotFound,
        InvitationProblem::Expired | InvitationProblem::Used => Status::Gone,
    };
    page.render(
        status,
        "admin/invitation_problem",
        "Invitation",
        ProblemView {
            message: problem.message(),
        },
    )
}

fn invitation_view(page: &AdminPage, csrf: &Csrf, token: &str) -> InvitationView {
    let policy = PasswordPolicy::of(&page.tenant);
    InvitationView {
        csrf: csrf.token().to_owned(),
        token: token.to_owned(),
        rule: policy.describe(),
        checks: policy.checklist(),
        blocklist_note: policy.blocklist_note(),
        ..InvitationView::default()
    }
}

#[get("/invitation/<token>")]
async fn invitation_page(
    page: AdminPage,
    staff: &State<StaffService>,
    csrf: Csrf,
    token: &str,
) -> PageResult {
    let invitation = match staff.invitation(&page.tenant, token).await? {
        Ok(invitation) => invitation,
        Err(problem) => return problem_page(&page, problem),
    };
    let view = InvitationView {
        email: invitation.email,
        role: invitation.role.label(),
        first_name: invitation.first_name,
        last_name: invitation.last_name,
        ..invitation_view(&page, &csrf, token)
    };
    page.ok("admin/invitation", "Rejoindre l'équipe", view)
}

#[derive(Debug, FromForm)]
struct JoinForm<'r> {
    first_name: &'r str,
    last_name: &'r str,
    password: &'r str,
    confirmation: &'r str,
}

// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/invitation/<token>", data = "<form>")]
async fn accept_invitation<'r>(
    page: AdminPage,
    staff: &State<StaffService>,
    settings: &State<WebSettings>,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    token: &str,
    form: Checked<'r, JoinForm<'r>>,
) -> PageOrRedirect {
    let (form, status) = input_of(form)?;
    let invitation = match staff.invitation(&page.tenant, token).await? {
        Ok(invitation) => invitation,
        Err(problem) => return Ok(Either::Left(problem_page(&page, problem)?)),
    };
    let mut view = InvitationView {
        email: invitation.email,
        role: invitation.role.label(),
        first_name: form.first_name.trim().to_owned(),
        last_name: form.last_name.trim().to_owned(),
        ..invitation_view(&page, &csrf, token)
    };
    if let Some(status) = status {
        view.errors = vec![FieldError {
            field: "prenom",
            message: refusal_message(status).to_owned(),
        }];
        return Ok(Either::Left(page.render(
            status,
            "admin/invitation",
            "Rejoindre l'équipe",
            view,
        )?));
    }
    let joining = Joining {
        first_name: form.first_name.to_owned(),
        last_name: form.last_name.to_owned(),
        password: form.password.to_owned(),
        confirmation: form.confirmation.to_owned(),
    };
    match staff
        .accept_invitation(&page.tenant, token, &joining, &origin)
        .await?
    {
        AcceptOutcome::Joined { token } => {
            set_session_cookie(jar, settings, token);
            Ok(Either::Right(Redirect::to(Staffs::CODE)))
        }
        AcceptOutcome::Problem(problem) => Ok(Either::Left(problem_page(&page, problem)?)),
        AcceptOutcome::Invalid(errors) => {
            for error in &errors {
                match error.field {
                    "prenom" => view.first_name_error = Some(error.message.clone()),
                    "nom" => view.last_name_error = Some(error.message.clone()),
                    "mot-de-passe" => view.password_errors.push(error.message.clone()),
                    _ => view.confirmation_errors.push(error.message.clone()),
                }
            }
            view.errors = errors.into_iter().map(FieldError::from).collect();
            Ok(Either::Left(page.render(
                Status::UnprocessableEntity,
                "admin/invitation",
                "Rejoindre l'équipe",
                view,
            )?))
        }
    }
}
