//! `/admin/actualites` and `/admin/pages`: what residents read, written by
//! managers (gestionnaire and above). Every form has a preview rendered as
//! residents will see it (the same safe Markdown); what is saved here
//! belongs to the database from then on (`tenant apply` leaves it alone:
//! see `crate::content`).

use chrono::NaiveDate;
use rocket::Either;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, CsrfForm, FieldError, Staff, staff_page};
use crate::audit::Origin;
use crate::content::{
    ContentService, DraftErrors, EditError, NewsDraft, NewsItem, Origin as ItemOrigin, PAGES,
    PageDraft,
};
use crate::staff::PublishContent;
use crate::tenancy::Tenant;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![
        news_list,
        news_new,
        news_create,
        news_edit,
        news_update,
        news_withdraw,
        pages_list,
        page_edit,
        page_update
    ]
}

const NEWS: &str = "/admin/actualites";
const PAGES_PATH: &str = "/admin/pages";

impl From<EditError> for PageError {
    fn from(error: EditError) -> Self {
        match error {
            EditError::NotFound => PageError::not_found(),
            EditError::Database(error) => PageError::Database(error),
            other => PageError::Database(sea_orm::DbErr::Custom(other.to_string())),
        }
    }
}

/// Today in the town's time zone.
fn today(tenant: &Tenant) -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&tenant.timezone)
        .date_naive()
}

fn origin_label(origin: ItemOrigin) -> &'static str {
    match origin {
        ItemOrigin::Folder => "Dossier de la commune",
        ItemOrigin::BackOffice => "Espace agents",
    }
}

/// The message of `field` among `errors`.
fn error_of(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|error| error.field == field)
        .map(|error| error.message.clone())
}

fn field_errors(errors: DraftErrors) -> Vec<FieldError> {
    errors.0.into_iter().map(FieldError::from).collect()
}

/// The "Aperçu" button's value: preview, do not save.
const PREVIEW: &str = "apercu";

// ---------------------------------------------------------------- news --

#[derive(Serialize)]
struct NewsRow {
    title: String,
    href: String,
    published: String,
    until: String,
    state: &'static str,
    origin: &'static str,
    withdraw: Option<String>,
}

#[derive(Serialize)]
struct NewsListView {
    csrf: String,
    news: Vec<NewsRow>,
}

fn state_of(item: &NewsItem, today: NaiveDate) -> &'static str {
    if item.withdrawn {
        "Dépubliée"
    } else if item.published > today {
        "Programmée"
    } else if item.until.is_some_and(|until| until < today) {
        "Terminée"
    } else {
        "En ligne"
    }
}

#[get("/actualites")]
fn news_list(
    page: AdminPage,
    staff: Staff<PublishContent>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let today = today(&staff.tenant);
    let mut items: Vec<&NewsItem> = crate::content::news(&staff.tenant).iter().collect();
    items.sort_by(|a, b| b.published.cmp(&a.published).then(a.slug.cmp(&b.slug)));
    let news = items
        .into_iter()
        .map(|item| NewsRow {
            title: item.title.clone(),
            href: format!("{NEWS}/{}", item.slug),
            published: crate::format::date(item.published),
            until: item
                .until
                .map_or_else(|| "—".to_owned(), crate::format::date),
            state: state_of(item, today),
            origin: origin_label(item.origin),
            withdraw: (!item.withdrawn).then(|| format!("{NEWS}/{}/depublier", item.slug)),
        })
        .collect();
    let view = NewsListView {
        csrf: csrf.token().to_owned(),
        news,
    };
    staff_page(page.with_flash(flash), &staff, &csrf).ok("admin/news_list", "Actualités", view)
}

#[derive(Serialize)]
struct PreviewView {
    title: String,
    date: Option<String>,
    html: String,
}

#[derive(Serialize)]
struct NewsFormView {
    csrf: String,
    heading: &'static str,
    action: String,
    title: String,
    text: String,
    published: String,
    until: String,
    withdrawn: bool,
    /// A refused form (its token stale or foreign): shown above it.
    error: Option<String>,
    errors: Vec<FieldError>,
    title_error: Option<String>,
    text_error: Option<String>,
    published_error: Option<String>,
    until_error: Option<String>,
    preview: Option<PreviewView>,
}

#[derive(Debug, FromForm)]
struct NewsForm<'r> {
    title: &'r str,
    text: &'r str,
    published: &'r str,
    until: &'r str,
    action: Option<&'r str>,
}

impl NewsForm<'_> {
    fn draft(&self) -> NewsDraft {
        NewsDraft {
            title: self.title.to_owned(),
            text: self.text.to_owned(),
            published: self.published.to_owned(),
            until: self.until.to_owned(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn news_form(
    page: AdminPage,
    staff: &Staff<PublishContent>,
    csrf: &Csrf,
    status: Status,
    slug: Option<&str>,
    draft: NewsDraft,
    withdrawn: bool,
    errors: Vec<FieldError>,
    preview: Option<PreviewView>,
    error: Option<String>,
) -> Result<Page, PageError> {
    let (heading, action) = match slug {
        Some(slug) => ("Modifier l'actualité", format!("{NEWS}/{slug}")),
        None => ("Nouvelle actualité", format!("{NEWS}/nouvelle")),
    };
    let view = NewsFormView {
        csrf: csrf.token().to_owned(),
        heading,
        action,
        title_error: error_of(&errors, "titre"),
        text_error: error_of(&errors, "texte"),
        published_error: error_of(&errors, "publication"),
        until_error: error_of(&errors, "fin"),
        title: draft.title,
        text: draft.text,
        published: draft.published,
        until: draft.until,
        withdrawn,
        error,
        errors,
        preview,
    };
    staff_page(page, staff, csrf).render(status, "admin/news_form", heading, view)
}

#[get("/actualites/nouvelle")]
fn news_new(page: AdminPage, staff: Staff<PublishContent>, csrf: Csrf) -> Result<Page, PageError> {
    let draft = NewsDraft {
        published: today(&staff.tenant).format("%Y-%m-%d").to_string(),
        ..NewsDraft::default()
    };
    news_form(
        page,
        &staff,
        &csrf,
        Status::Ok,
        None,
        draft,
        false,
        Vec::new(),
        None,
        None,
    )
}

#[get("/actualites/<slug>")]
fn news_edit(
    page: AdminPage,
    staff: Staff<PublishContent>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
    slug: &str,
) -> Result<Page, PageError> {
    let Some(item) = crate::content::news(&staff.tenant)
        .iter()
        .find(|item| item.slug == slug)
        .cloned()
    else {
        return Err(PageError::not_found());
    };
    let draft = NewsDraft {
        title: item.title,
        text: item.source,
        published: item.published.format("%Y-%m-%d").to_string(),
        until: item
            .until
            .map(|until| until.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    };
    news_form(
        page.with_flash(flash),
        &staff,
        &csrf,
        Status::Ok,
        Some(slug),
        draft,
        item.withdrawn,
        Vec::new(),
        None,
        None,
    )
}

/// Saves (or previews) the form of `slug`, none for new news.
#[allow(clippy::too_many_arguments)]
async fn news_submit(
    page: AdminPage,
    staff: Staff<PublishContent>,
    service: &ContentService,
    csrf: Csrf,
    origin: Origin,
    slug: Option<&str>,
    form: &NewsForm<'_>,
    refused: Option<Status>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    // A stale or foreign token: the input again, nothing saved.
    if let Some(status) = refused {
        let error = Some(refusal_message(status).to_owned());
        return news_form(
            page,
            &staff,
            &csrf,
            status,
            slug,
            form.draft(),
            false,
            Vec::new(),
            None,
            error,
        )
        .map(Either::Left);
    }
    let withdrawn = slug.is_some_and(|slug| {
        crate::content::news(&staff.tenant)
            .iter()
            .any(|item| item.slug == slug && item.withdrawn)
    });
    if let Some(slug) = slug
        && !crate::content::news(&staff.tenant)
            .iter()
            .any(|item| item.slug == slug)
    {
        return Err(PageError::not_found());
    }
    let draft = form.draft();
    if form.action == Some(PREVIEW) {
        let (status, errors, preview) = match draft.check(slug.unwrap_or_default()) {
            Ok(item) => (
                Status::Ok,
                Vec::new(),
                Some(PreviewView {
                    title: item.title,
                    date: Some(crate::format::date(item.published)),
                    html: item.html,
                }),
            ),
            Err(errors) => (Status::UnprocessableEntity, field_errors(errors), None),
        };
        return news_form(
            page, &staff, &csrf, status, slug, draft, withdrawn, errors, preview, None,
        )
        .map(Either::Left);
    }
    match service
        .save_news(&staff.tenant, slug, &draft, staff.actor(), &origin)
        .await?
    {
        Ok(_) => {
            let message = if slug.is_some() {
                "Actualité enregistrée."
            } else {
                "Actualité créée."
            };
            Ok(Either::Right(Flash::success(Redirect::to(NEWS), message)))
        }
        Err(errors) => news_form(
            page,
            &staff,
            &csrf,
            Status::UnprocessableEntity,
            slug,
            draft,
            withdrawn,
            field_errors(errors),
            None,
            None,
        )
        .map(Either::Left),
    }
}

#[post("/actualites/nouvelle", data = "<form>")]
async fn news_create<'r>(
    page: AdminPage,
    staff: Staff<PublishContent>,
    service: &State<ContentService>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'r, NewsForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, refused) = input_of(form)?;
    news_submit(page, staff, service, csrf, origin, None, &form, refused).await
}

#[post("/actualites/<slug>", data = "<form>")]
async fn news_update<'r>(
    page: AdminPage,
    staff: Staff<PublishContent>,
    service: &State<ContentService>,
    csrf: Csrf,
    origin: Origin,
    slug: &str,
    form: Checked<'r, NewsForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, refused) = input_of(form)?;
    news_submit(
        page,
        staff,
        service,
        csrf,
        origin,
        Some(slug),
        &form,
        refused,
    )
    .await
}

#[post("/actualites/<slug>/depublier", data = "<form>")]
async fn news_withdraw(
    staff: Staff<PublishContent>,
    service: &State<ContentService>,
    origin: Origin,
    slug: &str,
    form: CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let _ = form;
    service
        .withdraw_news(&staff.tenant, slug, staff.actor(), &origin)
        .await?;
    Ok(Flash::success(
        Redirect::to(NEWS),
        "Actualité dépubliée : les usagers ne la voient plus.",
    ))
}

// --------------------------------------------------------------- pages --

#[derive(Serialize)]
struct PageRow {
    label: &'static str,
    title: Option<String>,
    href: String,
    origin: Option<&'static str>,
}

#[derive(Serialize)]
struct PagesView {
    pages: Vec<PageRow>,
}

#[get("/pages")]
fn pages_list(
    page: AdminPage,
    staff: Staff<PublishContent>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let written = crate::content::pages(&staff.tenant);
    let pages = PAGES
        .iter()
        .map(|(slug, label)| {
            let page = written.iter().find(|page| page.slug == *slug);
            PageRow {
                label,
                title: page.map(|page| page.title.clone()),
                href: format!("{PAGES_PATH}/{slug}"),
                origin: page.map(|page| origin_label(page.origin)),
            }
        })
        .collect();
    staff_page(page.with_flash(flash), &staff, &csrf).ok(
        "admin/pages_list",
        "Pages",
        PagesView { pages },
    )
}

#[derive(Serialize)]
struct PageFormView {
    csrf: String,
    label: &'static str,
    action: String,
    title: String,
    text: String,
    /// A refused form (its token stale or foreign): shown above it.
    error: Option<String>,
    errors: Vec<FieldError>,
    title_error: Option<String>,
    text_error: Option<String>,
    preview: Option<PreviewView>,
}

#[derive(Debug, FromForm)]
struct PageForm<'r> {
    title: &'r str,
    text: &'r str,
    action: Option<&'r str>,
}

fn label_of(slug: &str) -> Result<&'static str, PageError> {
    PAGES
        .iter()
        .find(|(name, _)| *name == slug)
        .map(|(_, label)| *label)
        .ok_or_else(PageError::not_found)
}

#[allow(clippy::too_many_arguments)]
fn page_form(
    page: AdminPage,
    staff: &Staff<PublishContent>,
    csrf: &Csrf,
    status: Status,
    slug: &str,
    draft: PageDraft,
    errors: Vec<FieldError>,
    preview: Option<PreviewView>,
    error: Option<String>,
) -> Result<Page, PageError> {
    let label = label_of(slug)?;
    let view = PageFormView {
        csrf: csrf.token().to_owned(),
        label,
        action: format!("{PAGES_PATH}/{slug}"),
        title_error: error_of(&errors, "titre"),
        text_error: error_of(&errors, "texte"),
        title: draft.title,
        text: draft.text,
        error,
        errors,
        preview,
    };
    staff_page(page, staff, csrf).render(status, "admin/page_form", label, view)
}

#[get("/pages/<slug>")]
fn page_edit(
    page: AdminPage,
    staff: Staff<PublishContent>,
    csrf: Csrf,
    slug: &str,
) -> Result<Page, PageError> {
    let label = label_of(slug)?;
    let draft = crate::content::pages(&staff.tenant)
        .iter()
        .find(|page| page.slug == slug)
        .map_or_else(
            || PageDraft {
                title: label.to_owned(),
                text: String::new(),
            },
            |page| PageDraft {
                title: page.title.clone(),
                text: page.source.clone(),
            },
        );
    page_form(
        page,
        &staff,
        &csrf,
        Status::Ok,
        slug,
        draft,
        Vec::new(),
        None,
        None,
    )
}

#[post("/pages/<slug>", data = "<form>")]
async fn page_update<'r>(
    page: AdminPage,
    staff: Staff<PublishContent>,
    service: &State<ContentService>,
    csrf: Csrf,
    origin: Origin,
    slug: &str,
    form: Checked<'r, PageForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (form, refused) = input_of(form)?;
    let draft = PageDraft {
        title: form.title.to_owned(),
        text: form.text.to_owned(),
    };
    // A stale or foreign token: the input again, nothing saved.
    if let Some(status) = refused {
        let error = Some(refusal_message(status).to_owned());
        let label = PAGES
            .iter()
            .find(|(name, _)| *name == slug)
            .map_or("Page", |(_, label)| *label);
        let view = PageFormView {
            csrf: csrf.token().to_owned(),
            label,
            action: format!("{PAGES_PATH}/{slug}"),
            title: draft.title,
            text: draft.text,
            error,
            errors: Vec::new(),
            title_error: None,
            text_error: None,
            preview: None,
        };
        return staff_page(page, &staff, &csrf)
            .render(status, "admin/page_form", label, view)
            .map(Either::Left);
    }
    label_of(slug)?;
    if form.action == Some(PREVIEW) {
        let (status, errors, preview) = match draft.check(slug) {
            Ok(written) => (
                Status::Ok,
                Vec::new(),
                Some(PreviewView {
                    title: written.title,
                    date: None,
                    html: written.html,
                }),
            ),
            Err(errors) => (Status::UnprocessableEntity, field_errors(errors), None),
        };
        return page_form(
            page, &staff, &csrf, status, slug, draft, errors, preview, None,
        )
        .map(Either::Left);
    }
    match service
        .save_page(&staff.tenant, slug, &draft, staff.actor(), &origin)
        .await?
    {
        Ok(()) => Ok(Either::Right(Flash::success(
            Redirect::to(PAGES_PATH),
            "Page enregistrée.",
        ))),
        Err(errors) => page_form(
            page,
            &staff,
            &csrf,
            Status::UnprocessableEntity,
            slug,
            draft,
            field_errors(errors),
            None,
            None,
        )
        .map(Either::Left),
    }
}
