//! Version counters of what pages read (core/src/versions): one row per
//! town, subject and resident (0 for the town's own), bumped by triggers on
//! every write to the tables behind them, whatever writes — a resident's
//! action, the data API, the back-office, a closure, a plain SQL statement
//! (PostgreSQL refuses a TRUNCATE of them, which fires no row trigger;
//! SQLite has none).
//! A page reads the counters in one query and reuses what it computed while
//! they have not moved; the database keeps them, so every instance sees a
//! write at once.
//!
//! Subjects: a module's id (its storage: `account_id` 0 for the town's
//! scope), `#household`, `#requests`, `#terms` (the town's versions at 0,
//! a resident's answers at their id) and `#modules` (the town's enabled
//! modules and their configuration).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, subject expression, account expression) for a row `R` (`NEW`
/// or `OLD`).
const SOURCES: &[(&str, &str, &str)] = &[
    ("module_data", "R.module_id", "COALESCE(R.account_id, 0)"),
    ("household_member", "'#household'", "R.account_id"),
    ("request", "'#requests'", "R.account_id"),
    ("terms_version", "'#terms'", "0"),
    ("terms_acceptance", "'#terms'", "R.account_id"),
    ("town_module", "'#modules'", "0"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        // Ordered by town then resident: a page reads its town's rows and
        // its resident's (`account_id IN (0, ?)`) as two short ranges,
        // however many residents the town has.
        connection
            .execute_unprepared(
                "CREATE TABLE data_version (\
                   tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE, \
                   account_id INTEGER NOT NULL, \
                   subject VARCHAR(80) NOT NULL, \
                   version BIGINT NOT NULL, \
                   PRIMARY KEY (tenant_id, account_id, subject))",
            )
            .await?;
        let bump = |row: &str, subject: &str, account: &str| {
            let subject = subject.replace("R.", &format!("{row}."));
            let account = account.replace("R.", &format!("{row}."));
            format!(
                "INSERT INTO data_version (tenant_id, account_id, subject, version) \
                 VALUES ({row}.tenant_id, {account}, {subject}, 1) \
                 ON CONFLICT (tenant_id, account_id, subject) \
                 DO UPDATE SET version = data_version.version + 1;"
            )
        };
        if postgres {
            // A TRUNCATE fires no row trigger: refused, so that no write
            // escapes the counters (delete the rows instead).
            connection
                .execute_unprepared(
                    "CREATE FUNCTION guichet_version_truncate() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ BEGIN \
                       RAISE EXCEPTION 'TRUNCATE of % would bypass the version counters \
                       (data_version): delete its rows instead', TG_TABLE_NAME; \
                     END $$",
                )
                .await?;
        }
        for (table, subject, account) in SOURCES {
            if postgres {
                connection
                    .execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_version_truncate BEFORE TRUNCATE ON {table} \
                         FOR EACH STATEMENT EXECUTE FUNCTION guichet_version_truncate()"
                    ))
                    .await?;
                // One function per table: the row's own columns, no
                // dynamic SQL. An update bumps the old and the new
                // subject (a row moved between residents leaves both).
                connection
                    .execute_unprepared(&format!(
                        "CREATE FUNCTION guichet_version_{table}() RETURNS trigger \
                         LANGUAGE plpgsql AS $$ BEGIN \
                           IF TG_OP <> 'INSERT' THEN {old} END IF; \
                           IF TG_OP <> 'DELETE' THEN {new} END IF; \
                           RETURN NULL; \
                         END $$",
                        old = bump("OLD", subject, account),
                        new = bump("NEW", subject, account),
                    ))
                    .await?;
                connection
                    .execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE \
                         ON {table} FOR EACH ROW EXECUTE FUNCTION guichet_version_{table}()"
                    ))
                    .await?;
            } else {
                for (operation, rows) in [
                    ("INSERT", vec!["NEW"]),
                    ("UPDATE", vec!["OLD", "NEW"]),
                    ("DELETE", vec!["OLD"]),
                ] {
                    let body: String = rows.iter().map(|row| bump(row, subject, account)).collect();
                    connection
                        .execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_version_{op} AFTER {operation} ON {table} \
                             FOR EACH ROW BEGIN {body} END",
                            op = operation.to_lowercase(),
                        ))
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        for (table, _, _) in SOURCES {
            if postgres {
                connection
                    .execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_version ON {table}"
                    ))
                    .await?;
                connection
                    .execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_version_truncate ON {table}"
                    ))
                    .await?;
                connection
                    .execute_unprepared(&format!(
                        "DROP FUNCTION IF EXISTS guichet_version_{table}()"
                    ))
                    .await?;
            } else {
                for op in ["insert", "update", "delete"] {
                    connection
                        .execute_unprepared(&format!("DROP TRIGGER IF EXISTS {table}_version_{op}"))
                        .await?;
                }
            }
        }
        if postgres {
            connection
                .execute_unprepared("DROP FUNCTION IF EXISTS guichet_version_truncate()")
                .await?;
        }
        connection
            .execute_unprepared("DROP TABLE data_version")
            .await?;
        Ok(())
    }
}
