//! The keys the staff's list searches and sorts by, written with the
//! account (creation, e-mail change or correction), never computed at read
//! time: a search is then an index range on both databases.
//!
//! - the sort key: "nom prénom" folded ([`fold`]), the list's order;
//! - the search words: every word of the names, the identifier and the
//!   e-mail address, folded, one `account_search_word` row each. A typed
//!   word matches the accounts with a word that starts with it ("dur" finds
//!   Durand, "helene" finds Hélène); several typed words must all match.
//!
//! Migration 000013 built the keys of the accounts that existed then with
//! a frozen copy of this folding: changing it needs a migration that
//! rebuilds them. Whoever inserts accounts by other means (the CSV import)
//! calls [`index_account`] in the same transaction.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait as _, ConnectionTrait, DbErr, EntityTrait as _, QueryFilter as _};

use super::entity::{account, account_search_word};
use crate::tenancy::TenantScope;

/// The longest word kept (the column's length).
const MAX_WORD_CHARS: usize = 64;
/// The longest sort key kept.
const MAX_SORT_KEY_CHARS: usize = 200;
/// Typed words beyond this many are ignored.
pub const MAX_QUERY_WORDS: usize = 6;

/// Lowercase ASCII: "Hélène D'ARC" → "helene d'arc". Accents and case
/// never matter to a search; the result sorts the same on SQLite (bytes)
/// and PostgreSQL (the columns' "C" collation).
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_ascii_lowercase()
}

/// The list's order: last name, then first name.
pub fn sort_key(first_name: &str, last_name: &str) -> String {
    let key = format!("{} {}", fold(last_name).trim(), fold(first_name).trim());
    key.chars().take(MAX_SORT_KEY_CHARS).collect()
}

/// The distinct folded words of `texts`, split at anything not a letter or
/// a digit ("jean-eric.d-ornano2" → jean, eric, d, ornano2).
pub fn words(texts: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for text in texts {
        for word in fold(text).split(|c: char| !c.is_ascii_alphanumeric()) {
            let word: String = word.chars().take(MAX_WORD_CHARS).collect();
            if !word.is_empty() && !found.contains(&word) {
                found.push(word);
            }
        }
    }
    found
}

/// What a staff member typed, as words to match (at most
/// [`MAX_QUERY_WORDS`]). An e-mail address is searched by the words before
/// its `@`: the domain's words ("example", "fr") belong to thousands of
/// residents and would only make the search slower, not narrower.
pub fn query_words(typed: &str) -> Vec<String> {
    let local = match typed.rsplit_once('@') {
        Some((local, _)) if !local.trim().is_empty() => local,
        _ => typed,
    };
    let mut found = words(&[local]);
    found.truncate(MAX_QUERY_WORDS);
    found
}

/// Writes the account's sort key and search words (replacing the old
/// ones), in the caller's transaction.
pub async fn index_account(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    owner: &account::Model,
) -> Result<(), DbErr> {
    scope
        .update::<account::Entity>()
        .col_expr(
            account::Column::SortKey,
            Expr::value(sort_key(&owner.first_name, &owner.last_name)),
        )
        .filter(account::Column::Id.eq(owner.id))
        .exec(db)
        .await?;
    scope
        .delete::<account_search_word::Entity>()
        .filter(account_search_word::Column::AccountId.eq(owner.id))
        .exec(db)
        .await?;
    let rows: Vec<account_search_word::ActiveModel> = words(&[
        &owner.first_name,
        &owner.last_name,
        &owner.identifier,
        &owner.email,
    ])
    .into_iter()
    .map(|word| account_search_word::ActiveModel {
        tenant_id: sea_orm::ActiveValue::Set(scope.tenant_id().get()),
        account_id: sea_orm::ActiveValue::Set(owner.id),
        word: sea_orm::ActiveValue::Set(word),
    })
    .collect();
    if rows.is_empty() {
        return Ok(());
    }
    account_search_word::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                account_search_word::Column::AccountId,
                account_search_word::Column::Word,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_split() {
        assert_eq!(
            words(&[
                "Jean-Éric",
                "d'ORNANO",
                "jean-eric.d-ornano2",
                "J.Ornano@Exemple.fr"
            ]),
            [
                "jean", "eric", "d", "ornano", "ornano2", "j", "exemple", "fr"
            ]
        );
        assert_eq!(query_words("  HÉLÈNE  "), ["helene"]);
        assert_eq!(query_words("a b c d e f g h").len(), MAX_QUERY_WORDS);
        assert!(query_words(" -- ' ").is_empty());
        assert_eq!(query_words("Marie.Martin@Example.org"), ["marie", "martin"]);
        assert_eq!(query_words("@exemple.fr"), ["exemple", "fr"]);
    }

    #[test]
    fn the_sort_key_is_last_then_first_name() {
        assert_eq!(sort_key("Léa", "Arpège"), "arpege lea");
        assert!(sort_key("Zoé", "Abel") < sort_key("Anne", "Abel-Martin"));
    }
}
