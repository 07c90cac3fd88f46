//! A resident's rows of a declared table, as a SQL condition: what the
//! export reads and the closure deletes or rewrites. Written with
//! sea-query, so that SQLite and PostgreSQL read the same declarations.

use sea_orm::sea_query::{Alias, Cond, Condition, Expr, ExprTrait as _, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::Value;

use super::declare::Rows;

/// Whose data: read once, before anything is erased (the closure's
/// conditions name the address and identifier the rows held).
#[derive(Debug, Clone)]
pub struct Subject {
    pub tenant_id: i32,
    pub account_id: i32,
    pub identifier: String,
    /// The address as typed and lower-cased (the accounts' `email_key`).
    pub email: String,
    pub email_key: String,
}

fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

/// The rows of `rows` that are the subject's. Tables whose rows carry no
/// `tenant_id` (a request's history) are reached through their parent's.
pub fn condition(rows: Rows, subject: &Subject) -> Condition {
    let tenant = col("tenant_id").eq(subject.tenant_id);
    let account = subject.account_id;
    match rows {
        Rows::Account => Cond::all().add(tenant).add(col("id").eq(account)),
        Rows::Column(column) => Cond::all().add(tenant).add(col(column).eq(account)),
        Rows::Parent {
            column,
            parent,
            parent_column,
        } => Cond::all().add(
            col(column).in_subquery(
                Query::select()
                    .column(Alias::new("id"))
                    .from(Alias::new(parent))
                    .and_where(col("tenant_id").eq(subject.tenant_id))
                    .and_where(col(parent_column).eq(account))
                    .to_owned(),
            ),
        ),
        Rows::Journal => Cond::all().add(tenant).add(
            Cond::any().add(col("account_id").eq(account)).add(
                Cond::all()
                    .add(col("actor_kind").eq("resident"))
                    .add(col("actor_id").eq(account)),
            ),
        ),
        // As the outbox wrote it: the address as it was typed (mails are
        // addressed to `email`), or lower-cased.
        Rows::Recipient(column) => Cond::all()
            .add(tenant)
            .add(col(column).is_in([subject.email.as_str(), subject.email_key.as_str()])),
        Rows::ThrottleKeys => Cond::all().add(tenant).add(
            Cond::any()
                .add(col("key").is_in([
                    format!("account:{account}"),
                    format!("mail-to:{account}"),
                    format!("name:{}", subject.identifier),
                    format!("name:{}", subject.email_key),
                ]))
                .add(col("key").like(format!("device:{account}:%"))),
        ),
        // A first sieve; `mentions` keeps the rows that really name the
        // resident (a key's segment, a JSON string).
        Rows::Mentions => Cond::all()
            .add(tenant)
            .add(col("account_id").is_null())
            .add(
                Cond::any()
                    .add(col("key").like(format!("%{}%", subject.identifier)))
                    .add(col("value").like(format!("%\"{}\"%", subject.identifier))),
            ),
    }
}

/// The town-storage entries of `table` that name the subject: (id, key,
/// value), sifted from what the `Mentions` condition lets through.
pub async fn mentioned(
    db: &impl ConnectionTrait,
    table: &str,
    subject: &Subject,
) -> Result<Vec<(i32, String, String)>, DbErr> {
    let select = Query::select()
        .columns([Alias::new("id"), Alias::new("key"), Alias::new("value")])
        .from(Alias::new(table))
        .cond_where(condition(Rows::Mentions, subject))
        .to_owned();
    let mut found = Vec::new();
    for row in db.query_all(&select).await? {
        let id: i32 = row.try_get("", "id")?;
        let key: String = row.try_get("", "key")?;
        let value: String = row.try_get("", "value")?;
        if mentions(&key, &value, &subject.identifier) {
            found.push((id, key, value));
        }
    }
    Ok(found)
}

/// Whether a town-storage entry names `reference`: as a segment of its key
/// (`family:<resident>:…`, `booking:…:<resident>~<child>`) or as a string
/// anywhere in its JSON value (`"resident": "<resident>"`).
pub fn mentions(key: &str, value: &str, reference: &str) -> bool {
    let in_key = key
        .split([':', '~', '|'])
        .any(|segment| segment == reference);
    in_key
        || serde_json::from_str::<Value>(value)
            .map(|value| names(&value, reference))
            .unwrap_or(false)
}

fn names(value: &Value, reference: &str) -> bool {
    match value {
        Value::String(text) => text == reference,
        Value::Array(items) => items.iter().any(|item| names(item, reference)),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key == reference || names(item, reference)),
        _ => false,
    }
}

/// What names a person in a module's values: exact names (first names,
/// full and formal forms: "Monsieur ARPEGE"), and surnames, which also
/// erase any text holding them as a word ("Léa ARPEGE", "famille Arpège").
/// Compared case-insensitively over Unicode.
#[derive(Debug, Clone, Default)]
pub struct Names {
    exact: Vec<String>,
    surnames: Vec<String>,
}

impl Names {
    pub fn new(exact: &[String], surnames: &[String]) -> Self {
        let fold = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .map(|name| name.trim().to_lowercase())
                .filter(|name| name.chars().count() > 1)
                .collect()
        };
        Self {
            exact: fold(exact),
            surnames: fold(surnames),
        }
    }

    /// Whether `text` names the person.
    pub fn name(&self, text: &str) -> bool {
        let text = text.trim().to_lowercase();
        if self
            .exact
            .iter()
            .chain(&self.surnames)
            .any(|name| *name == text)
        {
            return true;
        }
        text.split(|c: char| !c.is_alphanumeric())
            .any(|word| self.surnames.iter().any(|surname| surname == word))
            || self.surnames.iter().any(|surname| {
                // A compound surname ("Le Gall", "Martin-Dupont"), as words.
                surname.contains(|c: char| !c.is_alphanumeric()) && text.contains(surname.as_str())
            })
    }
}

/// A town-storage entry rewritten for a closed account: `reference` becomes
/// `pseudonym` in the key's segments and in the value's strings and object
/// keys, and every string of the value that names the person (see
/// [`Names`]) becomes "—". The module's own structure is kept: counts,
/// dates, prices stay what the town bills.
pub fn rewrite(
    key: &str,
    value: &str,
    reference: &str,
    pseudonym: &str,
    names: &Names,
) -> (String, String) {
    let mut new_key = String::with_capacity(key.len());
    let mut segment = String::new();
    for c in key.chars() {
        if matches!(c, ':' | '~' | '|') {
            new_key.push_str(if segment == reference {
                pseudonym
            } else {
                &segment
            });
            new_key.push(c);
            segment.clear();
        } else {
            segment.push(c);
        }
    }
    new_key.push_str(if segment == reference {
        pseudonym
    } else {
        &segment
    });
    let new_value = match serde_json::from_str::<Value>(value) {
        Ok(mut parsed) => {
            erase(&mut parsed, reference, pseudonym, names);
            parsed.to_string()
        }
        // Not JSON (a module may store text): its mentions replaced.
        Err(_) => value.replace(reference, pseudonym),
    };
    (new_key, new_value)
}

fn erase(value: &mut Value, reference: &str, pseudonym: &str, names: &Names) {
    match value {
        Value::String(text) => {
            if text == reference {
                *text = pseudonym.to_owned();
            } else if names.name(text) {
                *text = "—".to_owned();
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| erase(item, reference, pseudonym, names)),
        Value::Object(map) => {
            if let Some(item) = map.remove(reference) {
                map.insert(pseudonym.to_owned(), item);
            }
            map.values_mut()
                .for_each(|item| erase(item, reference, pseudonym, names));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_found_as_a_segment_or_a_string_only() {
        let me = "michel.arpege";
        assert!(mentions(
            "family:michel.arpege:2026-09-07:cantine:3",
            "{}",
            me
        ));
        assert!(mentions(
            "booking:cantine:2026-09-07:michel.arpege~3",
            "{}",
            me
        ));
        assert!(mentions(
            "waiting:cantine:2026-09-07:0000000001",
            r#"{"resident":"michel.arpege"}"#,
            me
        ));
        assert!(!mentions(
            "family:michel.arpege2:2026-09-07:cantine:3",
            "{}",
            me
        ));
        assert!(!mentions(
            "day:cantine:2026-09-07",
            r#"{"note":"michel.arpege et Léa"}"#,
            me
        ));
    }

    #[test]
    fn a_rewritten_entry_keeps_its_structure_and_loses_the_names() {
        let names = Names::new(
            &[
                "Léa".to_owned(),
                "Michel".to_owned(),
                "Monsieur ARPÈGE".to_owned(),
            ],
            &["Arpège".to_owned()],
        );
        let (key, value) = rewrite(
            "booking:cantine:2026-09-07:michel.arpege~3",
            r#"{"resident":"michel.arpege","family":"Monsieur ARPÈGE","child_name":"léa","note":"pour Léa ARPÈGE","activity":"cantine","price_cents":420,"late":false,"by":{"michel.arpege":1}}"#,
            "michel.arpege",
            "anonyme-x",
            &names,
        );
        assert_eq!(key, "booking:cantine:2026-09-07:anonyme-x~3");
        let value: Value = serde_json::from_str(&value).unwrap();
        assert_eq!(value["resident"], "anonyme-x");
        for erased in ["family", "child_name", "note"] {
            assert_eq!(value[erased], "—", "{erased}");
        }
        assert_eq!(value["activity"], "cantine");
        assert_eq!(value["price_cents"], 420);
        assert_eq!(value["by"]["anonyme-x"], 1);
        assert!(value["by"].get("michel.arpege").is_none());
    }
}
