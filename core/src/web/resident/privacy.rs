//! "Mes données" (what the town holds, the export, the closure of the
//! account) and the town's privacy notice, "Données personnelles".

use chrono::{TimeDelta, Utc};
use rocket::form::FromForm;
use rocket::http::{CookieJar, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::session::remove_session_cookie;
use super::{
    Checked, Csrf, CsrfForm, FieldError, PageError, Resident, TownPage, Visitor, field_errors,
    resident_page, visitor_page,
};
use crate::accounts::{Accounts, PasswordConfirmation};
use crate::audit::{JournalSettings, Origin};
use crate::privacy::{ExportRequest, ExportState, LINK_VALID, Privacy, PrivacySettings};
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, WebSettings, refusal_message};

pub fn routes() -> Vec<Route> {
    routes![my_data, ask_export, download, close_page, close, notice]
}

/// How recent a FranceConnect login confirms a closure without password.
const FRANCECONNECT_CONFIRMS: TimeDelta = TimeDelta::minutes(15);

#[derive(Serialize)]
struct KindView {
    label: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct ExportView {
    asked: String,
    state: &'static str,
    ready: bool,
    pending: bool,
    until: Option<String>,
}

#[derive(Serialize)]
struct MyDataView {
    csrf: String,
    identifier: String,
    name: String,
    email: String,
    address: Option<String>,
    phone: Option<String>,
    created: String,
    kinds: Vec<KindView>,
    exports: Vec<ExportView>,
    /// An export is being prepared or waits for its download.
    export_open: bool,
    link_days: i64,
    grace_days: u32,
    journal_days: u32,
}

#[get("/mes-donnees")]
async fn my_data(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    privacy: &State<Privacy>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let tenant = &resident.tenant;
    let account = &resident.account;
    let zone = tenant.timezone;
    let kinds = privacy
        .counts(tenant, account.id)
        .await?
        .ok_or_else(PageError::not_found)?
        .into_iter()
        .map(|(label, count)| KindView { label, count })
        .collect();
    let now = Utc::now();
    let exports: Vec<ExportView> = privacy
        .exports_of(tenant, account.id)
        .await?
        .into_iter()
        .map(|export| {
            let ready = export.state == ExportState::Ready
                && export.expires_at.is_some_and(|until| until > now);
            ExportView {
                pending: export.state == ExportState::Pending,
                asked: crate::format::date_time(&export.created_at.with_timezone(&zone)),
                state: if export.state == ExportState::Ready && !ready {
                    ExportState::Expired.label()
                } else {
                    export.state.label()
                },
                ready,
                until: export
                    .expires_at
                    .filter(|_| ready)
                    .map(|until| crate::format::date_time(&until.with_timezone(&zone))),
            }
        })
        .collect();
    let export_open = exports.iter().any(|export| export.ready || export.pending);
    let view = MyDataView {
        csrf: csrf.token().to_owned(),
        identifier: account.identifier.clone(),
        name: crate::format::formal_name(
            account.civility.map(|civility| civility.title()),
            &account.first_name,
            &account.last_name,
        ),
        email: account.email.clone(),
        address: account.address.clone(),
        phone: account.phone.clone(),
        created: crate::format::date(account.created_at.with_timezone(&zone).date_naive()),
        kinds,
        exports,
        export_open,
        link_days: LINK_VALID.num_days(),
        grace_days: privacy.settings(tenant).await?.settings.closure_grace_days,
        journal_days: JournalSettings::of(tenant).retention_days,
    };
    resident_page(page.with_flash(flash), &resident, &csrf).ok("pages/my_data", "Mes données", view)
}

#[post("/mes-donnees/export", data = "<_form>")]
async fn ask_export(
    resident: Resident,
    origin: Origin,
    privacy: &State<Privacy>,
    // The token alone: the button's form has no field.
    _form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let asked = privacy
        .request_export(&resident.tenant, &resident.account, &origin, Utc::now())
        .await?;
    let to = Redirect::to("/mes-donnees");
    Ok(match asked {
        ExportRequest::Started => Flash::success(
            to,
            format!(
                "Votre export est en préparation. Vous recevrez un courriel à {} dès qu'il sera prêt, avec un lien de téléchargement valable {} jours (le lien d'un export précédent ne sert plus).",
                resident.account.email,
                LINK_VALID.num_days()
            ),
        ),
        ExportRequest::AlreadyPending => Flash::warning(
            to,
            "Un export est déjà en préparation : vous recevrez un courriel dès qu'il sera prêt.",
        ),
        ExportRequest::TooMany => Flash::warning(
            to,
            "Vous avez demandé plusieurs exports aujourd'hui : réessayez demain.",
        ),
    })
}

#[derive(Serialize)]
struct GoneView {}

/// The link of the mail: once, by the account's own session.
#[get("/mes-donnees/export/<token>")]
async fn download(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    origin: Origin,
    token: &str,
    privacy: &State<Privacy>,
) -> Result<Either<crate::privacy::Download, Page>, PageError> {
    let found = privacy
        .download(
            &resident.tenant,
            &resident.account,
            token,
            &origin,
            Utc::now(),
        )
        .await?;
    match found {
        Some(download) => Ok(Either::Left(download)),
        None => resident_page(page, &resident, &csrf)
            .render(
                Status::Gone,
                "pages/export_gone",
                "Lien de téléchargement expiré",
                GoneView {},
            )
            .map(Either::Right),
    }
}

#[derive(Serialize, Default)]
struct CloseView {
    csrf: String,
    grace_days: u32,
    closes_on: String,
    /// Logged in through FranceConnect a moment ago: no password asked.
    franceconnect: bool,
    /// The town offers FranceConnect: a login through it confirms.
    franceconnect_offered: bool,
    password_error: Option<String>,
    understood_error: Option<String>,
    errors: Vec<FieldError>,
}

fn close_view(resident: &Resident, csrf: &Csrf, settings: &PrivacySettings) -> CloseView {
    let tenant = &resident.tenant;
    let now = Utc::now();
    let session = &resident.session;
    CloseView {
        csrf: csrf.token().to_owned(),
        grace_days: settings.closure_grace_days,
        closes_on: crate::format::long_date(
            settings.closes_at(now).with_timezone(&tenant.timezone),
        ),
        franceconnect: session.franceconnect_id_token.is_some()
            && session.created_at > now - FRANCECONNECT_CONFIRMS,
        franceconnect_offered: crate::franceconnect::FranceConnect::settings(tenant).is_some(),
        ..CloseView::default()
    }
}

fn close_form_page(
    page: TownPage,
    resident: &Resident,
    csrf: &Csrf,
    mut view: CloseView,
    status: Status,
) -> Result<Page, PageError> {
    view.errors = field_errors(&[
        ("compris", &view.understood_error),
        ("mot-de-passe", &view.password_error),
    ]);
    resident_page(page, resident, csrf).render(
        status,
        "pages/close_account",
        "Fermer mon compte",
        view,
    )
}

#[get("/mes-donnees/fermer")]
async fn close_page(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    privacy: &State<Privacy>,
) -> Result<Page, PageError> {
    let settings = privacy.settings(&resident.tenant).await?.settings;
    let view = close_view(&resident, &csrf, &settings);
    close_form_page(page, &resident, &csrf, view, Status::Ok)
}

#[derive(Debug, FromForm)]
struct CloseForm<'r> {
    #[field(default = "")]
    password: &'r str,
    #[field(default = false)]
    understood: bool,
}

#[allow(clippy::too_many_arguments)]
#[post("/mes-donnees/fermer", data = "<form>")]
async fn close<'r>(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    origin: Origin,
    jar: &CookieJar<'_>,
    web: &State<WebSettings>,
    accounts: &State<Accounts>,
    privacy: &State<Privacy>,
    form: Checked<'r, CloseForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, stale) = input_of(form)?;
    let settings = privacy.settings(&resident.tenant).await?.settings;
    let mut view = close_view(&resident, &csrf, &settings);
    if let Some(status) = stale {
        view.understood_error = Some(refusal_message(status).to_owned());
        return close_form_page(page, &resident, &csrf, view, status).map(Either::Left);
    }
    if !form.understood {
        view.understood_error = Some(
            "Cochez la case pour confirmer que vous avez compris ce que la fermeture efface."
                .to_owned(),
        );
    }
    if !view.franceconnect {
        if form.password.is_empty() {
            view.password_error = Some("Saisissez votre mot de passe pour confirmer.".to_owned());
        } else if view.understood_error.is_none() {
            match accounts
                .confirm_password(&resident.tenant, &resident.account, form.password)
                .await?
            {
                PasswordConfirmation::Confirmed => {}
                PasswordConfirmation::Wrong => {
                    view.password_error = Some("Ce mot de passe n'est pas le bon.".to_owned());
                }
                PasswordConfirmation::Wait(seconds) => {
                    view.password_error = Some(format!(
                        "Trop d'essais : réessayez dans {} minute(s).",
                        (seconds + 59) / 60
                    ));
                }
            }
        }
    }
    if view.understood_error.is_some() || view.password_error.is_some() {
        return close_form_page(page, &resident, &csrf, view, Status::UnprocessableEntity)
            .map(Either::Left);
    }
    let closes = privacy
        .request_closure(&resident.tenant, &resident.account, &origin, Utc::now())
        .await?;
    let Some(closes) = closes else {
        return Err(PageError::not_found());
    };
    // Every session was ended with the request: this one too.
    remove_session_cookie(jar, web);
    let when = crate::format::long_date(closes.with_timezone(&resident.tenant.timezone));
    Ok(Either::Right(Flash::success(
        Redirect::to("/connexion"),
        format!(
            "Votre demande est enregistrée : votre compte sera fermé le {when}. Si vous changez d'avis, il vous suffit de vous reconnecter d'ici là. Un courriel de confirmation vous a été envoyé."
        ),
    )))
}

#[derive(Serialize)]
struct NoticeView {
    controller: String,
    dpo_name: Option<String>,
    dpo_email: Option<String>,
    dpo_address: Option<String>,
    contact_email: Option<String>,
    contact_address: Option<String>,
    grace_days: u32,
    inactive_months: u32,
    never_activated_months: u32,
    journal_days: u32,
    link_days: i64,
}

#[get("/donnees-personnelles")]
async fn notice(
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    privacy: &State<Privacy>,
) -> Result<Page, PageError> {
    let tenant = page.tenant.clone();
    let settings = privacy.settings(&tenant).await?.settings;
    let contact = &tenant.definition.contact;
    let view = NoticeView {
        controller: settings
            .controller
            .clone()
            .unwrap_or_else(|| format!("{}, représentée par son maire", tenant.display_name)),
        dpo_name: settings.dpo_name.clone(),
        dpo_email: settings.dpo_email.clone(),
        dpo_address: settings.dpo_address.clone(),
        contact_email: contact.email.clone(),
        contact_address: contact.address.clone(),
        grace_days: settings.closure_grace_days,
        inactive_months: settings.inactive_after_months,
        never_activated_months: settings.never_activated_after_months,
        journal_days: JournalSettings::of(&tenant).retention_days,
        link_days: LINK_VALID.num_days(),
    };
    visitor_page(page, &visitor, &csrf).ok("pages/privacy_notice", "Données personnelles", view)
}
