//! Module storage keys compared byte by byte on PostgreSQL, as SQLite
//! always did.
//!
//! Keys are identifiers a module chose (`day:cantine:2026-12-08`), not
//! words: under the database's linguistic collation PostgreSQL ordered
//! them otherwise than SQLite (punctuation and case weigh less), and could
//! not use the key index for a prefix (`LIKE 'waiting:cantine:…%'`), so
//! every `list` or `count` of a module read all its entries in the town —
//! while a booking's day lock was held. Under `"C"` both databases give
//! modules the same order, and prefixes are index ranges.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        key_collation(manager, "\"C\"").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        key_collation(manager, "\"default\"").await
    }
}

/// On PostgreSQL, compares `module_data.key` under `collation` (the two
/// unique indexes on the key are rebuilt with it); SQLite always compares
/// bytes.
async fn key_collation(manager: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE module_data ALTER COLUMN key TYPE varchar(200) COLLATE {collation}"
        ))
        .await?;
    Ok(())
}
