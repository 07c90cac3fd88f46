//! Towns and the host names they answer on.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenant::Table)
                    .col(pk_auto(Tenant::Id))
                    .col(string_len_uniq(Tenant::Slug, 63))
                    .col(string(Tenant::DisplayName))
                    .col(string_len(Tenant::Theme, 63))
                    .col(string_len(Tenant::Timezone, 64))
                    // The whole validated `tenant.toml`, as JSON: settings that
                    // later features read without a schema change each time.
                    .col(text(Tenant::Definition))
                    // SHA-256 of the definition: `tenant apply` is a no-op
                    // when nothing changed.
                    .col(string_len(Tenant::DefinitionHash, 64))
                    .col(timestamp_with_time_zone(Tenant::CreatedAt))
                    .col(timestamp_with_time_zone(Tenant::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TenantHostname::Table)
                    // A custom domain belongs to exactly one town.
                    .col(string_len(TenantHostname::Hostname, 253).primary_key())
                    .col(integer(TenantHostname::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tenant_hostname_tenant")
                            .from(TenantHostname::Table, TenantHostname::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_tenant_hostname_tenant_id")
                    .table(TenantHostname::Table)
                    .col(TenantHostname::TenantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TenantHostname::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tenant::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
    Slug,
    DisplayName,
    Theme,
    Timezone,
    Definition,
    DefinitionHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TenantHostname {
    Table,
    Hostname,
    TenantId,
}
