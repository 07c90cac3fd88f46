//! Service modules (published components, each town's enabled modules, their
//! scoped storage, the data API's keys) and the core data modules reach
//! through the host: households and requests ("demandes").

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tenant_fk(table: impl IntoIden + Copy + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("tenant_id"))
        .to(Alias::new("tenant"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn account_fk(table: impl IntoIden + Copy + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("account_id"))
        .to(Alias::new("account"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModuleRelease::Table)
                    .col(pk_auto(ModuleRelease::Id))
                    .col(string_len(ModuleRelease::ModuleId, 64))
                    .col(string_len(ModuleRelease::Version, 64))
                    // The WIT interface version the component was built against.
                    .col(string_len(ModuleRelease::Interface, 32))
                    .col(string_len(ModuleRelease::Sha256, 64))
                    .col(text(ModuleRelease::Manifest))
                    .col(blob(ModuleRelease::Component))
                    .col(timestamp_with_time_zone(ModuleRelease::PublishedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_module_release_version")
                    .table(ModuleRelease::Table)
                    .col(ModuleRelease::ModuleId)
                    .col(ModuleRelease::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TownModule::Table)
                    .col(pk_auto(TownModule::Id))
                    .col(integer(TownModule::TenantId))
                    .col(string_len(TownModule::ModuleId, 64))
                    // As written in tenant.toml, e.g. "^0.1".
                    .col(string_len(TownModule::Requirement, 64))
                    // The release it resolved to when the town was applied.
                    .col(integer(TownModule::ModuleReleaseId))
                    .col(text(TownModule::Config))
                    .col(integer(TownModule::Position))
                    .foreign_key(&mut tenant_fk(TownModule::Table, "fk_town_module_tenant"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_town_module_release")
                            .from(TownModule::Table, TownModule::ModuleReleaseId)
                            .to(ModuleRelease::Table, ModuleRelease::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_town_module_module")
                    .table(TownModule::Table)
                    .col(TownModule::TenantId)
                    .col(TownModule::ModuleId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ModuleData::Table)
                    .col(pk_auto(ModuleData::Id))
                    .col(integer(ModuleData::TenantId))
                    .col(string_len(ModuleData::ModuleId, 64))
                    // Null: the town's data; otherwise the resident's.
                    .col(integer_null(ModuleData::AccountId))
                    .col(string_len(ModuleData::Key, 200))
                    .col(text(ModuleData::Value))
                    .col(timestamp_with_time_zone(ModuleData::UpdatedAt))
                    .foreign_key(&mut tenant_fk(ModuleData::Table, "fk_module_data_tenant"))
                    .foreign_key(&mut account_fk(ModuleData::Table, "fk_module_data_account"))
                    .to_owned(),
            )
            .await?;
        // One value per key and scope; NULLs are distinct in a plain unique
        // index, hence one partial index per scope (same syntax on SQLite and
        // PostgreSQL).
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_module_data_town ON module_data \
                 (tenant_id, module_id, key) WHERE account_id IS NULL",
            )
            .await?;
        connection
            .execute_unprepared(
                "CREATE UNIQUE INDEX idx_module_data_resident ON module_data \
                 (tenant_id, module_id, account_id, key) WHERE account_id IS NOT NULL",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKey::Table)
                    .col(pk_auto(ApiKey::Id))
                    .col(integer(ApiKey::TenantId))
                    .col(string_len(ApiKey::Name, 120))
                    // The first characters of the key, to recognise it in lists.
                    .col(string_len(ApiKey::Prefix, 16))
                    .col(string_len(ApiKey::TokenHash, 64).unique_key())
                    .col(timestamp_with_time_zone(ApiKey::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::RevokedAt))
                    .foreign_key(&mut tenant_fk(ApiKey::Table, "fk_api_key_tenant"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(HouseholdMember::Table)
                    .col(pk_auto(HouseholdMember::Id))
                    .col(integer(HouseholdMember::TenantId))
                    .col(integer(HouseholdMember::AccountId))
                    .col(string_len(HouseholdMember::FirstName, 100))
                    .col(string_len(HouseholdMember::LastName, 100))
                    .col(date_null(HouseholdMember::BirthDate))
                    .col(string_len(HouseholdMember::Relation, 16))
                    // The town software's own identifier, for its pushes.
                    .col(string_len_null(HouseholdMember::ExternalRef, 64))
                    .col(timestamp_with_time_zone(HouseholdMember::CreatedAt))
                    .foreign_key(&mut tenant_fk(
                        HouseholdMember::Table,
                        "fk_household_member_tenant",
                    ))
                    .foreign_key(&mut account_fk(
                        HouseholdMember::Table,
                        "fk_household_member_account",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_household_member_account")
                    .table(HouseholdMember::Table)
                    .col(HouseholdMember::TenantId)
                    .col(HouseholdMember::AccountId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Request::Table)
                    .col(pk_auto(Request::Id))
                    .col(integer(Request::TenantId))
                    .col(integer(Request::AccountId))
                    // Shown to the resident, e.g. "D-2020-000042".
                    .col(string_len(Request::Reference, 32))
                    .col(string_len(Request::Kind, 64))
                    .col(string_len_null(Request::ModuleId, 64))
                    .col(string_len(Request::Title, 200))
                    // JSON list of [label, value] pairs.
                    .col(text(Request::Details))
                    .col(string_len(Request::Status, 16))
                    .col(timestamp_with_time_zone(Request::CreatedAt))
                    .col(timestamp_with_time_zone(Request::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Request::Table, "fk_request_tenant"))
                    .foreign_key(&mut account_fk(Request::Table, "fk_request_account"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_request_reference")
                    .table(Request::Table)
                    .col(Request::TenantId)
                    .col(Request::Reference)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RequestEvent::Table)
                    .col(pk_auto(RequestEvent::Id))
                    .col(integer(RequestEvent::RequestId))
                    .col(string_len(RequestEvent::Status, 16))
                    .col(string_len_null(RequestEvent::Note, 500))
                    .col(timestamp_with_time_zone(RequestEvent::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_request_event_request")
                            .from(RequestEvent::Table, RequestEvent::RequestId)
                            .to(Request::Table, Request::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RequestEvent::Table.into_iden(),
            Request::Table.into_iden(),
            HouseholdMember::Table.into_iden(),
            ApiKey::Table.into_iden(),
            ModuleData::Table.into_iden(),
            TownModule::Table.into_iden(),
            ModuleRelease::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ModuleRelease {
    Table,
    Id,
    ModuleId,
    Version,
    Interface,
    Sha256,
    Manifest,
    Component,
    PublishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum TownModule {
    Table,
    Id,
    TenantId,
    ModuleId,
    Requirement,
    ModuleReleaseId,
    Config,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum ModuleData {
    Table,
    Id,
    TenantId,
    ModuleId,
    AccountId,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKey {
    Table,
    Id,
    TenantId,
    Name,
    Prefix,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum HouseholdMember {
    Table,
    Id,
    TenantId,
    AccountId,
    FirstName,
    LastName,
    BirthDate,
    Relation,
    ExternalRef,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Request {
    Table,
    Id,
    TenantId,
    AccountId,
    Reference,
    Kind,
    ModuleId,
    Title,
    Details,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestEvent {
    Table,
    Id,
    RequestId,
    Status,
    Note,
    At,
}
