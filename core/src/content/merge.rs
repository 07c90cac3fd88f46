//! What `tenant apply` writes of a town's news and pages: the folder's
//! items, except those the database owns (see the module's "Who owns
//! what").

use super::{NewsItem, Origin, TownPage};
use crate::tenancy::{Section, TenantDefinition};

/// Why `tenant apply` kept the stored item rather than the folder's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftAloneReason {
    /// Edited in the back-office: the database owns it.
    EditedInBackOffice,
    /// Not in the folder (applied from another folder, or created in the
    /// back-office): an apply adds and updates, it never removes.
    NotInFolder,
}

/// An item `tenant apply` left as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftAlone {
    /// `news` or `page`.
    pub kind: &'static str,
    pub slug: String,
    pub reason: LeftAloneReason,
}

trait Item: Clone {
    const KIND: &'static str;
    fn slug(&self) -> &str;
    fn origin(&self) -> Origin;
}

impl Item for NewsItem {
    const KIND: &'static str = "news";
    fn slug(&self) -> &str {
        &self.slug
    }
    fn origin(&self) -> Origin {
        self.origin
    }
}

impl Item for TownPage {
    const KIND: &'static str = "page";
    fn slug(&self) -> &str {
        &self.slug
    }
    fn origin(&self) -> Origin {
        self.origin
    }
}

/// Makes `folder` (a town's definition read from its folder) keep what the
/// stored definition owns: items edited in the back-office, and items the
/// folder does not have. Answers what was left alone.
pub fn merge(
    folder: &mut TenantDefinition,
    stored: &TenantDefinition,
) -> Result<Vec<LeftAlone>, serde_json::Error> {
    let mut left_alone = Vec::new();
    merge_section::<NewsItem>(folder, stored, &mut left_alone)?;
    merge_section::<TownPage>(folder, stored, &mut left_alone)?;
    Ok(left_alone)
}

fn merge_section<I>(
    folder: &mut TenantDefinition,
    stored: &TenantDefinition,
    left_alone: &mut Vec<LeftAlone>,
) -> Result<(), serde_json::Error>
where
    I: Item + Send + Sync + 'static,
    Vec<I>: Section,
{
    let stored_items = stored.section::<Vec<I>>();
    if stored_items.is_empty() {
        return Ok(());
    }
    let mut items: Vec<I> = folder.section::<Vec<I>>().clone();
    for kept in stored_items {
        let in_folder = items.iter().position(|item| item.slug() == kept.slug());
        let reason = match (kept.origin(), in_folder) {
            (Origin::BackOffice, Some(index)) => {
                items[index] = kept.clone();
                LeftAloneReason::EditedInBackOffice
            }
            (Origin::BackOffice, None) => {
                items.push(kept.clone());
                LeftAloneReason::EditedInBackOffice
            }
            (Origin::Folder, Some(_)) => continue,
            (Origin::Folder, None) => {
                items.push(kept.clone());
                LeftAloneReason::NotInFolder
            }
        };
        left_alone.push(LeftAlone {
            kind: I::KIND,
            slug: kept.slug().to_owned(),
            reason,
        });
    }
    // File name order, as a folder gives them.
    items.sort_by(|a, b| a.slug().cmp(b.slug()));
    folder.set_section(&items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::parse_news;

    const TOML: &str = "display_name = \"Test\"\n[mail]\nsender_name = \"Test\"\nsender_address = \"test@example.fr\"\n";

    fn news(slug: &str, title: &str) -> NewsItem {
        let text = format!("+++\ntitle = \"{title}\"\npublished = 2020-04-07\n+++\nTexte.\n");
        parse_news(&text, slug, "x.md").unwrap()
    }

    fn definition(items: &[NewsItem]) -> TenantDefinition {
        let mut definition = TenantDefinition::from_toml(TOML, "test", "t").unwrap();
        if !items.is_empty() {
            definition.set_section(&items.to_vec()).unwrap();
        }
        definition
    }

    #[test]
    fn the_back_office_keeps_its_edits_and_the_folder_never_removes() {
        let mut edited = news("a", "Modifiée");
        edited.origin = Origin::BackOffice;
        let stored = definition(&[edited.clone(), news("b", "B"), news("c", "Ancienne")]);
        let mut folder = definition(&[news("a", "Du dossier"), news("c", "Nouvelle")]);
        let left = merge(&mut folder, &stored).unwrap();
        let titles: Vec<(&str, &str)> = folder
            .section::<Vec<NewsItem>>()
            .iter()
            .map(|item| (item.slug.as_str(), item.title.as_str()))
            .collect();
        assert_eq!(titles, [("a", "Modifiée"), ("b", "B"), ("c", "Nouvelle")]);
        assert_eq!(
            left.iter()
                .map(|l| (l.slug.as_str(), l.reason))
                .collect::<Vec<_>>(),
            [
                ("a", LeftAloneReason::EditedInBackOffice),
                ("b", LeftAloneReason::NotInFolder)
            ]
        );
    }
}
