//! CSV imports of residents' accounts (`/admin/usagers/import`).
//!
//! One row per uploaded file: written at the simulation with the file's
//! text (so that the file executed is the one simulated, found again by its
//! id and SHA-256, never uploaded a second time), then marked executed with
//! its report, kept and downloadable. The text is dropped once executed;
//! simulations never executed are deleted after a day.
//!
//! - `status`: `simulated` or `executed`.
//! - `report`: the lines' outcomes and errors, as JSON (the service's
//!   `ImportReport`); the counts beside it serve the list of imports.
//! - `staff_id`, `staff_label`: who uploaded and executed it, as the
//!   journal names them (no foreign key: a staff member removed later does
//!   not take the town's record with them).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountImport::Table)
                    .col(pk_auto(AccountImport::Id))
                    .col(integer(AccountImport::TenantId))
                    .col(string_len(AccountImport::Status, 16))
                    .col(string_len(AccountImport::FileName, 255))
                    .col(string_len(AccountImport::FileSha256, 64))
                    .col(text_null(AccountImport::Content))
                    .col(boolean(AccountImport::UpdateKnown))
                    .col(integer_null(AccountImport::StaffId))
                    .col(string_len_null(AccountImport::StaffLabel, 255))
                    .col(integer(AccountImport::LineCount))
                    .col(integer(AccountImport::CreatedCount))
                    .col(integer(AccountImport::UpdatedCount))
                    .col(integer(AccountImport::UnchangedCount))
                    .col(integer(AccountImport::ErrorCount))
                    .col(text_null(AccountImport::Report))
                    .col(timestamp_with_time_zone(AccountImport::CreatedAt))
                    .col(timestamp_with_time_zone_null(AccountImport::ExecutedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_import_tenant")
                            .from(AccountImport::Table, AccountImport::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_account_import_status_time")
                    .table(AccountImport::Table)
                    .col(AccountImport::TenantId)
                    .col(AccountImport::Status)
                    .col(AccountImport::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountImport::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AccountImport {
    Table,
    Id,
    TenantId,
    Status,
    FileName,
    FileSha256,
    Content,
    UpdateKnown,
    StaffId,
    StaffLabel,
    LineCount,
    CreatedCount,
    UpdatedCount,
    UnchangedCount,
    ErrorCount,
    Report,
    CreatedAt,
    ExecutedAt,
}
