//! The back-office's edits of news and pages: each one reads the town's
//! stored definition under its lock, changes one item (marked
//! [`Origin::BackOffice`]: the database owns it from then on), writes the
//! definition back as `tenant apply` does (every instance learns of it) and
//! records the event in the journal, in one transaction.

use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, DbErr};

use super::{NewsItem, Origin, PAGES, TownPage, summary_of};
use crate::accounts::FieldError;
use crate::audit::{self, Actor, AuditKind, Event};
use crate::tenancy::{Section, TenancyError, Tenant, TenantDefinition, TenantDirectory};

/// Longest title accepted.
const TITLE_MAX: usize = 200;
/// Longest text accepted (a page of the town, not a book).
const TEXT_MAX: usize = 100_000;

/// News as typed in the back-office's form.
#[derive(Debug, Clone, Default)]
pub struct NewsDraft {
    pub title: String,
    pub text: String,
    /// `AAAA-MM-JJ` (an `<input type="date">`) or `JJ/MM/AAAA`.
    pub published: String,
    /// Empty: no end.
    pub until: String,
}

/// A page as typed in the back-office's form.
#[derive(Debug, Clone, Default)]
pub struct PageDraft {
    pub title: String,
    pub text: String,
}

/// What is wrong with a draft, in French, per field (`titre`, `texte`,
/// `publication`, `fin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftErrors(pub Vec<FieldError>);

impl DraftErrors {
    fn add(&mut self, field: &'static str, message: &str) {
        self.0.push(FieldError {
            field,
            message: message.to_owned(),
        });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// No such item in this town.
    #[error("no such item")]
    NotFound,
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("cannot store the definition: {0}")]
    Serialize(#[from] serde_json::Error),
}

fn parse_date(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(value, "%d/%m/%Y"))
        .ok()
}

fn check_title_and_text(title: &str, text: &str, errors: &mut DraftErrors) {
    if title.trim().is_empty() {
        errors.add("titre", "Saisissez un titre.");
    } else if title.trim().chars().count() > TITLE_MAX {
        errors.add("titre", "Le titre ne doit pas dépasser 200 caractères.");
    }
    if text.trim().is_empty() {
        errors.add("texte", "Saisissez le texte.");
    } else if text.len() > TEXT_MAX {
        errors.add(
            "texte",
            "Le texte est trop long (100 000 caractères au plus).",
        );
    }
}

impl NewsDraft {
    /// The news item this draft makes (for the preview too), or what is
    /// wrong with it.
    pub fn check(&self, slug: &str) -> Result<NewsItem, DraftErrors> {
        let mut errors = DraftErrors::default();
        check_title_and_text(&self.title, &self.text, &mut errors);
        let published = parse_date(&self.published);
        if self.published.trim().is_empty() {
            errors.add("publication", "Saisissez la date de publication.");
        } else if published.is_none() {
            errors.add(
                "publication",
                "La date de publication doit être une date, par exemple 07/04/2026.",
            );
        }
        let until = if self.until.trim().is_empty() {
            None
        } else {
            let until = parse_date(&self.until);
            if until.is_none() {
                errors.add(
                    "fin",
                    "La date de fin doit être une date, par exemple 30/04/2026.",
                );
            }
            until
        };
        if let (Some(published), Some(until)) = (published, until)
            && until < published
        {
            errors.add("fin", "La date de fin doit suivre la date de publication.");
        }
        let (Some(published), true) = (published, errors.0.is_empty()) else {
            return Err(errors);
        };
        let text = self.text.replace("\r\n", "\n").trim().to_owned();
        Ok(NewsItem {
            slug: slug.to_owned(),
            title: self.title.trim().to_owned(),
            published,
            until,
            summary: summary_of(&text),
            html: crate::terms::render_markdown(&text),
            source: text,
            origin: Origin::BackOffice,
            withdrawn: false,
        })
    }
}

impl PageDraft {
    /// The page this draft makes (for the preview too), or what is wrong.
    pub fn check(&self, slug: &str) -> Result<TownPage, DraftErrors> {
        let mut errors = DraftErrors::default();
        check_title_and_text(&self.title, &self.text, &mut errors);
        if !errors.0.is_empty() {
            return Err(errors);
        }
        let text = self.text.replace("\r\n", "\n").trim().to_owned();
        Ok(TownPage {
            slug: slug.to_owned(),
            title: self.title.trim().to_owned(),
            html: crate::terms::render_markdown(&text),
            source: text,
            origin: Origin::BackOffice,
        })
    }
}

/// A news address from its title: lower-case ASCII words joined by `-`.
fn slug_of(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "actualite".to_owned()
    } else {
        slug
    }
}

/// The letters French titles use, without their accents.
fn fold_accent(c: char) -> Vec<char> {
    let folded = match c {
        'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'a',
        'ç' | 'Ç' => 'c',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'î' | 'ï' | 'Î' | 'Ï' => 'i',
        'ô' | 'ö' | 'Ô' | 'Ö' => 'o',
        'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ÿ' | 'Ÿ' => 'y',
        'œ' | 'Œ' => return vec!['o', 'e'],
        'æ' | 'Æ' => return vec!['a', 'e'],
        other => other,
    };
    vec![folded]
}

/// The back-office's edits of a town's news and pages. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ContentService {
    db: DatabaseConnection,
    tenants: TenantDirectory,
}

impl ContentService {
    pub fn new(db: DatabaseConnection, tenants: TenantDirectory) -> Self {
        Self { db, tenants }
    }

    /// Creates news (`slug` none: its address comes from its title) or
    /// replaces the news `slug`. Answers its address, or what is wrong with
    /// the draft (nothing written).
    pub async fn save_news(
        &self,
        tenant: &Tenant,
        slug: Option<&str>,
        draft: &NewsDraft,
        actor: Actor,
        origin: &audit::Origin,
    ) -> Result<Result<String, DraftErrors>, EditError> {
        let mut item = match draft.check(slug.unwrap_or_default()) {
            Ok(item) => item,
            Err(errors) => return Ok(Err(errors)),
        };
        let created = slug.is_none();
        let address = self
            .change(tenant, actor, origin, |news: &mut Vec<NewsItem>| {
                match slug {
                    Some(slug) => {
                        let existing = news
                            .iter_mut()
                            .find(|existing| existing.slug == slug)
                            .ok_or(EditError::NotFound)?;
                        *existing = item.clone();
                    }
                    None => {
                        let base = slug_of(&item.title);
                        let mut candidate = base.clone();
                        let mut n = 2;
                        while news.iter().any(|existing| existing.slug == candidate) {
                            candidate = format!("{base}-{n}");
                            n += 1;
                        }
                        item.slug = candidate;
                        news.push(item.clone());
                        news.sort_by(|a, b| a.slug.cmp(&b.slug));
                    }
                }
                let kind = if created {
                    AuditKind::NewsCreated
                } else {
                    AuditKind::NewsEdited
                };
                Ok((
                    kind,
                    format!("{} — {}", item.slug, item.title),
                    item.slug.clone(),
                ))
            })
            .await?;
        Ok(Ok(address))
    }

    /// Unpublishes the news `slug`: kept (and owned by the database), shown
    /// to no resident.
    pub async fn withdraw_news(
        &self,
        tenant: &Tenant,
        slug: &str,
        actor: Actor,
        origin: &audit::Origin,
    ) -> Result<(), EditError> {
        self.change(tenant, actor, origin, |news: &mut Vec<NewsItem>| {
            let existing = news
                .iter_mut()
                .find(|existing| existing.slug == slug)
                .ok_or(EditError::NotFound)?;
            existing.withdrawn = true;
            existing.origin = Origin::BackOffice;
            Ok((AuditKind::NewsWithdrawn, slug.to_owned(), ()))
        })
        .await
    }

    /// Replaces (or writes for the first time) the town page `slug`, one of
    /// [`PAGES`].
    pub async fn save_page(
        &self,
        tenant: &Tenant,
        slug: &str,
        draft: &PageDraft,
        actor: Actor,
        origin: &audit::Origin,
    ) -> Result<Result<(), DraftErrors>, EditError> {
        if !PAGES.iter().any(|(name, _)| *name == slug) {
            return Err(EditError::NotFound);
        }
        let page = match draft.check(slug) {
            Ok(page) => page,
            Err(errors) => return Ok(Err(errors)),
        };
        self.change(tenant, actor, origin, |pages: &mut Vec<TownPage>| {
            match pages.iter_mut().find(|existing| existing.slug == slug) {
                Some(existing) => *existing = page.clone(),
                None => {
                    pages.push(page.clone());
                    pages.sort_by(|a, b| a.slug.cmp(&b.slug));
                }
            }
            Ok((AuditKind::PageEdited, slug.to_owned(), ()))
        })
        .await?;
        Ok(Ok(()))
    }

    /// One change of the section `S` of the town's stored definition, in
    /// one transaction with its journal entry; `edit` answers the event's
    /// kind and detail, and a value for the caller.
    async fn change<S, T>(
        &self,
        tenant: &Tenant,
        actor: Actor,
        origin: &audit::Origin,
        edit: impl FnOnce(&mut S) -> Result<(AuditKind, String, T), EditError>,
    ) -> Result<T, EditError>
    where
        S: Section,
    {
        let txn = crate::db::begin_write(&self.db).await?;
        let stored = self
            .tenants
            .stored_in(&txn, &tenant.slug)
            .await?
            .ok_or(EditError::NotFound)?;
        let mut definition: TenantDefinition = stored.definition.clone();
        let mut section = definition.section::<S>().clone();
        let (kind, detail, answer) = edit(&mut section)?;
        definition.set_section(&section)?;
        self.tenants.apply_in(&txn, &definition).await?;
        audit::record_event(
            &txn,
            stored.scope(),
            Event {
                kind,
                actor,
                subject: None,
                origin,
                detail: Some(detail),
            },
        )
        .await?;
        txn.commit().await?;
        self.tenants.forget_resolved();
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_titles() {
        assert_eq!(slug_of("Fête de l'été 2026 !"), "fete-de-l-ete-2026");
        assert_eq!(slug_of("  ?? "), "actualite");
    }

    #[test]
    fn drafts_say_what_is_wrong_per_field() {
        let draft = NewsDraft {
            title: " ".into(),
            text: "".into(),
            published: "2026-02-30".into(),
            until: "".into(),
        };
        let fields: Vec<&str> = draft
            .check("x")
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["titre", "texte", "publication"]);
        let ends_before = NewsDraft {
            title: "T".into(),
            text: "Texte".into(),
            published: "10/04/2026".into(),
            until: "2026-04-01".into(),
        };
        assert_eq!(ends_before.check("x").unwrap_err().0[0].field, "fin");
    }
}
