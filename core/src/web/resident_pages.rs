//! The pages around "Mon accueil": news, the town's pages, requests
//! ("démarches"), the household ("Dossier administratif"), contact details
//! ("Coordonnées", with the e-mail change), and feedback ("Votre avis").
//!
//! Forms re-render with what the resident typed and a French message per
//! field; every POST checks the CSRF token.

use chrono::NaiveDate;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::PageError;
use super::csrf::Csrf;
use super::render::{Page, TownPage};
use super::session::{Resident, Visitor};
use crate::accounts::{Accounts, EmailChangeProblem, EmailConfirmProblem, LinkProblem};
use crate::audit::Origin;
use crate::content::{NewsItem, current_news};
use crate::households::{Households, NewMember, RELATIONS, relation_label};
use crate::modules::Modules;
use crate::requests::{self, NewRequest, status_label};
use crate::tenancy::Tenant;

pub fn routes() -> Vec<Route> {
    routes![
        news_list,
        news_item,
        activities,
        practical,
        documents,
        request_list,
        request_detail,
        request_new,
        request_type_form,
        request_type_submit,
        household,
        household_add,
        household_remove,
        feedback_form,
        feedback_submit,
        contact,
        contact_save,
        email_change,
        email_confirm_page,
        email_confirm,
    ]
}

type PageResult = Result<Either<Page, Flash<Redirect>>, PageError>;

const STALE_FORM: &str = "Votre session a expiré ou la page était trop ancienne : vérifiez votre saisie et validez à nouveau.";

fn today(tenant: &Tenant) -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&tenant.timezone)
        .date_naive()
}

fn resident_page(page: TownPage, resident: &Resident, csrf: &Csrf) -> TownPage {
    page.for_resident(resident, csrf)
        .with_terms_notice(resident.terms_notice.as_ref())
}

fn visitor_page(page: TownPage, visitor: &Visitor, csrf: &Csrf) -> TownPage {
    match &visitor.0 {
        Some(resident) => page.for_resident(resident, csrf),
        None => page,
    }
}

/// Trims a field; none when empty.
fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// A form error, tied to its field for the summary's link.
#[derive(Debug, Clone, Serialize)]
struct FieldError {
    field: &'static str,
    message: String,
}

// ---------------------------------------------------------------- news --

#[derive(Debug, Serialize)]
pub struct NewsView {
    /// "07/04", as on the seed's home page.
    pub day: String,
    pub date: String,
    pub title: String,
    pub summary: String,
    pub href: String,
}

impl NewsView {
    pub fn of(item: &NewsItem) -> Self {
        Self {
            day: item.published.format("%d/%m").to_string(),
            date: item.published.format("%d/%m/%Y").to_string(),
            title: item.title.clone(),
            summary: item.summary.clone(),
            href: format!("/actualites/{}", item.slug),
        }
    }
}

/// The town's current news, newest first, for the home page.
pub fn home_news(tenant: &Tenant, count: usize) -> Vec<NewsView> {
    current_news(crate::content::news(tenant), today(tenant))
        .into_iter()
        .take(count)
        .map(NewsView::of)
        .collect()
}

#[derive(Serialize)]
struct NewsListView {
    news: Vec<NewsView>,
}

#[get("/actualites")]
fn news_list(page: TownPage, visitor: Visitor, csrf: Csrf) -> Result<Page, PageError> {
    let news = home_news(&page.tenant, usize::MAX);
    visitor_page(page, &visitor, &csrf).ok("pages/news_list", "Actualités", NewsListView { news })
}

#[derive(Serialize)]
struct NewsItemView {
    date: String,
    html: String,
}

#[get("/actualites/<slug>")]
fn news_item(
    page: TownPage,
    visitor: Visitor,
    csrf: Csrf,
    slug: &str,
) -> Result<Option<Page>, PageError> {
    let today = today(&page.tenant);
    let Some(item) = crate::content::news(&page.tenant)
        .iter()
        .find(|item| item.slug == slug && item.is_current(today))
        .cloned()
    else {
        return Ok(None);
    };
    let view = NewsItemView {
        date: item.published.format("%d/%m/%Y").to_string(),
        html: item.html,
    };
    visitor_page(page, &visitor, &csrf)
        .ok("pages/news_item", &item.title, view)
        .map(Some)
}

// --------------------------------------------------------- town pages --

#[derive(Serialize)]
struct TownPageView {
    html: Option<String>,
}

fn town_page(page: TownPage, slug: &str, fallback_title: &str) -> Result<Page, PageError> {
    let written = crate::content::pages(&page.tenant)
        .iter()
        .find(|written| written.slug == slug)
        .cloned();
    let (title, html) = match written {
        Some(written) => (written.title, Some(written.html)),
        None => (fallback_title.to_owned(), None),
    };
    page.ok("pages/town_page", &title, TownPageView { html })
}

#[get("/activites")]
fn activities(page: TownPage, visitor: Visitor, csrf: Csrf) -> Result<Page, PageError> {
    town_page(
        visitor_page(page, &visitor, &csrf),
        "activites",
        "Activités",
    )
}

#[get("/infos-pratiques")]
fn practical(page: TownPage, visitor: Visitor, csrf: Csrf) -> Result<Page, PageError> {
    town_page(
        visitor_page(page, &visitor, &csrf),
        "infos-pratiques",
        "Infos pratiques",
    )
}

#[get("/documents")]
fn documents(page: TownPage, resident: Resident, csrf: Csrf) -> Result<Page, PageError> {
    town_page(
        resident_page(page, &resident, &csrf),
        "documents",
        "Edition de documents",
    )
}

// ------------------------------------------------------------ requests --

#[derive(Debug, Serialize)]
pub struct RequestView {
    pub reference: String,
    pub title: String,
    pub status: String,
    pub tone: &'static str,
    pub date: String,
    pub href: String,
}

impl RequestView {
    pub fn of(tenant: &Tenant, request: &requests::entity::request::Model) -> Self {
        Self {
            reference: request.reference.clone(),
            title: request.title.clone(),
            status: status_label(&request.status).to_owned(),
            tone: match request.status.as_str() {
                "acceptee" => "success",
                "refusee" => "error",
                _ => "info",
            },
            date: request
                .created_at
                .with_timezone(&tenant.timezone)
                .format("%d/%m/%Y")
                .to_string(),
            href: format!("/demarches/{}", request.reference),
        }
    }
}

/// The resident's latest requests, for the home page.
pub async fn latest_requests(
    db: &DatabaseConnection,
    tenant: &Tenant,
    account_id: i32,
    count: u64,
) -> Result<Vec<RequestView>, sea_orm::DbErr> {
    Ok(requests::latest(db, tenant.scope(), account_id, count)
        .await?
        .iter()
        .map(|request| RequestView::of(tenant, request))
        .collect())
}

#[derive(Serialize)]
struct RequestListView {
    requests: Vec<RequestView>,
}

#[get("/demarches")]
async fn request_list(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    db: &State<DatabaseConnection>,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let requests = latest_requests(db, &resident.tenant, resident.account.id, 500).await?;
    resident_page(page.with_flash(flash), &resident, &csrf).ok(
        "pages/requests",
        "Mes demandes",
        RequestListView { requests },
    )
}

#[derive(Serialize)]
struct RequestDetailView {
    request: RequestView,
    details: Vec<(String, String)>,
    history: Vec<HistoryView>,
}

#[derive(Serialize)]
struct HistoryView {
    at: String,
    status: String,
    note: Option<String>,
}

#[get("/demarches/<reference>")]
async fn request_detail(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    db: &State<DatabaseConnection>,
    reference: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    let tenant = &resident.tenant;
    let Some((request, events)) =
        requests::find(db.inner(), tenant.scope(), resident.account.id, reference).await?
    else {
        return Ok(None);
    };
    let view = RequestDetailView {
        details: requests::details(&request)
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .collect(),
        history: events
            .iter()
            .map(|event| HistoryView {
                at: event
                    .at
                    .with_timezone(&tenant.timezone)
                    .format("%d/%m/%Y à %H:%M")
                    .to_string(),
                status: status_label(&event.status).to_owned(),
                note: event.note.clone(),
            })
            .collect(),
        request: RequestView::of(tenant, &request),
    };
    let title = format!("Demande {}", request.reference);
    resident_page(page.with_flash(flash), &resident, &csrf)
        .ok("pages/request", &title, view)
        .map(Some)
}

#[derive(Serialize)]
struct StartableView {
    label: String,
    description: String,
    href: String,
}

#[derive(Serialize)]
struct RequestNewView {
    startable: Vec<StartableView>,
}

#[get("/demarches/nouvelle")]
async fn request_new(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    modules: &State<Modules>,
) -> Result<Page, PageError> {
    let mut startable = Vec::new();
    for module in modules.enabled(&resident.tenant).await? {
        for action in &module.manifest.actions {
            startable.push(StartableView {
                label: action.label.clone(),
                description: module.manifest.description.clone(),
                href: format!("/services/{}/{}", module.module_id, action.view),
            });
        }
    }
    for request_type in requests::request_types(&resident.tenant) {
        startable.push(StartableView {
            label: request_type.label.clone(),
            description: request_type.description.clone(),
            href: format!("/demarches/nouvelle/{}", request_type.id),
        });
    }
    resident_page(page, &resident, &csrf).ok(
        "pages/request_new",
        "Nouvelle démarche",
        RequestNewView { startable },
    )
}

#[derive(Serialize)]
struct RequestFormView {
    id: String,
    label: String,
    description: String,
    csrf: String,
    message: String,
    error: Option<String>,
    errors: Vec<FieldError>,
}

const MAX_REQUEST_MESSAGE: usize = 2000;

fn request_type(tenant: &Tenant, id: &str) -> Option<requests::RequestType> {
    requests::request_types(tenant)
        .iter()
        .find(|request_type| request_type.id == id)
        .cloned()
}

#[get("/demarches/nouvelle/<type_id>")]
fn request_type_form(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    type_id: &str,
) -> Result<Option<Page>, PageError> {
    let Some(request_type) = request_type(&resident.tenant, type_id) else {
        return Ok(None);
    };
    let view = RequestFormView {
        id: request_type.id,
        label: request_type.label.clone(),
        description: request_type.description,
        csrf: csrf.token().to_owned(),
        message: String::new(),
        error: None,
        errors: Vec::new(),
    };
    resident_page(page, &resident, &csrf)
        .ok("pages/request_form", &request_type.label, view)
        .map(Some)
}

#[derive(Debug, FromForm)]
struct RequestForm<'r> {
    message: &'r str,
    csrf: &'r str,
}

#[post("/demarches/nouvelle/<type_id>", data = "<form>")]
async fn request_type_submit(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    db: &State<DatabaseConnection>,
    type_id: &str,
    form: Form<RequestForm<'_>>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let Some(request_type) = request_type(&resident.tenant, type_id) else {
        return Ok(None);
    };
    let message = form.message.trim();
    let (status, error) = if !csrf.verify(form.csrf) {
        (Status::Forbidden, Some(STALE_FORM.to_owned()))
    } else if message.is_empty() {
        (
            Status::UnprocessableEntity,
            Some("Précisez votre demande en quelques mots.".to_owned()),
        )
    } else if message.chars().count() > MAX_REQUEST_MESSAGE {
        (
            Status::UnprocessableEntity,
            Some(format!(
                "Votre message dépasse {MAX_REQUEST_MESSAGE} caractères."
            )),
        )
    } else {
        (Status::Ok, None)
    };
    if let Some(error) = error {
        let view = RequestFormView {
            id: request_type.id,
            label: request_type.label.clone(),
            description: request_type.description,
            csrf: csrf.token().to_owned(),
            message: form.message.to_owned(),
            errors: vec![FieldError {
                field: "message",
                message: error.clone(),
            }],
            error: Some(error),
        };
        let page = resident_page(page, &resident, &csrf).render(
            status,
            "pages/request_form",
            &request_type.label,
            view,
        )?;
        return Ok(Some(Either::Left(page)));
    }
    let new = NewRequest {
        kind: request_type.id.clone(),
        module_id: None,
        title: request_type.label.clone(),
        details: vec![("Message".to_owned(), message.to_owned())],
    };
    let transaction = crate::db::begin_write(db).await?;
    let reference = requests::create(
        &transaction,
        resident.tenant.scope(),
        resident.account.id,
        &new,
    )
    .await?;
    transaction.commit().await?;
    Ok(Some(Either::Right(Flash::success(
        Redirect::to(format!("/demarches/{reference}")),
        format!("Votre demande est enregistrée sous la référence {reference}."),
    ))))
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
        .into_iter()
        .map(|member| MemberView {
            id: member.id,
            name: format!("{} {}", member.first_name, member.last_name.to_uppercase()),
            relation: relation_label(&member.relation).to_owned(),
            birth_date: member
                .birth_date
                .map(|date| date.format("%d/%m/%Y").to_string()),
        })
        .collect())
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
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
        holder: format!(
            "{} {}",
            account.first_name,
            account.last_name.to_uppercase()
        ),
        members: household_members(households, &resident.tenant, account.id).await?,
        editable: crate::households::settings(&resident.tenant).editable,
        csrf: csrf.token().to_owned(),
        relations: RELATIONS
            .iter()
            .map(|&(value, label)| Choice {
                value,
                label,
                selected: form.relation == value,
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
    csrf: &'r str,
}

#[post("/famille/membres", data = "<form>")]
async fn household_add(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    households: &State<Households>,
    form: Form<MemberForm<'_>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
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
    if !csrf.verify(form.csrf) {
        errors.push(FieldError {
            field: "prenom",
            message: STALE_FORM.to_owned(),
        });
    }
    if view.first_name.is_empty() || view.first_name.chars().count() > 100 {
        view.first_name_error = Some("Indiquez le prénom (100 caractères au plus).".to_owned());
    }
    if view.last_name.is_empty() || view.last_name.chars().count() > 100 {
        view.last_name_error = Some("Indiquez le nom (100 caractères au plus).".to_owned());
    }
    let birth_date = match optional(&view.birth_date) {
        None => None,
        Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) if date <= today(&resident.tenant) => Some(date),
            _ => {
                view.birth_date_error =
                    Some("Indiquez une date de naissance passée, au format JJ/MM/AAAA.".to_owned());
                None
            }
        },
    };
    if !RELATIONS.iter().any(|(code, _)| *code == view.relation) {
        view.relation_error = Some("Choisissez le lien avec vous.".to_owned());
    }
    for (field, error) in [
        ("prenom", &view.first_name_error),
        ("nom", &view.last_name_error),
        ("naissance", &view.birth_date_error),
        ("lien", &view.relation_error),
    ] {
        if let Some(message) = error {
            errors.push(FieldError {
                field,
                message: message.clone(),
            });
        }
    }
    if !errors.is_empty() {
        return household_page(
            page,
            &resident,
            &csrf,
            households,
            view,
            errors,
            Status::UnprocessableEntity,
        )
        .await
        .map(Either::Left);
    }
    let name = view.first_name.clone();
    households
        .add(
            resident.tenant.scope(),
            resident.account.id,
            NewMember {
                first_name: view.first_name,
                last_name: view.last_name,
                birth_date,
                relation: view.relation,
                external_ref: None,
            },
        )
        .await?;
    Ok(Either::Right(Flash::success(
        Redirect::to("/famille"),
        format!("{name} fait maintenant partie de votre foyer."),
    )))
}

#[derive(Debug, FromForm)]
struct CsrfForm<'r> {
    csrf: &'r str,
}

#[post("/famille/membres/<member_id>/retirer", data = "<form>")]
async fn household_remove(
    resident: Resident,
    csrf: Csrf,
    households: &State<Households>,
    member_id: i32,
    form: Form<CsrfForm<'_>>,
) -> Result<Flash<Redirect>, PageError> {
    let back = Redirect::to("/famille");
    if !crate::households::settings(&resident.tenant).editable {
        return Ok(Flash::error(
            back,
            "Votre mairie tient votre dossier à jour : contactez-la pour le modifier.",
        ));
    }
    if !csrf.verify(form.csrf) {
        return Ok(Flash::error(back, STALE_FORM));
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
    csrf: &'r str,
}

#[post("/avis", data = "<form>")]
async fn feedback_submit(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    db: &State<DatabaseConnection>,
    form: Form<FeedbackForm<'_>>,
) -> PageResult {
    let mut view = feedback_view(&csrf, form.topic, form.message);
    let message = form.message.trim();
    if !csrf.verify(form.csrf) {
        view.message_error = Some(STALE_FORM.to_owned());
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
    if let Some(message) = &view.topic_error {
        view.errors.push(FieldError {
            field: "sujet",
            message: message.clone(),
        });
    }
    if let Some(message) = &view.message_error {
        view.errors.push(FieldError {
            field: "message",
            message: message.clone(),
        });
    }
    if !view.errors.is_empty() {
        let page = resident_page(page, &resident, &csrf).render(
            Status::UnprocessableEntity,
            "pages/feedback",
            "Votre avis nous intéresse",
            view,
        )?;
        return Ok(Either::Left(page));
    }
    crate::feedback::submit(
        db,
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
    for (field, error) in [
        ("adresse", &view.address_error),
        ("telephone", &view.phone_error),
        ("nouvelle-adresse", &view.new_email_error),
        ("mot-de-passe", &view.password_error),
    ] {
        if let Some(message) = error {
            view.errors.push(FieldError {
                field,
                message: message.clone(),
            });
        }
    }
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
    csrf: &'r str,
}

/// Digits, spaces, dots, hyphens, parentheses and a leading +.
fn is_plausible_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits)
        && phone.chars().enumerate().all(|(index, character)| {
            character.is_ascii_digit()
                || matches!(character, ' ' | '.' | '-' | '(' | ')')
                || (character == '+' && index == 0)
        })
}

#[post("/coordonnees", data = "<form>")]
async fn contact_save(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    accounts: &State<Accounts>,
    form: Form<ContactForm<'_>>,
) -> PageResult {
    let mut view = contact_view(&resident, &csrf);
    view.address = form.address.trim().to_owned();
    view.phone = form.phone.trim().to_owned();
    if !csrf.verify(form.csrf) {
        view.address_error = Some(STALE_FORM.to_owned());
    } else if view.address.chars().count() > 300 {
        view.address_error = Some("L'adresse dépasse 300 caractères.".to_owned());
    }
    if !view.phone.is_empty() && !is_plausible_phone(&view.phone) {
        view.phone_error =
            Some("Indiquez un numéro de téléphone, par exemple 06 12 34 56 78.".to_owned());
    }
    if view.address_error.is_some() || view.phone_error.is_some() {
        return contact_page(page, &resident, &csrf, view, Status::UnprocessableEntity)
            .map(Either::Left);
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
    csrf: &'r str,
}

#[post("/coordonnees/courriel", data = "<form>")]
async fn email_change(
    page: TownPage,
    resident: Resident,
    csrf: Csrf,
    accounts: &State<Accounts>,
    form: Form<EmailChangeForm<'_>>,
) -> Result<Page, PageError> {
    let mut view = contact_view(&resident, &csrf);
    view.new_email = form.new_email.trim().to_owned();
    if !csrf.verify(form.csrf) {
        view.new_email_error = Some(STALE_FORM.to_owned());
        return contact_page(page, &resident, &csrf, view, Status::Forbidden);
    }
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
            crate::accounts::entity::account_token::EMAIL_CHANGE,
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
    form: Form<CsrfForm<'_>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let problem = if !csrf.verify(form.csrf) {
        Some(STALE_FORM)
    } else {
        match accounts
            .confirm_email_change(&page.tenant, token, &origin)
            .await?
        {
            Ok(_) => None,
            Err(EmailConfirmProblem::Link(problem)) => Some(link_problem(&problem)),
            Err(EmailConfirmProblem::Taken) => Some(
                "Cette adresse est déjà celle d'un autre espace de la commune : choisissez-en une autre.",
            ),
        }
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
            Status::UnprocessableEntity,
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
