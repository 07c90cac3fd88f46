//! Residents' rights over their data (core/src/privacy/).
//!
//! - `account`: when the resident asked to close it (`closure_requested_at`)
//!   and when the closure takes effect (`closes_at`, after the town's grace
//!   period; a login before clears both), when the inactivity warning was
//!   sent (`inactivity_warned_at`, cleared by a login) and when it was
//!   closed (`closed_at`: the row is then a pseudonym, its personal columns
//!   emptied, kept only as what the records the law keeps point to).
//! - `data_export`: one export of a resident's data (asked by the resident
//!   or by a staff member), produced in the background; its archive is kept
//!   until it is downloaded or expires, then deleted (the row stays as the
//!   record that an export was made). The download link's token is stored
//!   hashed.
//! - `retention_run`: each run of a retention job and what it did.
//! - `retired_identifier`: the digests (SHA-256 of town and identifier) of
//!   the identifiers of closed accounts, linked to no account: an
//!   identifier is never given to someone else (the town's software names
//!   residents by identifier).
//! - `privacy_settings`: the notice's controller and DPO and the periods as
//!   the back-office set them; a town without a row uses `[privacy]` of its
//!   `tenant.toml`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const ACCOUNT_COLUMNS: [&str; 4] = [
    "closure_requested_at",
    "closes_at",
    "inactivity_warned_at",
    "closed_at",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one at a time.
        for column in ACCOUNT_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("account"))
                        .add_column(timestamp_with_time_zone_null(Alias::new(column)))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DataExport::Table)
                    .col(pk_auto(DataExport::Id))
                    .col(integer(DataExport::TenantId))
                    .col(integer(DataExport::AccountId))
                    .col(string_len(DataExport::RequestedBy, 16))
                    .col(string_len_null(DataExport::StaffLabel, 200))
                    .col(string_len(DataExport::State, 16))
                    .col(string_len_null(DataExport::TokenHash, 64))
                    .col(blob_null(DataExport::Archive))
                    .col(big_integer_null(DataExport::ArchiveBytes))
                    .col(integer(DataExport::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(DataExport::ClaimedUntil))
                    .col(text_null(DataExport::Error))
                    .col(timestamp_with_time_zone(DataExport::CreatedAt))
                    .col(timestamp_with_time_zone_null(DataExport::ReadyAt))
                    .col(timestamp_with_time_zone_null(DataExport::ExpiresAt))
                    .col(timestamp_with_time_zone_null(DataExport::DownloadedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_export_tenant")
                            .from(DataExport::Table, DataExport::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_data_export_account")
                            .from(DataExport::Table, DataExport::AccountId)
                            .to(Alias::new("account"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_export_account")
                    .table(DataExport::Table)
                    .col(DataExport::TenantId)
                    .col(DataExport::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_data_export_state")
                    .table(DataExport::Table)
                    .col(DataExport::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RetentionRun::Table)
                    .col(pk_auto(RetentionRun::Id))
                    .col(integer(RetentionRun::TenantId))
                    .col(string_len(RetentionRun::Job, 32))
                    .col(big_integer(RetentionRun::Affected))
                    .col(text_null(RetentionRun::Detail))
                    .col(timestamp_with_time_zone(RetentionRun::RanAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_retention_run_tenant")
                            .from(RetentionRun::Table, RetentionRun::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PrivacySettings::Table)
                    .col(integer(PrivacySettings::TenantId).primary_key())
                    .col(string_len_null(PrivacySettings::Controller, 300))
                    .col(string_len_null(PrivacySettings::DpoName, 300))
                    .col(string_len_null(PrivacySettings::DpoEmail, 254))
                    .col(string_len_null(PrivacySettings::DpoAddress, 300))
                    .col(integer(PrivacySettings::ClosureGraceDays))
                    .col(integer(PrivacySettings::InactiveAfterMonths))
                    .col(integer(PrivacySettings::NeverActivatedAfterMonths))
                    .col(string_len_null(PrivacySettings::UpdatedBy, 200))
                    .col(timestamp_with_time_zone(PrivacySettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_privacy_settings_tenant")
                            .from(PrivacySettings::Table, PrivacySettings::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RetiredIdentifier::Table)
                    .col(integer(RetiredIdentifier::TenantId))
                    .col(string_len(RetiredIdentifier::Digest, 64))
                    .primary_key(
                        Index::create()
                            .col(RetiredIdentifier::TenantId)
                            .col(RetiredIdentifier::Digest),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_retired_identifier_tenant")
                            .from(RetiredIdentifier::Table, RetiredIdentifier::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_retention_run_tenant")
                    .table(RetentionRun::Table)
                    .col(RetentionRun::TenantId)
                    .col(RetentionRun::RanAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RetiredIdentifier::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PrivacySettings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RetentionRun::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DataExport::Table).to_owned())
            .await?;
        for column in ACCOUNT_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("account"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum DataExport {
    Table,
    Id,
    TenantId,
    AccountId,
    RequestedBy,
    StaffLabel,
    State,
    TokenHash,
    Archive,
    ArchiveBytes,
    Attempts,
    ClaimedUntil,
    Error,
    CreatedAt,
    ReadyAt,
    ExpiresAt,
    DownloadedAt,
}

#[derive(DeriveIden)]
enum RetentionRun {
    Table,
    Id,
    TenantId,
    Job,
    Affected,
    Detail,
    RanAt,
}

#[derive(DeriveIden)]
enum PrivacySettings {
    Table,
    TenantId,
    Controller,
    DpoName,
    DpoEmail,
    DpoAddress,
    ClosureGraceDays,
    InactiveAfterMonths,
    NeverActivatedAfterMonths,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RetiredIdentifier {
    Table,
    TenantId,
    Digest,
}
