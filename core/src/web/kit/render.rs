//! Rendering a page of a town: the layout's context (town, the face's menu,
//! the signed-in person, page title) plus the page's own data, through the
//! town's theme.

use std::marker::PhantomData;
use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::request::{FlashMessage, FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use serde::Serialize;

use super::face::{Face, MenuEntry};
use super::{PageError, Themes};
use crate::tenancy::{CurrentTenant, Tenant};
use crate::terms::entity::terms_version;
use crate::theme::Theme;

/// An HTML page, ready to send.
#[derive(Debug)]
pub struct Page {
    pub status: Status,
    pub html: String,
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::HTML)
            .sized_body(self.html.len(), std::io::Cursor::new(self.html));
        // "Momentanément indisponible": browsers and crawlers are told when
        // to come back.
        if self.status == Status::ServiceUnavailable {
            response.header(rocket::http::Header::new(
                "Retry-After",
                crate::db::RETRY_AFTER_SECONDS.to_string(),
            ));
        }
        response.ok()
    }
}

/// A flash message with a list under it: the message, then each item on
/// a line of its own (line breaks inside become spaces). Kept within what a
/// cookie holds: past about 3 KiB, the rest is summed up in one line.
pub fn flash_with_details(message: &str, details: &[String]) -> String {
    const BUDGET: usize = 3 * 1024;
    let one_line = |text: &str| text.replace(['\r', '\n'], " ");
    let mut flash = one_line(message);
    for (index, detail) in details.iter().enumerate() {
        let line = one_line(detail);
        if flash.len() + line.len() + 1 > BUDGET {
            flash.push_str(&format!("\n… et {} autre(s).", details.len() - index));
            break;
        }
        flash.push('\n');
        flash.push_str(&line);
    }
    flash
}

/// What every page of a town needs: the town, its theme, the current path,
/// and face `F`'s menu.
#[derive(Debug)]
pub struct TownPage<F> {
    pub tenant: Arc<Tenant>,
    pub theme: Arc<Theme>,
    path: String,
    session: Option<SessionView>,
    flash: Option<String>,
    terms_notice: Option<TermsNoticeView>,
    /// The menu, when the page's viewer sees another than `F::MENU`.
    menu: Option<Vec<MenuEntry>>,
    face: PhantomData<F>,
}

impl<F> Clone for TownPage<F> {
    fn clone(&self) -> Self {
        Self {
            tenant: self.tenant.clone(),
            theme: self.theme.clone(),
            path: self.path.clone(),
            session: self.session.clone(),
            flash: self.flash.clone(),
            terms_notice: self.terms_notice.clone(),
            menu: self.menu.clone(),
            face: PhantomData,
        }
    }
}

/// The notice of a minor terms version, with its "close" form.
#[derive(Debug, Clone, Serialize)]
struct TermsNoticeView {
    number: i32,
    version_id: i32,
    published_on: String,
}

/// The signed-in person, as the layout's header shows them (with the
/// logout form).
#[derive(Debug, Clone, Serialize)]
struct SessionView {
    name: String,
    csrf: String,
}

/// What the layout shows around every page.
#[derive(Serialize)]
struct Chrome<'a> {
    town: TownView<'a>,
    page: PageView<'a>,
    menu: Vec<MenuItem>,
    session: &'a Option<SessionView>,
    /// A one-time confirmation ("Vous êtes déconnecté(e).").
    flash: Option<&'a str>,
    /// What it did, item by item (a module's `done.details`): the lines
    /// after the first of the flash message (see [`flash_with_details`]).
    flash_details: Vec<&'a str>,
    terms_notice: &'a Option<TermsNoticeView>,
}

/// A page's context: the chrome's fields and the page's own at the top
/// level (what templates read), and the chrome again under `chrome`, for
/// the layout's partials (`{{> partials/header chrome}}`): handlebars
/// copies the context it gives a partial, and the whole page's (its tiles,
/// its tables) would be copied for each.
#[derive(Serialize)]
struct Layout<'a, T: Serialize> {
    #[serde(flatten)]
    top: &'a Chrome<'a>,
    chrome: &'a Chrome<'a>,
    #[serde(flatten)]
    data: T,
}

#[derive(Serialize)]
struct TownView<'a> {
    slug: &'a str,
    display_name: &'a str,
    contact: &'a crate::tenancy::TownContact,
}

#[derive(Serialize)]
struct PageView<'a> {
    title: &'a str,
}

#[derive(Serialize)]
struct MenuItem {
    href: &'static str,
    label: &'static str,
    icon: &'static str,
    current: bool,
}

impl<F: Face> TownPage<F> {
    pub fn new(tenant: Arc<Tenant>, theme: Arc<Theme>, path: &str) -> Self {
        Self {
            tenant,
            theme,
            path: path.to_owned(),
            session: None,
            flash: None,
            terms_notice: None,
            menu: None,
            face: PhantomData,
        }
    }

    /// Shows the notice of a minor terms version the resident has not seen.
    pub fn with_terms_notice(mut self, version: Option<&terms_version::Model>) -> Self {
        self.terms_notice = version.map(|version| TermsNoticeView {
            number: version.number,
            version_id: version.id,
            published_on: crate::format::date(
                version
                    .published_at
                    .with_timezone(&self.tenant.timezone)
                    .date_naive(),
            ),
        });
        self
    }

    /// Shows the signed-in person's name and the logout button (a form
    /// carrying `csrf`) in the header.
    pub fn with_session(mut self, name: String, csrf: &str) -> Self {
        self.session = Some(SessionView {
            name,
            csrf: csrf.to_owned(),
        });
        self
    }

    /// Shows `entries` as the menu, in place of the face's own (the staff
    /// face shows each role the entries it may open).
    pub fn with_menu(mut self, entries: Vec<MenuEntry>) -> Self {
        self.menu = Some(entries);
        self
    }

    /// Shows a message above the content.
    pub fn with_flash_text(mut self, text: &str) -> Self {
        self.flash = Some(text.to_owned());
        self
    }

    /// True when the page shows a one-time message (not to be shown
    /// again from memory).
    pub fn flash_shown(&self) -> bool {
        self.flash.is_some()
    }

    /// Shows a one-time confirmation above the content.
    pub fn with_flash(mut self, flash: Option<FlashMessage<'_>>) -> Self {
        self.flash = flash.map(|flash| flash.message().to_owned());
        self
    }

    /// Renders `template` in the layout, titled `title`, with `data` at the
    /// top level of the template's context.
    pub fn render<T: Serialize>(
        &self,
        status: Status,
        template: &str,
        title: &str,
        data: T,
    ) -> Result<Page, PageError> {
        let chrome = Chrome {
            town: TownView {
                slug: &self.tenant.slug,
                display_name: &self.tenant.display_name,
                contact: &self.tenant.definition.contact,
            },
            page: PageView { title },
            session: &self.session,
            flash: self.flash.as_deref().and_then(|flash| flash.lines().next()),
            flash_details: self
                .flash
                .as_deref()
                .map(|flash| flash.lines().skip(1).collect())
                .unwrap_or_default(),
            terms_notice: &self.terms_notice,
            menu: self
                .menu
                .as_deref()
                .unwrap_or(F::MENU)
                .iter()
                .map(|&MenuEntry { href, label, icon }| MenuItem {
                    href,
                    label,
                    icon,
                    current: self.path == href,
                })
                .collect(),
        };
        let layout = Layout {
            top: &chrome,
            chrome: &chrome,
            data,
        };
        let html = self.theme.render(template, &layout)?;
        Ok(Page { status, html })
    }

    /// A 200 page.
    pub fn ok<T: Serialize>(
        &self,
        template: &str,
        title: &str,
        data: T,
    ) -> Result<Page, PageError> {
        self.render(Status::Ok, template, title, data)
    }
}

#[rocket::async_trait]
impl<'r, F: Face> FromRequest<'r> for TownPage<F> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let tenant = match CurrentTenant::from_request(request).await {
            Outcome::Success(CurrentTenant(tenant)) => tenant,
            Outcome::Error(error) => return Outcome::Error(error),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        let Some(Themes(themes)) = request.rocket().state::<Themes>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let theme = themes.get(&tenant.theme);
        Outcome::Success(TownPage::new(tenant, theme, request.uri().path().as_str()))
    }
}
