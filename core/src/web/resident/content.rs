//! News ("Actualités") and the town's pages ("Activités", "Infos pratiques";
//! its page `documents` introduces "Edition de documents", documents.rs),
//! written by the town in Markdown.

use rocket::{Route, get, routes};
use serde::Serialize;

use super::{Csrf, PageError, TownPage, Visitor, today, visitor_page};
use crate::content::{NewsItem, current_news};
use crate::tenancy::Tenant;
use crate::web::kit::Page;

pub fn routes() -> Vec<Route> {
    routes![news_list, news_item, activities, practical]
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
            day: crate::format::day_month(item.published),
            date: crate::format::date(item.published),
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
        date: crate::format::date(item.published),
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
