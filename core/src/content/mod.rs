//! What a town publishes for its residents besides its terms: news
//! (`tenants/<slug>/news/*.md`) and pages (`tenants/<slug>/pages/*.md`:
//! `activites`, `infos-pratiques`, `documents`). They travel with the town's
//! definition, as its `news` and `pages` sections (never written in
//! `tenant.toml` itself), so `tenant apply` publishes them and a change is
//! one apply.
//!
//! A file is Markdown under a TOML header:
//!
//! ```text
//! +++
//! title = "Bienvenue sur votre espace privé"
//! published = 2020-04-07
//! until = 2030-12-31   # news only, optional: hidden after this day
//! +++
//! Cet espace privé a pour objectif…
//! ```
//!
//! Who owns what (see ARCHITECTURE.md, "Invariants"): the folder seeds a
//! town and carries its later changes, but an item edited in the back-office
//! (`/admin/actualites`, `/admin/pages`) belongs to the database from then
//! on: its [`Origin`] becomes [`Origin::BackOffice`] and `tenant apply`
//! leaves it alone, saying so ([`merge`]). Nor does an apply remove an item
//! its folder lacks (one applied from another folder, or created in the
//! back-office): withdrawing news is the back-office's "Dépublier".
//!
//! Error policy: a file that does not parse is a [`ContentError`] naming the
//! file; nothing of the town is applied. The back-office's edits
//! ([`ContentService`]) answer a refused input as [`DraftErrors`] (French,
//! per field) and database failures as [`EditError`].

mod edit;
mod merge;

pub use edit::{ContentService, DraftErrors, EditError, NewsDraft, PageDraft};
pub use merge::{LeftAlone, LeftAloneReason, merge};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

/// The pages a town may write, by file name, with the menu's label.
pub const PAGES: [(&str, &str); 3] = [
    ("activites", "Activités"),
    ("infos-pratiques", "Infos pratiques"),
    ("documents", "Edition de documents"),
];

/// Who owns an item: its town's folder, or the back-office once edited
/// there (then `tenant apply` leaves it alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Folder,
    BackOffice,
}

impl Origin {
    fn is_folder(&self) -> bool {
        *self == Self::Folder
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsItem {
    /// The file name without `.md`: the news' address.
    pub slug: String,
    pub title: String,
    pub published: NaiveDate,
    pub until: Option<NaiveDate>,
    /// The first paragraph, as plain text, for the home page.
    pub summary: String,
    /// The whole text, rendered (raw HTML dropped, safe links only).
    pub html: String,
    /// The Markdown it was rendered from, for the back-office's form
    /// (absent from towns applied before the back-office existed).
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Origin::is_folder")]
    pub origin: Origin,
    /// Unpublished in the back-office: kept, shown to no resident.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn: bool,
}

impl NewsItem {
    pub fn is_current(&self, today: NaiveDate) -> bool {
        !self.withdrawn && self.published <= today && self.until.is_none_or(|until| today <= until)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TownPage {
    pub slug: String,
    pub title: String,
    pub html: String,
    /// The Markdown it was rendered from (see [`NewsItem::source`]).
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Origin::is_folder")]
    pub origin: Origin,
}

/// The town's news, from `news/*.md`, in file name order.
impl Section for Vec<NewsItem> {
    const KEY: &'static str = "news";
}

/// The town's pages, from `pages/*.md`, in file name order.
impl Section for Vec<TownPage> {
    const KEY: &'static str = "pages";
}

/// Every news item of the town, shown or not (see [`current_news`]).
pub fn news(tenant: &Tenant) -> &[NewsItem] {
    tenant.section::<Vec<NewsItem>>()
}

/// The pages the town wrote.
pub fn pages(tenant: &Tenant) -> &[TownPage] {
    tenant.section::<Vec<TownPage>>()
}

#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ContentError {
    pub origin: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewsHeader {
    title: String,
    published: toml::value::Datetime,
    until: Option<toml::value::Datetime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageHeader {
    title: String,
}

fn split<'a>(text: &'a str, origin: &str) -> Result<(&'a str, &'a str), ContentError> {
    let error = |message: &str| ContentError {
        origin: origin.to_owned(),
        message: message.to_owned(),
    };
    let rest = text
        .strip_prefix("+++\n")
        .ok_or_else(|| error("must start with a +++ header (title = \"…\")"))?;
    let (header, body) = rest
        .split_once("\n+++\n")
        .ok_or_else(|| error("the header opened by +++ is not closed"))?;
    if body.trim().is_empty() {
        return Err(error("the text is empty"));
    }
    Ok((header, body.trim()))
}

fn date(value: &toml::value::Datetime, key: &str, origin: &str) -> Result<NaiveDate, ContentError> {
    NaiveDate::parse_from_str(&value.to_string(), "%Y-%m-%d").map_err(|_| ContentError {
        origin: origin.to_owned(),
        message: format!("{key} must be a date such as 2020-04-07"),
    })
}

pub fn parse_news(text: &str, slug: &str, origin: &str) -> Result<NewsItem, ContentError> {
    let text = text.replace("\r\n", "\n");
    let (header, body) = split(&text, origin)?;
    let header: NewsHeader = toml::from_str(header).map_err(|error| ContentError {
        origin: origin.to_owned(),
        message: format!("header: {}", error.to_string().trim_end()),
    })?;
    let published = date(&header.published, "published", origin)?;
    let until = header
        .until
        .as_ref()
        .map(|until| date(until, "until", origin))
        .transpose()?;
    if until.is_some_and(|until| until < published) {
        return Err(ContentError {
            origin: origin.to_owned(),
            message: "until is before published".to_owned(),
        });
    }
    Ok(NewsItem {
        slug: slug.to_owned(),
        title: header.title.trim().to_owned(),
        published,
        until,
        summary: summary_of(body),
        html: crate::terms::render_markdown(body),
        source: body.to_owned(),
        origin: Origin::Folder,
        withdrawn: false,
    })
}

pub fn parse_page(text: &str, slug: &str, origin: &str) -> Result<TownPage, ContentError> {
    if !PAGES.iter().any(|(name, _)| *name == slug) {
        let names: Vec<&str> = PAGES.iter().map(|(name, _)| *name).collect();
        return Err(ContentError {
            origin: origin.to_owned(),
            message: format!("a town page is one of: {}", names.join(", ")),
        });
    }
    let text = text.replace("\r\n", "\n");
    let (header, body) = split(&text, origin)?;
    let header: PageHeader = toml::from_str(header).map_err(|error| ContentError {
        origin: origin.to_owned(),
        message: format!("header: {}", error.to_string().trim_end()),
    })?;
    Ok(TownPage {
        slug: slug.to_owned(),
        title: header.title.trim().to_owned(),
        html: crate::terms::render_markdown(body),
        source: body.to_owned(),
        origin: Origin::Folder,
    })
}

/// The summary of a Markdown text: its first paragraph, as plain text.
pub fn summary_of(markdown: &str) -> String {
    let first = markdown
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .replace('\n', " ");
    plain_text(&first)
}

/// Markdown without its marks, for a summary.
fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Text(text) | Event::Code(text) => Some(text.into_string()),
            Event::SoftBreak | Event::HardBreak => Some(" ".to_owned()),
            _ => None,
        })
        .collect()
}

/// The news shown on `today`, newest first.
pub fn current_news(news: &[NewsItem], today: NaiveDate) -> Vec<&NewsItem> {
    let mut current: Vec<&NewsItem> = news.iter().filter(|item| item.is_current(today)).collect();
    current.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.slug.cmp(&b.slug))
    });
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    const WELCOME: &str = "+++\ntitle = \"Bienvenue sur votre espace privé\"\npublished = 2020-04-07\n+++\nCet espace privé a pour objectif, de *simplifier* vos démarches.\n\nSecond paragraphe.\n";

    #[test]
    fn news_have_a_title_a_date_and_a_plain_summary() {
        let news = parse_news(WELCOME, "bienvenue", "news/bienvenue.md").unwrap();
        assert_eq!(news.title, "Bienvenue sur votre espace privé");
        assert_eq!(news.published, NaiveDate::from_ymd_opt(2020, 4, 7).unwrap());
        assert_eq!(
            news.summary,
            "Cet espace privé a pour objectif, de simplifier vos démarches."
        );
        assert!(news.html.contains("<em>simplifier</em>"));
    }

    #[test]
    fn news_show_between_their_dates_newest_first() {
        let old = parse_news(WELCOME, "a", "a.md").unwrap();
        let ended = parse_news(
            "+++\ntitle = \"Fête\"\npublished = 2020-05-01\nuntil = 2020-05-31\n+++\nTexte.\n",
            "b",
            "b.md",
        )
        .unwrap();
        let all = [old, ended];
        let in_may = current_news(&all, NaiveDate::from_ymd_opt(2020, 5, 10).unwrap());
        assert_eq!(
            in_may.iter().map(|n| n.slug.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        let in_june = current_news(&all, NaiveDate::from_ymd_opt(2020, 6, 15).unwrap());
        assert_eq!(in_june.len(), 1);
    }

    #[test]
    fn broken_files_are_named() {
        let error = parse_news("Pas d'en-tête", "x", "news/x.md")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("news/x.md: "), "{error}");
        let error = parse_news(
            "+++\ntitle = \"T\"\npublished = 2020-13-01\n+++\nT\n",
            "x",
            "news/x.md",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("news/x.md"), "{error}");
        let error = parse_page("+++\ntitle = \"T\"\n+++\nT\n", "autre", "pages/autre.md")
            .unwrap_err()
            .to_string();
        assert!(error.contains("activites"), "{error}");
    }
}
