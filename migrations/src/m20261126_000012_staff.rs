//! The town's staff: members (one town each: the same address in two towns
//! is two members), their recovery codes, invitations and sessions. Every
//! table here is tenant-owned.
//!
//! - `staff_member.role`: `agent`, `gestionnaire` or `administrateur`;
//!   `status`: `active` or `suspended`. `password_hash` stays empty until the
//!   invitation is accepted; `totp_secret` is sealed under the server key
//!   (never stored in clear) and `totp_enrolled_at` says the enrolment was
//!   confirmed with a code; `totp_last_step` is the last time step accepted,
//!   so that a code is never accepted twice.
//! - `staff_recovery_code`: SHA-256 of each single-use code.
//! - `staff_invitation`: SHA-256 of the link's token, single use, expiring.
//! - `staff_session`: SHA-256 of the cookie's token; `verified_at` is set
//!   once the second factor is given (before that, the session opens only
//!   the code step). The idle and absolute limits are checked at lookup.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn tenant_fk(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    let table = table.into_iden();
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("tenant_id"))
        .to(Alias::new("tenant"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn member_fk(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    let table = table.into_iden();
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("staff_id"))
        .to(StaffMember::Table, StaffMember::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StaffMember::Table)
                    .col(pk_auto(StaffMember::Id))
                    .col(integer(StaffMember::TenantId))
                    .col(string_len(StaffMember::Email, 254))
                    .col(string_len(StaffMember::EmailKey, 254))
                    .col(string_len(StaffMember::FirstName, 100))
                    .col(string_len(StaffMember::LastName, 100))
                    .col(string_len(StaffMember::Role, 16))
                    .col(string_len(StaffMember::Status, 16))
                    .col(string_len_null(StaffMember::PasswordHash, 255))
                    .col(text_null(StaffMember::TotpSecret))
                    .col(timestamp_with_time_zone_null(StaffMember::TotpEnrolledAt))
                    .col(big_integer_null(StaffMember::TotpLastStep))
                    .col(timestamp_with_time_zone(StaffMember::CreatedAt))
                    .col(timestamp_with_time_zone_null(StaffMember::LastLoginAt))
                    .foreign_key(&mut tenant_fk(StaffMember::Table, "fk_staff_member_tenant"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_member_email_key")
                    .table(StaffMember::Table)
                    .col(StaffMember::TenantId)
                    .col(StaffMember::EmailKey)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StaffRecoveryCode::Table)
                    .col(pk_auto(StaffRecoveryCode::Id))
                    .col(integer(StaffRecoveryCode::TenantId))
                    .col(integer(StaffRecoveryCode::StaffId))
                    .col(string_len(StaffRecoveryCode::CodeHash, 64))
                    .col(timestamp_with_time_zone(StaffRecoveryCode::CreatedAt))
                    .col(timestamp_with_time_zone_null(StaffRecoveryCode::UsedAt))
                    .foreign_key(&mut tenant_fk(
                        StaffRecoveryCode::Table,
                        "fk_staff_recovery_code_tenant",
                    ))
                    .foreign_key(&mut member_fk(
                        StaffRecoveryCode::Table,
                        "fk_staff_recovery_code_member",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_recovery_code_member")
                    .table(StaffRecoveryCode::Table)
                    .col(StaffRecoveryCode::TenantId)
                    .col(StaffRecoveryCode::StaffId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StaffInvitation::Table)
                    .col(pk_auto(StaffInvitation::Id))
                    .col(integer(StaffInvitation::TenantId))
                    .col(integer(StaffInvitation::StaffId))
                    .col(string_len(StaffInvitation::TokenHash, 64))
                    .col(timestamp_with_time_zone(StaffInvitation::CreatedAt))
                    .col(timestamp_with_time_zone(StaffInvitation::ExpiresAt))
                    .col(timestamp_with_time_zone_null(StaffInvitation::UsedAt))
                    .foreign_key(&mut tenant_fk(
                        StaffInvitation::Table,
                        "fk_staff_invitation_tenant",
                    ))
                    .foreign_key(&mut member_fk(
                        StaffInvitation::Table,
                        "fk_staff_invitation_member",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_invitation_token")
                    .table(StaffInvitation::Table)
                    .col(StaffInvitation::TenantId)
                    .col(StaffInvitation::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StaffSession::Table)
                    .col(pk_auto(StaffSession::Id))
                    .col(integer(StaffSession::TenantId))
                    .col(integer(StaffSession::StaffId))
                    .col(string_len(StaffSession::TokenHash, 64))
                    .col(timestamp_with_time_zone(StaffSession::CreatedAt))
                    .col(timestamp_with_time_zone(StaffSession::LastSeenAt))
                    .col(timestamp_with_time_zone_null(StaffSession::VerifiedAt))
                    .col(string_len_null(StaffSession::Ip, 64))
                    .col(string_len_null(StaffSession::UserAgent, 255))
                    .foreign_key(&mut tenant_fk(
                        StaffSession::Table,
                        "fk_staff_session_tenant",
                    ))
                    .foreign_key(&mut member_fk(
                        StaffSession::Table,
                        "fk_staff_session_member",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_session_token")
                    .table(StaffSession::Table)
                    .col(StaffSession::TenantId)
                    .col(StaffSession::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_session_member")
                    .table(StaffSession::Table)
                    .col(StaffSession::TenantId)
                    .col(StaffSession::StaffId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            StaffSession::Table.into_iden(),
            StaffInvitation::Table.into_iden(),
            StaffRecoveryCode::Table.into_iden(),
            StaffMember::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum StaffMember {
    Table,
    Id,
    TenantId,
    Email,
    EmailKey,
    FirstName,
    LastName,
    Role,
    Status,
    PasswordHash,
    TotpSecret,
    TotpEnrolledAt,
    TotpLastStep,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum StaffRecoveryCode {
    Table,
    Id,
    TenantId,
    StaffId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum StaffInvitation {
    Table,
    Id,
    TenantId,
    StaffId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum StaffSession {
    Table,
    Id,
    TenantId,
    StaffId,
    TokenHash,
    CreatedAt,
    LastSeenAt,
    VerifiedAt,
    Ip,
    UserAgent,
}
