//! Module storage quotas and release publishers.
//!
//! - `module_usage` and `module_resident_usage`: how much a module stores in
//!   a town (its town data and every resident's together) and for one
//!   resident, kept up to date by every write, so that a quota is checked
//!   against two rows instead of summing values on every call. Filled here
//!   from the values already stored.
//! - `town_module.resident_quota_kib` / `town_quota_kib`: a town's own
//!   quotas for a module (`tenant.toml`), null for the server's defaults.
//! - `module_release.publisher`: "guichet" for the binary's own modules,
//!   "third-party" for the rest. Existing releases start as third-party;
//!   the binary claims its own (by their bytes) when it next publishes them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What one stored entry counts for beside its key and value: the row.
/// Must equal `storage::ENTRY_OVERHEAD_BYTES` in the core.
const ENTRY_OVERHEAD_BYTES: i64 = 64;

fn tenant_fk(table: impl IntoIden + Copy + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("tenant_id"))
        .to(Alias::new("tenant"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModuleUsage::Table)
                    .col(pk_auto(ModuleUsage::Id))
                    .col(integer(ModuleUsage::TenantId))
                    .col(string_len(ModuleUsage::ModuleId, 64))
                    .col(big_integer(ModuleUsage::Bytes))
                    .col(big_integer(ModuleUsage::Entries))
                    .foreign_key(&mut tenant_fk(ModuleUsage::Table, "fk_module_usage_tenant"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_module_usage")
                    .table(ModuleUsage::Table)
                    .col(ModuleUsage::TenantId)
                    .col(ModuleUsage::ModuleId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ModuleResidentUsage::Table)
                    .col(pk_auto(ModuleResidentUsage::Id))
                    .col(integer(ModuleResidentUsage::TenantId))
                    .col(string_len(ModuleResidentUsage::ModuleId, 64))
                    .col(integer(ModuleResidentUsage::AccountId))
                    .col(big_integer(ModuleResidentUsage::Bytes))
                    .col(big_integer(ModuleResidentUsage::Entries))
                    .foreign_key(&mut tenant_fk(
                        ModuleResidentUsage::Table,
                        "fk_module_resident_usage_tenant",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_module_resident_usage_account")
                            .from(ModuleResidentUsage::Table, ModuleResidentUsage::AccountId)
                            .to(Alias::new("account"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_module_resident_usage")
                    .table(ModuleResidentUsage::Table)
                    .col(ModuleResidentUsage::TenantId)
                    .col(ModuleResidentUsage::ModuleId)
                    .col(ModuleResidentUsage::AccountId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // The values already stored, counted as the core counts them: key and
        // value in bytes, plus the row.
        let size = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "octet_length(key) + octet_length(value)",
            _ => "length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))",
        };
        let connection = manager.get_connection();
        connection
            .execute_unprepared(&format!(
                "INSERT INTO module_usage (tenant_id, module_id, bytes, entries) \
                 SELECT tenant_id, module_id, SUM({size} + {ENTRY_OVERHEAD_BYTES}), COUNT(*) \
                 FROM module_data GROUP BY tenant_id, module_id"
            ))
            .await?;
        connection
            .execute_unprepared(&format!(
                "INSERT INTO module_resident_usage (tenant_id, module_id, account_id, bytes, entries) \
                 SELECT tenant_id, module_id, account_id, SUM({size} + {ENTRY_OVERHEAD_BYTES}), COUNT(*) \
                 FROM module_data WHERE account_id IS NOT NULL \
                 GROUP BY tenant_id, module_id, account_id"
            ))
            .await?;

        // One column per statement: SQLite adds columns one at a time.
        for column in [TownModule::ResidentQuotaKib, TownModule::TownQuotaKib] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TownModule::Table)
                        .add_column(big_integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ModuleRelease::Table)
                    .add_column(string_len(ModuleRelease::Publisher, 16).default("third-party"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ModuleRelease::Table)
                    .drop_column(ModuleRelease::Publisher)
                    .to_owned(),
            )
            .await?;
        for column in [TownModule::TownQuotaKib, TownModule::ResidentQuotaKib] {
            manager
                .alter_table(
                    Table::alter()
                        .table(TownModule::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            ModuleResidentUsage::Table.into_iden(),
            ModuleUsage::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ModuleUsage {
    Table,
    Id,
    TenantId,
    ModuleId,
    Bytes,
    Entries,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModuleResidentUsage {
    Table,
    Id,
    TenantId,
    ModuleId,
    AccountId,
    Bytes,
    Entries,
}

#[derive(DeriveIden, Clone, Copy)]
enum TownModule {
    Table,
    ResidentQuotaKib,
    TownQuotaKib,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModuleRelease {
    Table,
    Publisher,
}
