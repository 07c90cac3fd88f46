//! Towns removed (`guichet tenant remove`, core/src/tenancy/removal.rs):
//! which town, when, how many rows went with it (per table, as JSON) and
//! where its export was written, if one was. Owned by no town: it outlives
//! the rows it counts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TenantRemoval::Table)
                    .col(pk_auto(TenantRemoval::Id))
                    .col(string(TenantRemoval::Slug))
                    .col(string(TenantRemoval::DisplayName))
                    .col(timestamp_with_time_zone(TenantRemoval::RemovedAt))
                    .col(big_integer(TenantRemoval::RowsRemoved))
                    .col(text(TenantRemoval::RowsByTable))
                    .col(text_null(TenantRemoval::ExportFile))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantRemoval::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TenantRemoval {
    Table,
    Id,
    Slug,
    DisplayName,
    RemovedAt,
    RowsRemoved,
    RowsByTable,
    ExportFile,
}
