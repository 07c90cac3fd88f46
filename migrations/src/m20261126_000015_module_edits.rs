//! `town_module_edit`: the modules a town's administrators changed in the
//! back-office (enabled, disabled, moved to another release, configured).
//! From then on the module's row belongs to the database: `tenant apply`
//! and `guichet module upgrade` leave it alone and say so (see
//! ARCHITECTURE.md, "Who owns what"). A disabled module keeps its row here,
//! so that applying the folder again does not enable it behind the
//! administrators' back.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TownModuleEdit::Table)
                    .col(pk_auto(TownModuleEdit::Id))
                    .col(integer(TownModuleEdit::TenantId))
                    .col(string_len(TownModuleEdit::ModuleId, 64))
                    .col(timestamp_with_time_zone(TownModuleEdit::EditedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_town_module_edit_tenant")
                            .from(TownModuleEdit::Table, TownModuleEdit::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_town_module_edit")
                    .table(TownModuleEdit::Table)
                    .col(TownModuleEdit::TenantId)
                    .col(TownModuleEdit::ModuleId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TownModuleEdit::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TownModuleEdit {
    Table,
    Id,
    TenantId,
    ModuleId,
    EditedAt,
}
