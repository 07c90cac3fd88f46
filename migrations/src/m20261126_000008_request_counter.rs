//! One request counter per town. A reference ("D-2026-000042") used to be
//! numbered from a count of the town's requests, read then written: two
//! submissions at once on PostgreSQL read the same count and the second hit
//! the unique index. The next number is now taken by one atomic upsert on
//! this row.
//!
//! The counter starts where each town's numbering stands: the highest number
//! among its references (not their count, which falls behind once requests
//! are deleted with their account, and would hand out a number again).

use std::collections::BTreeMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::Statement;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RequestCounter::Table)
                    .col(
                        ColumnDef::new(RequestCounter::TenantId)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RequestCounter::LastValue)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_request_counter_tenant")
                            .from(RequestCounter::Table, RequestCounter::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Read in Rust rather than cast in SQL: a reference that does not
        // end in digits would stop PostgreSQL's CAST (and the migration).
        let connection = manager.get_connection();
        let rows = connection
            .query_all_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT tenant_id, reference FROM request",
            ))
            .await?;
        let mut last: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
        for row in rows {
            let tenant_id: i32 = row.try_get("", "tenant_id")?;
            let reference: String = row.try_get("", "reference")?;
            let number = reference
                .rsplit('-')
                .next()
                .and_then(|digits| digits.parse::<i64>().ok())
                .unwrap_or(0);
            let (count, highest) = last.entry(tenant_id).or_default();
            *count += 1;
            *highest = Ord::max(*highest, number);
        }
        for (tenant_id, (count, highest)) in last {
            // The count too: a town whose references were all unreadable
            // still starts past its number of requests, as it did.
            manager
                .exec_stmt(
                    Query::insert()
                        .into_table(RequestCounter::Table)
                        .columns([RequestCounter::TenantId, RequestCounter::LastValue])
                        .values([tenant_id.into(), Ord::max(count, highest).into()])
                        .map_err(|error| DbErr::Migration(error.to_string()))?
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RequestCounter::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestCounter {
    Table,
    TenantId,
    LastValue,
}
