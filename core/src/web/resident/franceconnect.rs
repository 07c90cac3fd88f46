//! FranceConnect pages: the way to the provider and back, the first-time
//! link (or account creation, where the town allows it), the resident's
//! "Mon compte FranceConnect" page, and the return from the provider's
//! logout. Handlers read cookies and forms; the FranceConnect and account
//! services do the work.

use rocket::Either;
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes};
use serde::Serialize;

use super::account::{LOGGED_OUT, LoginView, login_refusal};
use super::session::{
    close_previous_session, device_cookie, remove_session_cookie, safe_next, set_device_cookie,
    set_session_cookie,
};
use super::{
    AnyResident, Checked, Csrf, CsrfForm, PageError, Resident, TownPage, Visitor, resident_page,
};
use crate::accounts::{Accounts, LoginOutcome, NewAccountError};
use crate::audit::Origin;
use crate::franceconnect::seal::{FLOW_COOKIE, LOGOUT_COOKIE, PENDING_COOKIE};
use crate::franceconnect::{
    CallbackAnswer, CallbackError, FlowCookie, FlowIntent, FranceConnect, FranceConnectError,
    LinkOutcome, LogoutCookie, PendingLink, VerifiedIdentity,
};
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, WebSettings, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![
        start,
        start_link,
        callback,
        link_page,
        link,
        create_account,
        account_page,
        unlink,
        logged_out,
    ]
}

type PageOrRedirect = Result<Either<Page, Redirect>, PageError>;

const ERROR_TITLE: &str = "Connexion avec FranceConnect";
const LINK_TITLE: &str = "Lier votre identité FranceConnect";
const ACCOUNT_TITLE: &str = "Mon compte FranceConnect";
const NOTHING_OPENED: &str = "Aucune connexion n'a été ouverte. Vous pouvez réessayer, ou vous connecter avec votre identifiant et votre mot de passe.";

/// The French page of a failed FranceConnect step.
#[derive(Debug, Serialize)]
struct ErrorView {
    message: String,
    detail: Option<String>,
}

fn error_page(
    page: &TownPage,
    status: Status,
    message: &str,
    detail: Option<String>,
) -> PageOrRedirect {
    error_page_only(page, status, message, detail).map(Either::Left)
}

fn error_page_only(
    page: &TownPage,
    status: Status,
    message: &str,
    detail: Option<String>,
) -> Result<Page, PageError> {
    let view = ErrorView {
        message: message.to_owned(),
        detail,
    };
    page.render(status, "pages/franceconnect_error", ERROR_TITLE, view)
}

/// Logs what went wrong, and says it in French.
fn failure_page(page: &TownPage, error: &FranceConnectError) -> PageOrRedirect {
    tracing::warn!(town = %page.tenant.slug, %error, "FranceConnect failed");
    let (status, message) = match error {
        FranceConnectError::Disabled => (
            Status::NotFound,
            "Votre commune ne propose pas la connexion avec FranceConnect.",
        ),
        FranceConnectError::Unreachable(_) | FranceConnectError::MissingSecret(_) => (
            Status::ServiceUnavailable,
            "FranceConnect est momentanément indisponible.",
        ),
        FranceConnectError::Provider { .. } | FranceConnectError::Protocol(_) => (
            Status::BadGateway,
            "FranceConnect n'a pas pu confirmer votre identité.",
        ),
        FranceConnectError::BadToken(_) => (
            Status::Unauthorized,
            "La réponse de FranceConnect n'a pas pu être vérifiée : elle n'est pas signée \
             comme elle le devrait, ou ne correspond pas à votre demande.",
        ),
    };
    error_page(page, status, message, Some(NOTHING_OPENED.to_owned()))
}

/// Sets the flow cookie and sends the browser to the provider.
async fn go_to_provider(
    page: &TownPage,
    franceconnect: &FranceConnect,
    settings: &WebSettings,
    jar: &CookieJar<'_>,
    flow: FlowCookie,
) -> PageOrRedirect {
    let url = match franceconnect.authorization_url(&page.tenant, &flow).await {
        Ok(url) => url,
        Err(error) => return failure_page(page, &error),
    };
    let Some(sealed) = flow.seal(&settings.secret_key) else {
        return failure_page(
            page,
            &FranceConnectError::Protocol("cannot seal the flow".to_owned()),
        );
    };
    jar.add(settings.cookie(FLOW_COOKIE, sealed));
    Ok(Either::Right(Redirect::to(url)))
}

/// "S'identifier avec FranceConnect".
#[get("/franceconnect/connexion?<suite>")]
async fn start(
    page: TownPage,
    visitor: Visitor,
    franceconnect: &State<FranceConnect>,
    settings: &State<WebSettings>,
    jar: &CookieJar<'_>,
    suite: Option<&str>,
) -> PageOrRedirect {
    if visitor.0.is_some() {
        return Ok(Either::Right(Redirect::to(
            safe_next(suite).unwrap_or_else(|| "/".to_owned()),
        )));
    }
    let flow = FlowCookie::new(&page.tenant.slug, FlowIntent::Login, safe_next(suite));
    go_to_provider(&page, franceconnect, settings, jar, flow).await
}

/// "Lier mon compte FranceConnect", from the account page.
#[post("/franceconnect/lier", data = "<_form>")]
async fn start_link(
    page: TownPage,
    _resident: Resident,
    franceconnect: &State<FranceConnect>,
    settings: &State<WebSettings>,
    jar: &CookieJar<'_>,
    _form: CsrfForm<Button>,
) -> PageOrRedirect {
    let flow = FlowCookie::new(
        &page.tenant.slug,
        FlowIntent::Link,
        Some("/franceconnect".to_owned()),
    );
    go_to_provider(&page, franceconnect, settings, jar, flow).await
}

/// Where the provider sends the browser back: with `code` and `state`, or
/// with `error` (and `error_description`).
// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[get("/franceconnect/callback?<code>&<state>&<error>&<error_description>&<iss>")]
async fn callback(
    page: TownPage,
    visitor: Visitor,
    accounts: &State<Accounts>,
    franceconnect: &State<FranceConnect>,
    settings: &State<WebSettings>,
    origin: Origin,
    jar: &CookieJar<'_>,
    code: Option<&str>,
    state: Option<&str>,
    error: Option<&str>,
    error_description: Option<&str>,
    iss: Option<&str>,
    metrics: &State<crate::metrics::Metrics>,
) -> PageOrRedirect {
    // One use: whatever happens next, this flow is over.
    let flow = jar
        .get(&settings.cookie_name(FLOW_COOKIE))
        .and_then(|cookie| {
            FlowCookie::open(cookie.value(), &settings.secret_key, &page.tenant.slug)
        });
    settings.remove_cookie(jar, FLOW_COOKIE);
    let answer = CallbackAnswer {
        code,
        state,
        error,
        error_description,
        iss,
    };
    let (flow, verified) = match franceconnect.callback(&page.tenant, flow, answer).await {
        Ok(found) => found,
        Err(error) => {
            metrics.count_login(
                crate::metrics::LoginFace::FranceConnect,
                crate::metrics::LoginResult::Failed,
            );
            return callback_failure(&page, error);
        }
    };

    if flow.intent == FlowIntent::Link
        && let Some(resident) = &visitor.0
    {
        return link_logged_in(&page, accounts, franceconnect, &origin, resident, &verified)
            .await
            .map(Either::Right);
    }
    let next = flow.next.clone().unwrap_or_else(|| "/".to_owned());
    if let Some(owner) = franceconnect
        .linked_account(&page.tenant, &verified.issuer, &verified.identity.sub)
        .await?
    {
        close_previous_session(accounts, &visitor, &origin).await?;
        // None: the account was closed in the meantime; the identity then
        // names nobody, as for a new one below.
        if let Some(token) = accounts
            .login_with_franceconnect(&page.tenant, &owner, &verified.id_token, &origin)
            .await?
        {
            metrics.count_login(
                crate::metrics::LoginFace::FranceConnect,
                crate::metrics::LoginResult::Success,
            );
            set_session_cookie(jar, settings, token);
            return Ok(Either::Right(Redirect::to(next)));
        }
    }
    // A new identity: the resident says which account is theirs.
    let pending = PendingLink::new(&page.tenant.slug, &verified, flow.next.clone());
    let Some(sealed) = pending.seal(&settings.secret_key) else {
        return failure_page(
            &page,
            &FranceConnectError::Protocol("cannot seal the pending link".to_owned()),
        );
    };
    jar.add(settings.cookie(PENDING_COOKIE, sealed));
    Ok(Either::Right(Redirect::to("/franceconnect/liaison")))
}

/// The French page of an answer that opened nothing.
fn callback_failure(page: &TownPage, error: CallbackError) -> PageOrRedirect {
    match error {
        CallbackError::NoFlow => error_page(
            page,
            Status::BadRequest,
            "Votre demande de connexion avec FranceConnect a expiré, ou a été commencée dans un \
             autre navigateur.",
            Some(
                "Recommencez depuis la page de connexion : vous disposez de 10 minutes pour vous \
                 identifier auprès de FranceConnect."
                    .to_owned(),
            ),
        ),
        CallbackError::StateMismatch => error_page(
            page,
            Status::BadRequest,
            "La réponse de FranceConnect ne correspond pas à votre demande de connexion.",
            Some(NOTHING_OPENED.to_owned()),
        ),
        CallbackError::Refused { error, description } => {
            let message = if error == "access_denied" {
                "Vous avez annulé la connexion avec FranceConnect.".to_owned()
            } else {
                format!("FranceConnect n'a pas accepté la demande de connexion (code « {error} »).")
            };
            let detail = match description {
                Some(description) => format!(
                    "Motif indiqué par FranceConnect : {}. {NOTHING_OPENED}",
                    description.trim_end_matches('.')
                ),
                None => NOTHING_OPENED.to_owned(),
            };
            error_page(page, Status::Unauthorized, &message, Some(detail))
        }
        CallbackError::Failed(error) => failure_page(page, &error),
    }
}

/// A logged-in resident came back from the provider to link their identity.
async fn link_logged_in(
    page: &TownPage,
    accounts: &Accounts,
    franceconnect: &FranceConnect,
    origin: &Origin,
    resident: &AnyResident,
    verified: &VerifiedIdentity,
) -> Result<Redirect, PageError> {
    let outcome = franceconnect
        .link(
            &page.tenant,
            resident.account.id,
            &verified.issuer,
            &verified.identity.sub,
            origin,
        )
        .await?;
    if matches!(outcome, LinkOutcome::Linked | LinkOutcome::AlreadyLinked) {
        accounts
            .attach_franceconnect(&page.tenant, &resident.token, &verified.id_token)
            .await?;
    }
    Ok(Redirect::to(format!(
        "/franceconnect?resultat={}",
        outcome_code(outcome)
    )))
}

fn outcome_code(outcome: LinkOutcome) -> &'static str {
    match outcome {
        LinkOutcome::Linked => "lie",
        LinkOutcome::AlreadyLinked => "deja-lie",
        LinkOutcome::IdentityTaken => "identite-prise",
        LinkOutcome::AccountTaken => "compte-lie",
    }
}

fn outcome_message(code: &str) -> Option<(&'static str, bool)> {
    Some(match code {
        "lie" => (
            "Votre identité FranceConnect est maintenant liée à votre espace personnel : vous \
             pourrez vous connecter avec FranceConnect.",
            false,
        ),
        "deja-lie" => (
            "Cette identité FranceConnect était déjà liée à votre espace personnel.",
            false,
        ),
        "identite-prise" => (
            "Cette identité FranceConnect est déjà liée à un autre espace personnel de la \
             commune : elle n'a pas été liée au vôtre.",
            true,
        ),
        "compte-lie" => (
            "Votre espace personnel est déjà lié à une autre identité FranceConnect. Retirez \
             d'abord ce lien pour en lier une nouvelle.",
            true,
        ),
        _ => return None,
    })
}

fn pending_link(
    jar: &CookieJar<'_>,
    settings: &WebSettings,
    page: &TownPage,
) -> Option<PendingLink> {
    jar.get(&settings.cookie_name(PENDING_COOKIE))
        .and_then(|cookie| {
            PendingLink::open(cookie.value(), &settings.secret_key, &page.tenant.slug)
        })
}

/// The linking page: who FranceConnect says the resident is, and the ways
/// to link (a password login) or to create an account.
#[derive(Debug, Default, Serialize)]
struct LinkView {
    csrf: String,
    name: String,
    email: Option<String>,
    identifier: String,
    error: Option<String>,
    offer_activation: bool,
    allow_creation: bool,
    creation_error: Option<String>,
    valid_minutes: i64,
}

impl LinkView {
    fn new(page: &TownPage, csrf: &Csrf, pending: &PendingLink) -> Self {
        Self {
            csrf: csrf.token().to_owned(),
            name: pending.display_name(),
            email: pending.email.clone(),
            allow_creation: FranceConnect::settings(&page.tenant)
                .is_some_and(|settings| settings.allow_account_creation),
            valid_minutes: crate::franceconnect::seal::PENDING_LINK_MINUTES,
            ..Self::default()
        }
    }
}

fn no_pending_link(page: &TownPage) -> Result<Page, PageError> {
    error_page_only(
        page,
        Status::BadRequest,
        "Aucune identité FranceConnect n'attend d'être liée, ou le délai pour la lier est passé.",
        Some("Reconnectez-vous avec FranceConnect depuis la page de connexion.".to_owned()),
    )
}

#[get("/franceconnect/liaison")]
fn link_page(
    page: TownPage,
    settings: &State<WebSettings>,
    csrf: Csrf,
    jar: &CookieJar<'_>,
) -> PageOrRedirect {
    let Some(pending) = pending_link(jar, settings, &page) else {
        return no_pending_link(&page).map(Either::Left);
    };
    let view = LinkView::new(&page, &csrf, &pending);
    link_page_answer(&page, view, Status::Ok).map(Either::Left)
}

fn link_page_answer(page: &TownPage, view: LinkView, status: Status) -> Result<Page, PageError> {
    page.render(status, "pages/franceconnect_link", LINK_TITLE, view)
}

#[derive(Debug, FromForm)]
struct LinkForm<'r> {
    identifier: &'r str,
    password: &'r str,
}

/// The resident proves which account is theirs with its identifier and
/// password (the same throttled login as `/connexion`); the identity is
/// then linked and the session is a FranceConnect one.
// One guard per piece of context is Rocket's way; a struct would hide it.
#[allow(clippy::too_many_arguments)]
#[post("/franceconnect/liaison", data = "<form>")]
async fn link<'r>(
    page: TownPage,
    visitor: Visitor,
    accounts: &State<Accounts>,
    franceconnect: &State<FranceConnect>,
    settings: &State<WebSettings>,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    form: Checked<'r, LinkForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, stale) = input_of(form)?;
    let Some(pending) = pending_link(jar, settings, &page) else {
        // A refused form says so first, whatever else is missing.
        if let Some(status) = stale {
            return Err(PageError::stale_form(status));
        }
        return no_pending_link(&page).map(Either::Left);
    };
    let mut view = LinkView::new(&page, &csrf, &pending);
    let refuse =
        |view: LinkView, status: Status| link_page_answer(&page, view, status).map(Either::Left);
    if let Some(status) = stale {
        view.identifier = form.identifier.trim().to_owned();
        view.error = Some(refusal_message(status).to_owned());
        return refuse(view, status);
    }
    view.identifier = form.identifier.trim().to_owned();
    let outcome = accounts
        .login(
            &page.tenant,
            form.identifier,
            form.password,
            device_cookie(jar, settings).as_deref(),
            &origin,
        )
        .await?;
    let (session_token, account) = match outcome {
        LoginOutcome::Success {
            session_token,
            account,
            device_cookie,
        } => {
            set_device_cookie(jar, settings, device_cookie);
            (session_token, account)
        }
        refused => {
            let (status, message, offer_activation) = login_refusal(&refused);
            view.error = Some(message);
            view.offer_activation = offer_activation;
            return refuse(view, status);
        }
    };
    close_previous_session(accounts, &visitor, &origin).await?;
    let outcome = franceconnect
        .link(
            &page.tenant,
            account.id,
            &pending.issuer,
            &pending.sub,
            &origin,
        )
        .await?;
    if matches!(outcome, LinkOutcome::Linked | LinkOutcome::AlreadyLinked) {
        accounts
            .attach_franceconnect(&page.tenant, &session_token, &pending.id_token)
            .await?;
    }
    set_session_cookie(jar, settings, session_token);
    settings.remove_cookie(jar, PENDING_COOKIE);
    let message = outcome_message(outcome_code(outcome)).map_or("", |(message, _)| message);
    let next = pending.next.unwrap_or_else(|| "/".to_owned());
    Ok(Either::Right(Flash::success(Redirect::to(next), message)))
}

/// "Créer mon espace avec FranceConnect", where the town allows it.
#[post("/franceconnect/creation", data = "<form>")]
async fn create_account(
    page: TownPage,
    accounts: &State<Accounts>,
    settings: &State<WebSettings>,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    form: Checked<'_, Button>,
) -> PageOrRedirect {
    let stale = match form {
        Ok(_) => None,
        Err(refused) => Some(refused.stale_input()?.1),
    };
    let Some(pending) = pending_link(jar, settings, &page) else {
        // A refused form says so first, whatever else is missing.
        if let Some(status) = stale {
            return Err(PageError::stale_form(status));
        }
        return no_pending_link(&page).map(Either::Left);
    };
    let mut view = LinkView::new(&page, &csrf, &pending);
    if !view.allow_creation {
        return error_page(
            &page,
            Status::Forbidden,
            "Votre commune ne crée pas d'espace personnel depuis FranceConnect.",
            Some(
                "Connectez-vous avec l'identifiant et le mot de passe reçus de votre mairie pour \
                 lier votre identité."
                    .to_owned(),
            ),
        );
    }
    let refuse =
        |view: LinkView, status: Status| link_page_answer(&page, view, status).map(Either::Left);
    if let Some(status) = stale {
        view.creation_error = Some(refusal_message(status).to_owned());
        return refuse(view, status);
    }
    match accounts
        .create_with_franceconnect(&page.tenant, &pending, &origin)
        .await?
    {
        Ok(session_token) => {
            set_session_cookie(jar, settings, session_token);
            settings.remove_cookie(jar, PENDING_COOKIE);
            Ok(Either::Right(Redirect::to(
                pending.next.unwrap_or_else(|| "/".to_owned()),
            )))
        }
        Err(problem) => {
            view.creation_error = Some(match problem {
                NewAccountError::EmailTaken(email) => format!(
                    "Un espace personnel existe déjà avec l'adresse {email} : connectez-vous \
                     ci-dessus avec son identifiant et son mot de passe pour y lier votre \
                     identité FranceConnect."
                ),
                NewAccountError::InvalidEmail(_) | NewAccountError::MissingName => {
                    "FranceConnect n'a pas transmis votre nom et votre adresse électronique : \
                     l'espace ne peut pas être créé. Adressez-vous à votre mairie."
                        .to_owned()
                }
                NewAccountError::IdentityLinked => {
                    "Cette identité FranceConnect vient d'être liée à un espace personnel : \
                     reconnectez-vous avec FranceConnect."
                        .to_owned()
                }
            });
            refuse(view, Status::Conflict)
        }
    }
}

#[derive(Debug, Serialize)]
struct LinkedIdentity {
    id: i32,
    linked_on: String,
}

#[derive(Debug, Serialize)]
struct AccountView {
    csrf: String,
    identifier: String,
    links: Vec<LinkedIdentity>,
    enabled: bool,
    result: Option<&'static str>,
    result_is_error: bool,
}

/// "Mon compte FranceConnect": the link, to see and remove.
#[get("/franceconnect?<resultat>")]
async fn account_page(
    page: TownPage,
    resident: Resident,
    franceconnect: &State<FranceConnect>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
    resultat: Option<&str>,
) -> Result<Page, PageError> {
    let links = franceconnect
        .links_of(&page.tenant, resident.account.id)
        .await?
        .into_iter()
        .map(|link| LinkedIdentity {
            id: link.id,
            linked_on: crate::format::long_date(
                link.linked_at.with_timezone(&page.tenant.timezone),
            ),
        })
        .collect();
    let result = resultat.and_then(outcome_message);
    let view = AccountView {
        csrf: csrf.token().to_owned(),
        identifier: resident.account.identifier.clone(),
        links,
        enabled: FranceConnect::settings(&page.tenant).is_some(),
        result: result.map(|(message, _)| message),
        result_is_error: result.is_some_and(|(_, error)| error),
    };
    resident_page(page.with_flash(flash), &resident, &csrf).ok(
        "pages/franceconnect_account",
        ACCOUNT_TITLE,
        view,
    )
}

#[derive(Debug, FromForm)]
struct UnlinkForm {
    link: i32,
}

#[post("/franceconnect/retirer", data = "<form>")]
async fn unlink(
    page: TownPage,
    resident: Resident,
    franceconnect: &State<FranceConnect>,
    origin: Origin,
    form: CsrfForm<UnlinkForm>,
) -> Result<Flash<Redirect>, PageError> {
    let back = Redirect::to("/franceconnect");
    let removed = franceconnect
        .unlink(&page.tenant, resident.account.id, form.link, &origin)
        .await?;
    Ok(if removed {
        Flash::success(
            back,
            "Le lien avec FranceConnect a été retiré. Connectez-vous désormais avec votre \
             identifiant et votre mot de passe.",
        )
    } else {
        Flash::error(back, "Ce lien n'existe plus.")
    })
}

/// Where the provider's logout sends the browser back: the login page, with
/// the logout confirmed (here, not through a flash cookie: browsers do not
/// send it back through the provider's redirection).
#[get("/franceconnect/deconnexion?<state>")]
fn logged_out(
    page: TownPage,
    settings: &State<WebSettings>,
    csrf: Csrf,
    jar: &CookieJar<'_>,
    state: Option<&str>,
) -> PageOrRedirect {
    let pending = jar
        .get(&settings.cookie_name(LOGOUT_COOKIE))
        .and_then(|cookie| {
            LogoutCookie::open(cookie.value(), &settings.secret_key, &page.tenant.slug)
        });
    settings.remove_cookie(jar, LOGOUT_COOKIE);
    // The local session was closed before going to the provider.
    remove_session_cookie(jar, settings);
    match pending {
        Some(pending) if state == Some(pending.state.as_str()) => {
            let view = LoginView::new(&page, &csrf);
            Ok(Either::Left(page.with_flash_text(LOGGED_OUT).ok(
                "pages/login",
                "Déconnexion",
                view,
            )?))
        }
        _ => error_page(
            &page,
            Status::BadRequest,
            "Vous êtes déconnecté(e) de votre espace personnel, mais la réponse de FranceConnect \
             n'a pas pu être vérifiée.",
            Some(
                "Pour être sûr(e) de terminer aussi votre session FranceConnect, fermez votre \
                 navigateur."
                    .to_owned(),
            ),
        ),
    }
}
