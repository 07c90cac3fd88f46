//! What the town holds about a resident, read from every declared table
//! (registry.rs), and the archive made of it: `donnees.json` (the data, by
//! table, column names as keys), `donnees.html` (the same, readable, in
//! French, through the town's theme) and the documents issued as PDF files.

use std::io::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use serde::Serialize;
use serde_json::{Map, Value};

use super::declare::{Holds, Kind, Rows, Table};
use super::registry;
use super::rows::{Subject, condition, mentioned, mentions};
use crate::tenancy::Tenant;
use crate::theme::{Theme, ThemeError};

/// The most rows one table gives the export: a bound on a runaway table,
/// far above any real account (a journal of a year's daily logins).
const MAX_ROWS: u64 = 50_000;

/// The data of one declared table.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub table: &'static str,
    pub label: &'static str,
    /// Exported columns: (name, French label).
    #[serde(skip)]
    pub columns: Vec<(&'static str, &'static str)>,
    /// Rows, by column name.
    pub rows: Vec<Map<String, Value>>,
}

/// Everything collected about one account.
#[derive(Debug, Clone)]
pub struct Collected {
    pub sections: Vec<Section>,
    /// Files of the archive beside the JSON and HTML: (path, bytes).
    pub files: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error("cannot render the export's summary: {0}")]
    Theme(#[from] ThemeError),
    #[error("cannot write the archive: {0}")]
    Archive(String),
}

/// Reads every declared table for `subject`.
pub async fn collect(db: &impl ConnectionTrait, subject: &Subject) -> Result<Collected, DbErr> {
    let mut collected = Collected {
        sections: Vec::new(),
        files: Vec::new(),
    };
    for table in registry::residents() {
        let Holds::Resident { rows, columns, .. } = &table.holds else {
            continue;
        };
        let exported: Vec<_> = columns
            .iter()
            .filter_map(|column| column.label.map(|label| (column, label)))
            .collect();
        if exported.is_empty() {
            continue;
        }
        let mut select = Query::select();
        select.from(Alias::new(table.name));
        for (column, _) in &exported {
            select.column(Alias::new(column.name));
        }
        // The mentions are sifted by their key and value, which storage's
        // declaration exports (checked by the mentions' test).
        select
            .cond_where(condition(*rows, subject))
            .order_by(Alias::new(order_column(table)), Order::Asc)
            .limit(MAX_ROWS);
        let found = db.query_all(&select).await?;
        let mut section = Section {
            table: table.name,
            label: table.label,
            columns: exported
                .iter()
                .map(|(column, label)| (column.name, *label))
                .collect(),
            rows: Vec::with_capacity(found.len()),
        };
        for row in found {
            if matches!(rows, Rows::Mentions) {
                let key: String = row.try_get("", "key")?;
                let value: String = row.try_get("", "value")?;
                if !mentions(&key, &value, &subject.identifier) {
                    continue;
                }
            }
            let mut out = Map::new();
            for (column, _) in &exported {
                let value = if column.kind == Kind::Pdf {
                    match row.try_get::<Option<Vec<u8>>>("", column.name)? {
                        Some(bytes) => {
                            let name = format!("documents/{}.pdf", collected.files.len() + 1);
                            collected.files.push((name.clone(), bytes));
                            Value::String(name)
                        }
                        None => Value::Null,
                    }
                } else {
                    read(&row, column.name, column.kind)?
                };
                out.insert(column.name.to_owned(), value);
            }
            section.rows.push(out);
        }
        collected.sections.push(section);
    }
    Ok(collected)
}

/// How many rows each declared table holds for `subject` ("Mes données"),
/// by label, empty ones left out: counted by the database, not read.
pub async fn counts(
    db: &impl ConnectionTrait,
    subject: &Subject,
) -> Result<Vec<(&'static str, u64)>, DbErr> {
    let mut counts = Vec::new();
    for table in registry::residents() {
        let Holds::Resident { rows, columns, .. } = &table.holds else {
            continue;
        };
        if columns.iter().all(|column| column.label.is_none()) {
            continue;
        }
        let count = if matches!(rows, Rows::Mentions) {
            // Sifted as the export sifts them.
            mentioned(db, table.name, subject).await?.len() as u64
        } else {
            let select = Query::select()
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from(Alias::new(table.name))
                .cond_where(condition(*rows, subject))
                .to_owned();
            let found = db.query_one(&select).await?;
            found
                .map(|row| row.try_get::<i64>("", "n"))
                .transpose()?
                .map_or(0, |n| u64::try_from(n).unwrap_or(0))
        };
        if count > 0 {
            counts.push((table.label, count));
        }
    }
    Ok(counts)
}

/// Tables are read in their insertion order: `id` where they have one.
fn order_column(table: &Table) -> &'static str {
    match &table.holds {
        Holds::Resident { columns, .. } if columns.iter().any(|column| column.name == "id") => "id",
        Holds::Resident { columns, .. } => columns.first().map_or("id", |column| column.name),
        _ => "id",
    }
}

fn read(row: &QueryResult, column: &str, kind: Kind) -> Result<Value, DbErr> {
    Ok(match kind {
        Kind::Text => row
            .try_get::<Option<String>>("", column)?
            .map(Value::String)
            .unwrap_or(Value::Null),
        Kind::Int => row
            .try_get::<Option<i32>>("", column)?
            .map(Value::from)
            .unwrap_or(Value::Null),
        Kind::BigInt => row
            .try_get::<Option<i64>>("", column)?
            .map(Value::from)
            .unwrap_or(Value::Null),
        Kind::Bool => row
            .try_get::<Option<bool>>("", column)?
            .map(Value::Bool)
            .unwrap_or(Value::Null),
        Kind::Time => row
            .try_get::<Option<DateTime<Utc>>>("", column)?
            .map(|at| Value::String(at.to_rfc3339()))
            .unwrap_or(Value::Null),
        Kind::Date => row
            .try_get::<Option<NaiveDate>>("", column)?
            .map(|day| Value::String(day.to_string()))
            .unwrap_or(Value::Null),
        Kind::Json => match row.try_get::<Option<String>>("", column)? {
            Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            None => Value::Null,
        },
        // Files are read by `collect`; secrets never.
        Kind::Pdf | Kind::Secret => Value::Null,
    })
}

/// The JSON document of the archive.
#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    commune: &'a str,
    identifiant: &'a str,
    produit_le: String,
    sections: Vec<JsonSection<'a>>,
}

#[derive(Serialize)]
struct JsonSection<'a> {
    table: &'a str,
    titre: &'a str,
    colonnes: Map<String, Value>,
    lignes: &'a [Map<String, Value>],
}

/// The readable summary's context (`privacy/export` of the theme).
#[derive(Serialize)]
struct Summary<'a> {
    town: &'a str,
    identifier: &'a str,
    produced_at: String,
    sections: Vec<SummarySection<'a>>,
}

#[derive(Serialize)]
struct SummarySection<'a> {
    id: &'a str,
    label: &'a str,
    count: usize,
    headers: Vec<&'a str>,
    rows: Vec<Vec<SummaryCell>>,
    /// A section of one row (the account) reads better as a list of
    /// labelled values than as a table twenty columns wide.
    fields: Vec<SummaryField<'a>>,
}

#[derive(Serialize)]
struct SummaryField<'a> {
    label: &'a str,
    cell: SummaryCell,
}

#[derive(Serialize)]
struct SummaryCell {
    text: String,
    /// A file of the archive (a document's PDF).
    file: Option<String>,
    /// JSON shown preformatted.
    pre: bool,
}

/// The archive: `donnees.json`, `donnees.html` and the files.
pub fn archive(
    collected: &Collected,
    tenant: &Tenant,
    theme: &Theme,
    identifier: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ExportError> {
    let local = now.with_timezone(&tenant.timezone);
    let json = Document {
        format: "guichet/donnees-personnelles/1",
        commune: &tenant.display_name,
        identifiant: identifier,
        produit_le: now.to_rfc3339(),
        sections: collected
            .sections
            .iter()
            .map(|section| JsonSection {
                table: section.table,
                titre: section.label,
                colonnes: section
                    .columns
                    .iter()
                    .map(|(name, label)| ((*name).to_owned(), Value::from(*label)))
                    .collect(),
                lignes: &section.rows,
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&json).map_err(|e| ExportError::Archive(e.to_string()))?;
    let summary = Summary {
        town: &tenant.display_name,
        identifier,
        produced_at: crate::format::date_time(&local),
        sections: collected
            .sections
            .iter()
            .map(|section| {
                let single = section.rows.len() == 1;
                SummarySection {
                    id: section.table,
                    label: section.label,
                    count: section.rows.len(),
                    headers: section.columns.iter().map(|(_, label)| *label).collect(),
                    rows: section
                        .rows
                        .iter()
                        .filter(|_| !single)
                        .map(|row| {
                            section
                                .columns
                                .iter()
                                .map(|(name, _)| cell(row.get(*name), tenant))
                                .collect()
                        })
                        .collect(),
                    fields: section
                        .rows
                        .iter()
                        .filter(|_| single)
                        .flat_map(|row| {
                            section.columns.iter().map(|(name, label)| SummaryField {
                                label,
                                cell: cell(row.get(*name), tenant),
                            })
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    let html = theme.render("privacy/export", &summary)?;

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let failed = |e: &dyn std::fmt::Display| ExportError::Archive(e.to_string());
    for (name, bytes) in [
        ("donnees.html", html.as_bytes()),
        ("donnees.json", json.as_slice()),
    ]
    .into_iter()
    .chain(
        collected
            .files
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
    ) {
        zip.start_file(name, options).map_err(|e| failed(&e))?;
        zip.write_all(bytes).map_err(|e| failed(&e))?;
    }
    let cursor = zip.finish().map_err(|e| failed(&e))?;
    Ok(cursor.into_inner())
}

fn cell(value: Option<&Value>, tenant: &Tenant) -> SummaryCell {
    let plain = |text: String| SummaryCell {
        text,
        file: None,
        pre: false,
    };
    match value {
        None | Some(Value::Null) => plain(String::new()),
        Some(Value::Bool(yes)) => plain(if *yes { "oui" } else { "non" }.to_owned()),
        Some(Value::Number(number)) => plain(number.to_string()),
        Some(Value::String(text)) if text.starts_with("documents/") && text.ends_with(".pdf") => {
            SummaryCell {
                text: "Le document (PDF)".to_owned(),
                file: Some(text.clone()),
                pre: false,
            }
        }
        Some(Value::String(text)) => {
            if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                plain(crate::format::date_time(
                    &at.with_timezone(&tenant.timezone),
                ))
            } else if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                plain(crate::format::date(day))
            } else {
                plain(text.clone())
            }
        }
        Some(other) => SummaryCell {
            text: serde_json::to_string_pretty(other).unwrap_or_default(),
            file: None,
            pre: true,
        },
    }
}
