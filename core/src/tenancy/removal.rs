//! `guichet tenant remove`: a town and every row it owns, gone in one
//! transaction, recorded.
//!
//! Which rows a town owns is read from the schema itself, not from a list
//! kept by hand: every table with a `tenant_id` column (the invariant of
//! ARCHITECTURE.md), and every table whose rows hang by a foreign key from
//! such rows (a request's history), deleted children first along the
//! foreign keys, then the town's row. A table added later is removed with
//! the town without anyone remembering to say so — and tenancy, which
//! knows no feature, needs to know none here either.
//!
//! The export (optional) is read in the same transaction, before anything
//! is deleted: a JSON array per table, each row as the database renders it
//! (PostgreSQL's `row_to_json`, SQLite's `json_object`; binary columns as
//! hexadecimal), zipped. The removal itself is kept in `tenant_removal`,
//! which no town owns.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
    TransactionTrait as _,
};

use super::service::{TenancyError, Tenant};

/// What removing a town takes away: rows per table, the town's row apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemovalCounts {
    pub rows: BTreeMap<String, u64>,
}

impl RemovalCounts {
    /// Rows of `table` (0 when it has none).
    pub fn of(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// A town removed.
#[derive(Debug, Clone)]
pub struct Removed {
    /// The rows each table lost.
    pub counts: RemovalCounts,
    /// The export's bytes, when one was asked (written by the caller
    /// before it commits: see [`remove`]).
    pub export_bytes: Option<u64>,
}

/// A table holding rows of towns, and how a town's rows are found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TownTable {
    pub name: String,
    /// The SQL condition on the table's rows (one placeholder, the town's
    /// id): `tenant_id = ?`, or for a table without that column whose
    /// rows hang from a town's rows by a foreign key (a request's
    /// history), `request_id IN (SELECT id FROM request WHERE …)`.
    condition: String,
}

/// A foreign key: `child.column` references `parent.parent_column`.
#[derive(Debug, Clone)]
struct ForeignKey {
    child: String,
    column: String,
    parent: String,
    parent_column: String,
}

/// The tables whose rows belong to a town — those with a `tenant_id`
/// column, and those whose rows reference such rows (or the town's own
/// row) by a foreign key — children before the tables they reference, so
/// that deleting in this order never trips a foreign key (`RESTRICT` ones
/// included).
pub async fn town_tables(db: &impl sea_orm::ConnectionTrait) -> Result<Vec<TownTable>, DbErr> {
    let backend = db.get_database_backend();
    let (tables, keys) = match backend {
        DbBackend::Postgres => (
            "SELECT c.table_name::text AS name, \
                    bool_or(c.column_name = 'tenant_id') AS owned \
             FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
             GROUP BY c.table_name",
            "SELECT child.relname::text AS child, a.attname::text AS column, \
                    parent.relname::text AS parent, pa.attname::text AS parent_column \
             FROM pg_constraint k \
             JOIN pg_class child ON child.oid = k.conrelid \
             JOIN pg_class parent ON parent.oid = k.confrelid \
             JOIN pg_namespace n ON n.oid = child.relnamespace \
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
             JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1] \
             WHERE k.contype = 'f' AND n.nspname = current_schema()",
        ),
        _ => (
            "SELECT m.name AS name, MAX(p.name = 'tenant_id') AS owned \
             FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' GROUP BY m.name",
            "SELECT m.name AS child, f.\"from\" AS column, f.\"table\" AS parent, \
                    COALESCE(f.\"to\", 'id') AS parent_column \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
        ),
    };
    let mut conditions: BTreeMap<String, String> = BTreeMap::new();
    let mut all = BTreeSet::new();
    for row in db
        .query_all_raw(Statement::from_string(backend, tables))
        .await?
    {
        let name: String = row.try_get("", "name")?;
        let owned = match backend {
            DbBackend::Postgres => row.try_get::<bool>("", "owned")?,
            _ => row.try_get::<i64>("", "owned")? != 0,
        };
        if owned {
            conditions.insert(
                name.clone(),
                format!("tenant_id = {}", placeholder(backend)),
            );
        }
        all.insert(name);
    }
    let mut foreign_keys = Vec::new();
    for row in db
        .query_all_raw(Statement::from_string(backend, keys))
        .await?
    {
        let key = ForeignKey {
            child: row.try_get("", "child")?,
            column: row.try_get("", "column")?,
            parent: row.try_get("", "parent")?,
            parent_column: row.try_get("", "parent_column")?,
        };
        if key.child != key.parent {
            foreign_keys.push(key);
        }
    }
    // The tables without `tenant_id` whose rows hang from a town's rows
    // (or from the town's row itself), until no more are found.
    loop {
        let mut found = false;
        for key in &foreign_keys {
            if conditions.contains_key(&key.child) || !all.contains(&key.child) {
                continue;
            }
            let parent = if key.parent == "tenant" {
                Some(format!("id = {}", placeholder(backend)))
            } else {
                conditions.get(&key.parent).cloned()
            };
            if let Some(parent_condition) = parent {
                conditions.insert(
                    key.child.clone(),
                    format!(
                        "{} IN (SELECT {} FROM {} WHERE {parent_condition})",
                        quoted(&key.column),
                        quoted(&key.parent_column),
                        quoted(&key.parent)
                    ),
                );
                found = true;
            }
        }
        if !found {
            break;
        }
    }
    // The town's row itself is deleted last, apart.
    conditions.remove("tenant");
    // Repeatedly take the tables no remaining table references.
    let mut left: BTreeSet<String> = conditions.keys().cloned().collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let free: Vec<String> = left
            .iter()
            .filter(|table| {
                !foreign_keys
                    .iter()
                    .any(|key| &key.parent == *table && left.contains(&key.child))
            })
            .cloned()
            .collect();
        if free.is_empty() {
            return Err(DbErr::Custom(format!(
                "the town's tables reference one another in a cycle: {}",
                left.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        for table in free {
            left.remove(&table);
            let condition = conditions.remove(&table).unwrap_or_default();
            order.push(TownTable {
                name: table,
                condition,
            });
        }
    }
    // The version counters last: triggers bump them while the town's
    // other rows are deleted (versions/mod.rs).
    order.sort_by_key(|table| table.name == crate::versions::TABLE);
    Ok(order)
}

/// The rows `tenant` owns, per table.
pub async fn count(db: &DatabaseConnection, tenant: &Tenant) -> Result<RemovalCounts, DbErr> {
    let tables = town_tables(db).await?;
    count_in(db, &tables, tenant).await
}

async fn count_in(
    db: &impl sea_orm::ConnectionTrait,
    tables: &[TownTable],
    tenant: &Tenant,
) -> Result<RemovalCounts, DbErr> {
    let backend = db.get_database_backend();
    let mut counts = RemovalCounts::default();
    for table in tables {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE {}",
            quoted(&table.name),
            table.condition
        );
        let n = db
            .query_one_raw(for_town(backend, sql, tenant))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        counts
            .rows
            .insert(table.name.clone(), u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

/// Removes `tenant` and every row it owns in one transaction, and records
/// the removal with the rows each table lost. With `export`, the town's
/// rows are first read in that transaction and handed to `export` as a
/// ZIP; the removal commits only if `export` succeeds (it writes the
/// file), so that no town is removed whose export was asked and not
/// written. The export is what the database held when it was read (read
/// committed): a row a resident adds in the seconds between the export
/// and the deletion is deleted without being in it — an operator removes
/// a town its residents no longer use.
pub async fn remove(
    db: &DatabaseConnection,
    tenant: &Tenant,
    export: Option<&mut (dyn FnMut(Vec<u8>) -> std::io::Result<String> + Send)>,
) -> Result<Removed, TenancyError> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    // The town's row first: a concurrent `tenant apply` of the same town
    // waits for this transaction (it locks the row as well).
    lock_town(&txn, tenant).await?;
    let tables = town_tables(&txn).await?;
    let mut export_file = None;
    let mut export_bytes = None;
    if let Some(export) = export {
        let archive = export_archive(&txn, &tables, tenant).await?;
        export_bytes = Some(archive.len() as u64);
        export_file =
            Some(export(archive).map_err(|error| {
                DbErr::Custom(format!("the export could not be written: {error}"))
            })?);
    }
    // What was deleted, as the database says: rows a resident added since
    // the count above are removed too, and counted.
    let mut deleted = RemovalCounts::default();
    for table in &tables {
        let sql = format!(
            "DELETE FROM {} WHERE {}",
            quoted(&table.name),
            table.condition
        );
        let done = txn.execute_raw(for_town(backend, sql, tenant)).await?;
        deleted
            .rows
            .insert(table.name.clone(), done.rows_affected());
    }
    let sql = format!("DELETE FROM tenant WHERE id = {}", placeholder(backend));
    txn.execute_raw(for_town(backend, sql, tenant)).await?;
    record(&txn, tenant, &deleted, export_file.as_deref()).await?;
    super::watch::announce_change(&txn, &tenant.slug).await?;
    txn.commit().await?;
    Ok(Removed {
        counts: deleted,
        export_bytes,
    })
}

async fn lock_town(txn: &DatabaseTransaction, tenant: &Tenant) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT id FROM tenant WHERE id = $1 FOR UPDATE",
        // SQLite: a write now takes the database's write lock at once.
        _ => "UPDATE tenant SET id = id WHERE id = ?",
    };
    txn.execute_raw(for_town(backend, sql, tenant)).await?;
    Ok(())
}

async fn record(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    counts: &RemovalCounts,
    export_file: Option<&str>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let rows = serde_json::to_string(&counts.rows)
        .map_err(|error| DbErr::Custom(format!("cannot record the counts: {error}")))?;
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO tenant_removal (slug, display_name, removed_at, rows_removed, rows_by_table, export_file) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        }
        _ => {
            "INSERT INTO tenant_removal (slug, display_name, removed_at, rows_removed, rows_by_table, export_file) \
             VALUES (?, ?, ?, ?, ?, ?)"
        }
    };
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            tenant.slug.clone().into(),
            tenant.display_name.clone().into(),
            chrono::Utc::now().into(),
            i64::try_from(counts.total()).unwrap_or(i64::MAX).into(),
            rows.into(),
            export_file.map(str::to_owned).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The town's rows as a ZIP: `<table>.json` (an array of rows) for each
/// table, `commune.json` for the town's own row.
async fn export_archive(
    txn: &DatabaseTransaction,
    tables: &[TownTable],
    tenant: &Tenant,
) -> Result<Vec<u8>, DbErr> {
    use std::io::Write as _;
    let zip_error = |error: &dyn std::fmt::Display| DbErr::Custom(format!("export: {error}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut add = |name: String, rows: Vec<String>| -> Result<(), DbErr> {
        zip.start_file(name, options)
            .map_err(|error| zip_error(&error))?;
        let text = format!("[\n{}\n]\n", rows.join(",\n"));
        zip.write_all(text.as_bytes())
            .map_err(|error| zip_error(&error))
    };
    let own_row = format!("id = {}", placeholder(txn.get_database_backend()));
    add(
        "commune.json".to_owned(),
        rows_as_json(txn, "tenant", &own_row, tenant).await?,
    )?;
    for table in tables {
        add(
            format!("{}.json", table.name),
            rows_as_json(txn, &table.name, &table.condition, tenant).await?,
        )?;
    }
    let cursor = zip.finish().map_err(|error| zip_error(&error))?;
    Ok(cursor.into_inner())
}

/// Each row of `table` meeting `condition` (the town's), as a JSON object
/// rendered by the database.
async fn rows_as_json(
    txn: &DatabaseTransaction,
    table: &str,
    condition: &str,
    tenant: &Tenant,
) -> Result<Vec<String>, DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT row_to_json(t)::text AS row FROM {} t WHERE {condition}",
            quoted(table)
        ),
        _ => {
            let columns = txn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    "SELECT name FROM pragma_table_info(?)",
                    [table.into()],
                ))
                .await?;
            let mut pairs = Vec::new();
            for row in columns {
                let name: String = row.try_get("", "name")?;
                let quoted_name = quoted(&name);
                pairs.push(format!(
                    "'{}', CASE WHEN typeof({quoted_name}) = 'blob' THEN hex({quoted_name}) ELSE {quoted_name} END",
                    name.replace('\'', "''")
                ));
            }
            format!(
                "SELECT json_object({}) AS row FROM {} WHERE {condition}",
                pairs.join(", "),
                quoted(table)
            )
        }
    };
    let mut rows = Vec::new();
    for row in txn.query_all_raw(for_town(backend, sql, tenant)).await? {
        rows.push(row.try_get::<String>("", "row")?);
    }
    Ok(rows)
}

/// `sql`, whose one placeholder is the town's id.
fn for_town(backend: DbBackend, sql: impl Into<String>, tenant: &Tenant) -> Statement {
    Statement::from_sql_and_values(backend, sql, [tenant.id().get().into()])
}

/// A table name as an identifier (they come from the schema itself).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn placeholder(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    }
}
