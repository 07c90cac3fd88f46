//! The resident's way in: login, logout, activation, password change and
//! reset. Handlers only read the form, call the account service and render.

use rocket::Either;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes, uri};
use serde::Serialize;

use super::session::{
    close_previous_session, device_cookie, remove_session_cookie, safe_next, set_device_cookie,
    set_session_cookie,
};
use super::{AnyResident, Checked, Csrf, CsrfForm, PageError, TownPage, Visitor};
use crate::accounts::LinkPurpose;
use crate::accounts::{Accounts, FieldError, LinkProblem, LoginOutcome, PasswordChange};
use crate::audit::Origin;
use crate::franceconnect::FranceConnect;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, WebSettings, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![
        login_page,
        login,
        logout,
        activation_page,
        activate,
        resend_activation_page,
        resend_activation,
        change_password_page,
        change_password,
        forgot_password_page,
        forgot_password,
        reset_password_page,
        reset_password,
    ]
}

type PageResult = Result<Page, PageError>;
type PageOrRedirect = Result<Either<Page, Redirect>, PageError>;

/// The login form's state, for the home page and `/connexion`.
#[derive(Debug, Default, Serialize)]
pub struct LoginView {
    pub csrf: String,
    pub identifier: String,
    pub error: Option<String>,
    /// Offer to send the activation mail again.
    pub offer_activation: bool,
    pub next: Option<String>,
    /// The town offers "S'identifier avec FranceConnect".
    pub franceconnect: bool,
}

impl LoginView {
    pub fn new(page: &TownPage, csrf: &Csrf) -> Self {
        Self {
            csrf: csrf.token().to_owned(),
            franceconnect: FranceConnect::settings(&page.tenant).is_some(),
            ..Self::default()
        }
    }
}

#[get("/connexion?<suite>")]
fn login_page(
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    suite: Option<&str>,
    flash: Option<FlashMessage<'_>>,
) -> PageOrRedirect {
    if visitor.0.is_some() {
        return Ok(Either::Right(Redirect::to(
            safe_next(suite).unwrap_or_else(|| "/".to_owned()),
        )));
    }
    let view = LoginView {
        next: safe_next(suite),
        ..LoginView::new(&page, &csrf)
    };
    Ok(Either::Left(page.with_flash(flash).ok(
        "pages/login",
        "Connexion",
        view,
    )?))
}

#[derive(Debug, FromForm)]
struct LoginForm<'r> {
    identifier: &'r str,
    password: &'r str,
    next: Option<&'r str>,
}

// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/connexion", data = "<form>")]
async fn login<'r>(
    page: TownPage,
    accounts: &State<Accounts>,
    settings: &State<WebSettings>,
    csrf: Csrf,
    visitor: Visitor,
    origin: Origin,
    jar: &CookieJar<'_>,
    metrics: &State<crate::metrics::Metrics>,
    form: Checked<'r, LoginForm<'r>>,
) -> PageOrRedirect {
    let (form, status) = input_of(form)?;
    let mut view = LoginView {
        identifier: form.identifier.trim().to_owned(),
        next: safe_next(form.next),
        ..LoginView::new(&page, &csrf)
    };
    let refuse = |view: LoginView, status: Status| -> PageOrRedirect {
        Ok(Either::Left(page.render(
            status,
            "pages/login",
            "Connexion",
            view,
        )?))
    };
    if let Some(status) = status {
        view.error = Some(refusal_message(status).to_owned());
        return refuse(view, status);
    }
    let outcome = accounts
        .login(
            &page.tenant,
            form.identifier,
            form.password,
            device_cookie(jar, settings).as_deref(),
            &origin,
        )
        .await?;
    metrics.count_login(crate::metrics::LoginFace::Resident, login_result(&outcome));
    let session_token = match outcome {
        LoginOutcome::Success {
            session_token,
            device_cookie,
            ..
        } => {
            set_device_cookie(jar, settings, device_cookie);
            session_token
        }
        refused => {
            let (status, message, offer_activation) = login_refusal(&refused);
            view.error = Some(message);
            view.offer_activation = offer_activation;
            return refuse(view, status);
        }
    };
    close_previous_session(accounts, &visitor, &origin).await?;
    set_session_cookie(jar, settings, session_token);
    let next = view.next.unwrap_or_else(|| "/".to_owned());
    Ok(Either::Right(Redirect::to(next)))
}

/// A login's outcome as `/metrics` counts it.
pub(super) fn login_result(outcome: &LoginOutcome) -> crate::metrics::LoginResult {
    use crate::metrics::LoginResult;
    match outcome {
        LoginOutcome::Success { .. } => LoginResult::Success,
        LoginOutcome::Refused => LoginResult::Refused,
        LoginOutcome::Throttled(_) => LoginResult::Throttled,
        LoginOutcome::NotActivated
        | LoginOutcome::Disabled
        | LoginOutcome::TemporaryPasswordExpired => LoginResult::Blocked,
    }
}

/// What to tell a resident whose login did not open a session: the status,
/// the French message, and whether to offer a new activation mail.
pub(super) fn login_refusal(outcome: &LoginOutcome) -> (Status, String, bool) {
    match outcome {
        LoginOutcome::Success { .. } | LoginOutcome::Refused => (
            Status::Unauthorized,
            "Identifiant ou mot de passe incorrect.".to_owned(),
            false,
        ),
        LoginOutcome::Throttled(seconds) => (
            Status::TooManyRequests,
            format!(
                "Trop de tentatives de connexion. Patientez {seconds} seconde(s) avant de réessayer."
            ),
            false,
        ),
        LoginOutcome::NotActivated => (
            Status::Forbidden,
            "Votre espace personnel n'est pas encore activé : cliquez sur le lien du courriel \
             d'activation envoyé par votre mairie."
                .to_owned(),
            true,
        ),
        LoginOutcome::Disabled => (
            Status::Forbidden,
            "Votre espace personnel est désactivé. Pour en savoir plus, contactez votre mairie."
                .to_owned(),
            false,
        ),
        LoginOutcome::TemporaryPasswordExpired => (
            Status::Forbidden,
            "Votre mot de passe temporaire a expiré. Choisissez-en un nouveau avec « J'ai oublié \
             mon mot de passe »."
                .to_owned(),
            false,
        ),
    }
}

pub(super) const LOGGED_OUT: &str = "Vous êtes déconnecté(e) de votre espace personnel.";

/// Closes the session. A session opened through FranceConnect also ends at
/// the provider: the browser goes to its `/session/end`, which sends it back
/// to `/franceconnect/deconnexion`.
// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/deconnexion", data = "<_form>")]
async fn logout(
    resident: Option<AnyResident>,
    accounts: &State<Accounts>,
    franceconnect: &State<FranceConnect>,
    settings: &State<WebSettings>,
    origin: Origin,
    jar: &CookieJar<'_>,
    _form: CsrfForm<Button>,
) -> Result<Either<Flash<Redirect>, Redirect>, PageError> {
    let to_login = || Redirect::to(uri!(login_page(suite = Option::<&str>::None)));
    let Some(resident) = resident else {
        remove_session_cookie(jar, settings);
        return Ok(Either::Left(Flash::success(to_login(), LOGGED_OUT)));
    };
    accounts
        .logout(
            &resident.tenant,
            &resident.token,
            resident.account.id,
            &origin,
        )
        .await?;
    remove_session_cookie(jar, settings);
    let Some(id_token) = resident.session.franceconnect_id_token.as_deref() else {
        return Ok(Either::Left(Flash::success(to_login(), LOGGED_OUT)));
    };
    let pending = crate::franceconnect::LogoutCookie::new(&resident.tenant.slug);
    let (Some(sealed), Ok(provider_logout)) = (
        pending.seal(&settings.secret_key),
        franceconnect
            .logout_url(&resident.tenant, id_token, &pending.state)
            .await,
    ) else {
        tracing::warn!(town = %resident.tenant.slug, "cannot log out of FranceConnect");
        return Ok(Either::Left(Flash::success(
            to_login(),
            "Vous êtes déconnecté(e) de votre espace personnel. FranceConnect n'a pas pu être \
             joint : fermez votre navigateur pour terminer aussi votre session FranceConnect.",
        )));
    };
    jar.add(settings.cookie(crate::franceconnect::seal::LOGOUT_COOKIE, sealed));
    // No flash message here: browsers do not send it back through the
    // provider's redirection; `/franceconnect/deconnexion` says it.
    Ok(Either::Right(Redirect::to(provider_logout)))
}

#[derive(Debug, Default, Serialize)]
struct ActivationView {
    csrf: String,
    token: String,
    /// The link's problem, when it cannot be used.
    problem: Option<&'static str>,
    activated: bool,
    identifier: String,
}

/// The two kinds of links sent by mail.
#[derive(Debug, Clone, Copy)]
enum LinkKind {
    Activation,
    Reset,
}

fn describe_link_problem(problem: LinkProblem, kind: LinkKind) -> &'static str {
    match (problem, kind) {
        (LinkProblem::Unknown, LinkKind::Activation) => {
            "Ce lien d'activation n'est pas valide. Vérifiez que l'adresse a été copiée en entier, \
             ou demandez un nouveau courriel d'activation."
        }
        (LinkProblem::Used, LinkKind::Activation) => {
            "Ce lien d'activation a déjà été utilisé. Si votre espace est activé, connectez-vous \
             depuis l'accueil ; sinon, demandez un nouveau courriel d'activation."
        }
        (LinkProblem::Expired, LinkKind::Activation) => {
            "Ce lien d'activation a expiré. Demandez un nouveau courriel d'activation : il \
             contiendra un nouveau lien et un nouveau mot de passe temporaire."
        }
        (LinkProblem::Unknown, LinkKind::Reset) => {
            "Ce lien de réinitialisation n'est pas valide. Vérifiez que l'adresse a été copiée en \
             entier, ou faites une nouvelle demande."
        }
        (LinkProblem::Used, LinkKind::Reset) => {
            "Ce lien de réinitialisation a déjà été utilisé. Faites une nouvelle demande si \
             nécessaire."
        }
        (LinkProblem::Expired, LinkKind::Reset) => {
            "Ce lien de réinitialisation a expiré. Faites une nouvelle demande : le lien reçu sera \
             valable une heure."
        }
    }
}

fn link_status(problem: LinkProblem) -> Status {
    match problem {
        LinkProblem::Unknown => Status::NotFound,
        LinkProblem::Used | LinkProblem::Expired => Status::Gone,
    }
}

const ACTIVATION_TITLE: &str = "Activation de votre espace personnel";

/// The link of the activation mail. It only shows a button: mail scanners
/// follow links, and a GET must not change anything.
#[get("/activation/<token>")]
async fn activation_page(
    page: TownPage,
    accounts: &State<Accounts>,
    csrf: Csrf,
    token: &str,
) -> PageResult {
    let checked = accounts
        .check_link(&page.tenant, LinkPurpose::Activation, token)
        .await?;
    let mut view = ActivationView {
        csrf: csrf.token().to_owned(),
        token: token.to_owned(),
        ..ActivationView::default()
    };
    match checked {
        Ok(owner) => {
            view.identifier = owner.identifier;
            page.ok("pages/activation", ACTIVATION_TITLE, view)
        }
        Err(problem) => {
            view.problem = Some(describe_link_problem(problem, LinkKind::Activation));
            page.render(
                link_status(problem),
                "pages/activation",
                ACTIVATION_TITLE,
                view,
            )
        }
    }
}

#[post("/activation/<token>", data = "<form>")]
async fn activate(
    page: TownPage,
    accounts: &State<Accounts>,
    csrf: Csrf,
    origin: Origin,
    token: &str,
    form: Checked<'_, Button>,
) -> PageResult {
    let mut view = ActivationView {
        csrf: csrf.token().to_owned(),
        token: token.to_owned(),
        ..ActivationView::default()
    };
    if let Err(refused) = form {
        let (_, status) = refused.stale_input()?;
        view.problem = Some(refusal_message(status));
        return page.render(status, "pages/activation", ACTIVATION_TITLE, view);
    }
    match accounts.activate(&page.tenant, token, &origin).await? {
        Ok(owner) => {
            view.activated = true;
            view.identifier = owner.identifier;
            page.ok("pages/activation", ACTIVATION_TITLE, view)
        }
        Err(problem) => {
            view.problem = Some(describe_link_problem(problem, LinkKind::Activation));
            page.render(
                link_status(problem),
                "pages/activation",
                ACTIVATION_TITLE,
                view,
            )
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct EmailRequestView {
    csrf: String,
    email: String,
    error: Option<&'static str>,
    sent: bool,
}

const RESEND_TITLE: &str = "Recevoir un nouveau courriel d'activation";

#[get("/activation")]
fn resend_activation_page(page: TownPage, csrf: Csrf) -> PageResult {
    let view = EmailRequestView {
        csrf: csrf.token().to_owned(),
        ..EmailRequestView::default()
    };
    page.ok("pages/activation_resend", RESEND_TITLE, view)
}

#[derive(Debug, FromForm)]
struct EmailForm<'r> {
    email: &'r str,
}

/// Always the same answer: whether the address has an account is not told.
#[post("/activation", data = "<form>")]
async fn resend_activation<'r>(
    page: TownPage,
    accounts: &State<Accounts>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'r, EmailForm<'r>>,
) -> PageResult {
    let (form, stale) = input_of(form)?;
    let mut view = EmailRequestView {
        csrf: csrf.token().to_owned(),
        email: form.email.trim().to_owned(),
        ..EmailRequestView::default()
    };
    if let Some(status) = stale {
        view.error = Some(refusal_message(status));
        return page.render(status, "pages/activation_resend", RESEND_TITLE, view);
    }
    if !crate::tenancy::is_plausible_email(&view.email) {
        view.error =
            Some("Saisissez une adresse électronique complète, par exemple nom@exemple.fr.");
        return page.render(
            Status::UnprocessableEntity,
            "pages/activation_resend",
            RESEND_TITLE,
            view,
        );
    }
    accounts
        .resend_activation(&page.tenant, &view.email, &origin)
        .await;
    view.sent = true;
    page.ok("pages/activation_resend", RESEND_TITLE, view)
}

/// The password form's state: the seed's "Modification de vos identifiants".
#[derive(Debug, Default, Serialize)]
struct PasswordView {
    csrf: String,
    identifier: String,
    /// The account still has the password the town generated.
    temporary: bool,
    rule: String,
    checks: Vec<crate::accounts::PasswordCheck>,
    blocklist_note: Option<&'static str>,
    errors: Vec<FieldError>,
    password_errors: Vec<String>,
    confirmation_errors: Vec<String>,
    current_errors: Vec<String>,
    token: String,
    problem: Option<&'static str>,
    done: bool,
}

impl PasswordView {
    fn new(page: &TownPage, csrf: &Csrf) -> Self {
        let policy = crate::accounts::PasswordPolicy::of(&page.tenant);
        Self {
            csrf: csrf.token().to_owned(),
            rule: policy.describe(),
            checks: policy.checklist(),
            blocklist_note: policy.blocklist_note(),
            ..Self::default()
        }
    }

    fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        for error in &errors {
            let list = match error.field {
                "confirmation" => &mut self.confirmation_errors,
                "current" => &mut self.current_errors,
                _ => &mut self.password_errors,
            };
            list.push(error.message.clone());
        }
        self.errors = errors;
        self
    }
}

const CHANGE_TITLE: &str = "Modification de vos identifiants";

#[get("/mot-de-passe/modifier")]
fn change_password_page(page: TownPage, resident: AnyResident, csrf: Csrf) -> PageResult {
    let mut view = PasswordView::new(&page, &csrf);
    view.identifier = resident.account.identifier.clone();
    view.temporary = resident.account.password_is_temporary;
    page.with_session(super::session_name(&resident), csrf.token())
        .ok("pages/password_change", CHANGE_TITLE, view)
}

#[derive(Debug, FromForm)]
struct ChangePasswordForm<'r> {
    current: Option<&'r str>,
    password: &'r str,
    confirmation: &'r str,
}

// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/mot-de-passe/modifier", data = "<form>")]
async fn change_password<'r>(
    page: TownPage,
    resident: AnyResident,
    accounts: &State<Accounts>,
    settings: &State<WebSettings>,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    form: Checked<'r, ChangePasswordForm<'r>>,
) -> PageOrRedirect {
    let page = page.with_session(super::session_name(&resident), csrf.token());
    let mut view = PasswordView::new(&page, &csrf);
    view.identifier = resident.account.identifier.clone();
    view.temporary = resident.account.password_is_temporary;
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(refused) => {
            // Passwords are never shown again: only the message.
            let (_, status) = refused.stale_input()?;
            let view = view.with_errors(vec![FieldError {
                field: "password",
                message: refusal_message(status).to_owned(),
            }]);
            return Ok(Either::Left(page.render(
                status,
                "pages/password_change",
                CHANGE_TITLE,
                view,
            )?));
        }
    };
    let errors = accounts
        .change_password(
            &page.tenant,
            &resident.account,
            resident.session.id,
            PasswordChange {
                current: form.current,
                new: form.password,
                confirmation: form.confirmation,
            },
            &origin,
        )
        .await?;
    if errors.is_empty() {
        // The change revoked every trusted browser but this one.
        set_device_cookie(
            jar,
            settings,
            accounts.trust_device(&page.tenant, resident.account.id),
        );
        return Ok(Either::Right(Redirect::to("/")));
    }
    let view = view.with_errors(errors);
    Ok(Either::Left(page.render(
        Status::UnprocessableEntity,
        "pages/password_change",
        CHANGE_TITLE,
        view,
    )?))
}

#[derive(Debug, Default, Serialize)]
struct ForgotView {
    csrf: String,
    login: String,
    error: Option<&'static str>,
    sent: bool,
    valid_minutes: u32,
}

const FORGOT_TITLE: &str = "Mot de passe oublié";

#[get("/mot-de-passe/oublie")]
fn forgot_password_page(page: TownPage, csrf: Csrf) -> PageResult {
    let view = ForgotView {
        csrf: csrf.token().to_owned(),
        valid_minutes: crate::accounts::AccountSettings::of(&page.tenant)
            .password_reset_validity_minutes,
        ..ForgotView::default()
    };
    page.ok("pages/password_forgot", FORGOT_TITLE, view)
}

#[derive(Debug, FromForm)]
struct ForgotForm<'r> {
    login: &'r str,
}

/// Always the same answer: whether the account exists is not told.
#[post("/mot-de-passe/oublie", data = "<form>")]
async fn forgot_password<'r>(
    page: TownPage,
    accounts: &State<Accounts>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'r, ForgotForm<'r>>,
) -> PageResult {
    let (form, stale) = input_of(form)?;
    let mut view = ForgotView {
        csrf: csrf.token().to_owned(),
        login: form.login.trim().to_owned(),
        valid_minutes: crate::accounts::AccountSettings::of(&page.tenant)
            .password_reset_validity_minutes,
        ..ForgotView::default()
    };
    if let Some(status) = stale {
        view.error = Some(refusal_message(status));
        return page.render(status, "pages/password_forgot", FORGOT_TITLE, view);
    }
    if view.login.is_empty() {
        view.error = Some("Saisissez votre identifiant ou votre adresse électronique.");
        return page.render(
            Status::UnprocessableEntity,
            "pages/password_forgot",
            FORGOT_TITLE,
            view,
        );
    }
    accounts
        .request_reset(&page.tenant, &view.login, &origin)
        .await;
    view.sent = true;
    page.ok("pages/password_forgot", FORGOT_TITLE, view)
}

const RESET_TITLE: &str = "Choisir un nouveau mot de passe";

#[get("/mot-de-passe/reinitialiser/<token>")]
async fn reset_password_page(
    page: TownPage,
    accounts: &State<Accounts>,
    csrf: Csrf,
    token: &str,
) -> PageResult {
    let mut view = PasswordView::new(&page, &csrf);
    view.token = token.to_owned();
    match accounts
        .check_link(&page.tenant, LinkPurpose::PasswordReset, token)
        .await?
    {
        Ok(owner) => {
            view.identifier = owner.identifier;
            page.ok("pages/password_reset", RESET_TITLE, view)
        }
        Err(problem) => {
            view.problem = Some(describe_link_problem(problem, LinkKind::Reset));
            page.render(
                link_status(problem),
                "pages/password_reset",
                RESET_TITLE,
                view,
            )
        }
    }
}

#[derive(Debug, FromForm)]
struct ResetForm<'r> {
    password: &'r str,
    confirmation: &'r str,
}

#[post("/mot-de-passe/reinitialiser/<token>", data = "<form>")]
async fn reset_password<'r>(
    page: TownPage,
    accounts: &State<Accounts>,
    csrf: Csrf,
    origin: Origin,
    token: &str,
    form: Checked<'r, ResetForm<'r>>,
) -> PageResult {
    let mut view = PasswordView::new(&page, &csrf);
    view.token = token.to_owned();
    let form = match form {
        Ok(form) => form.into_inner(),
        Err(refused) => {
            let (_, status) = refused.stale_input()?;
            let view = view.with_errors(vec![FieldError {
                field: "password",
                message: refusal_message(status).to_owned(),
            }]);
            return page.render(status, "pages/password_reset", RESET_TITLE, view);
        }
    };
    match accounts
        .reset_password(
            &page.tenant,
            token,
            form.password,
            form.confirmation,
            &origin,
        )
        .await?
    {
        Ok(errors) if errors.is_empty() => {
            view.done = true;
            page.ok("pages/password_reset", RESET_TITLE, view)
        }
        Ok(errors) => {
            if let Ok(owner) = accounts
                .check_link(&page.tenant, LinkPurpose::PasswordReset, token)
                .await?
            {
                view.identifier = owner.identifier;
            }
            let view = view.with_errors(errors);
            page.render(
                Status::UnprocessableEntity,
                "pages/password_reset",
                RESET_TITLE,
                view,
            )
        }
        Err(problem) => {
            view.problem = Some(describe_link_problem(problem, LinkKind::Reset));
            page.render(
                link_status(problem),
                "pages/password_reset",
                RESET_TITLE,
                view,
            )
        }
    }
}
