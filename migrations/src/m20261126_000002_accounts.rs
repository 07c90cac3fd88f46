//! Resident accounts, their single-use tokens and sessions, the mail outbox,
//! login throttling and the audit log. Every table here is tenant-owned.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `tenant_id` referencing `tenant(id)`, rows deleted with their town.
fn tenant_fk(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    let table = table.into_iden();
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("tenant_id"))
        .to(Alias::new("tenant"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn account_fk(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    let table = table.into_iden();
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("account_id"))
        .to(Account::Table, Account::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .col(pk_auto(Account::Id))
                    .col(integer(Account::TenantId))
                    .col(string_len(Account::Identifier, 100))
                    .col(string_len(Account::Email, 254))
                    // Lower-cased e-mail: unique within a town, used to log in.
                    .col(string_len(Account::EmailKey, 254))
                    .col(string_len_null(Account::Civility, 8))
                    .col(string_len(Account::FirstName, 100))
                    .col(string_len(Account::LastName, 100))
                    .col(text_null(Account::Address))
                    .col(string_len_null(Account::Phone, 40))
                    .col(string_len(Account::PasswordHash, 255))
                    .col(boolean(Account::PasswordIsTemporary))
                    .col(timestamp_with_time_zone_null(
                        Account::TemporaryPasswordExpiresAt,
                    ))
                    .col(string_len(Account::Status, 16))
                    .col(timestamp_with_time_zone(Account::CreatedAt))
                    .col(timestamp_with_time_zone_null(Account::ActivatedAt))
                    .col(timestamp_with_time_zone_null(Account::PasswordChangedAt))
                    .col(timestamp_with_time_zone_null(Account::LastLoginAt))
                    .col(timestamp_with_time_zone_null(Account::PreviousLoginAt))
                    .foreign_key(&mut tenant_fk(Account::Table, "fk_account_tenant"))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_account_identifier", Account::Identifier),
            ("idx_account_email_key", Account::EmailKey),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Account::Table)
                        .col(Account::TenantId)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AccountToken::Table)
                    .col(pk_auto(AccountToken::Id))
                    .col(integer(AccountToken::TenantId))
                    .col(integer(AccountToken::AccountId))
                    .col(string_len(AccountToken::Purpose, 32))
                    // SHA-256 of the token: the token itself is only in the mail.
                    .col(string_len_uniq(AccountToken::TokenHash, 64))
                    .col(timestamp_with_time_zone(AccountToken::CreatedAt))
                    .col(timestamp_with_time_zone(AccountToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountToken::UsedAt))
                    .foreign_key(&mut tenant_fk(
                        AccountToken::Table,
                        "fk_account_token_tenant",
                    ))
                    .foreign_key(&mut account_fk(
                        AccountToken::Table,
                        "fk_account_token_account",
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    .col(pk_auto(Session::Id))
                    .col(integer(Session::TenantId))
                    .col(integer(Session::AccountId))
                    .col(string_len_uniq(Session::TokenHash, 64))
                    .col(timestamp_with_time_zone(Session::CreatedAt))
                    .col(timestamp_with_time_zone(Session::LastSeenAt))
                    .col(timestamp_with_time_zone(Session::ExpiresAt))
                    .col(string_len_null(Session::Ip, 64))
                    .col(string_len_null(Session::UserAgent, 255))
                    .foreign_key(&mut tenant_fk(Session::Table, "fk_session_tenant"))
                    .foreign_key(&mut account_fk(Session::Table, "fk_session_account"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(pk_auto(MailOutbox::Id))
                    .col(integer(MailOutbox::TenantId))
                    .col(string_len(MailOutbox::Kind, 32))
                    .col(string_len(MailOutbox::FromName, 200))
                    .col(string_len(MailOutbox::FromAddress, 254))
                    .col(string_len(MailOutbox::Recipient, 254))
                    .col(string_len(MailOutbox::Subject, 255))
                    .col(text(MailOutbox::TextBody))
                    .col(text(MailOutbox::HtmlBody))
                    // pending, sent, failed
                    .col(string_len(MailOutbox::Status, 16))
                    .col(integer(MailOutbox::Attempts))
                    .col(timestamp_with_time_zone(MailOutbox::NextAttemptAt))
                    // A worker's claim: another worker leaves the row alone until then.
                    .col(timestamp_with_time_zone_null(MailOutbox::LockedUntil))
                    .col(text_null(MailOutbox::LastError))
                    .col(timestamp_with_time_zone(MailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(MailOutbox::SentAt))
                    .foreign_key(&mut tenant_fk(MailOutbox::Table, "fk_mail_outbox_tenant"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_mail_outbox_due")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::Status)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthThrottle::Table)
                    .col(pk_auto(AuthThrottle::Id))
                    .col(integer(AuthThrottle::TenantId))
                    // "account:<id>", "name:<identifier>" or "ip:<address>".
                    .col(string_len(AuthThrottle::Key, 320))
                    .col(integer(AuthThrottle::Failures))
                    .col(timestamp_with_time_zone(AuthThrottle::WindowStartedAt))
                    .col(timestamp_with_time_zone(AuthThrottle::BlockedUntil))
                    .foreign_key(&mut tenant_fk(
                        AuthThrottle::Table,
                        "fk_auth_throttle_tenant",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auth_throttle_key")
                    .table(AuthThrottle::Table)
                    .col(AuthThrottle::TenantId)
                    .col(AuthThrottle::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(pk_auto(AuditEvent::Id))
                    .col(integer(AuditEvent::TenantId))
                    // No foreign key: the log outlives the accounts it mentions.
                    .col(integer_null(AuditEvent::AccountId))
                    .col(string_len(AuditEvent::Kind, 48))
                    .col(string_len_null(AuditEvent::Ip, 64))
                    .col(string_len_null(AuditEvent::UserAgent, 255))
                    .col(text_null(AuditEvent::Detail))
                    .col(timestamp_with_time_zone(AuditEvent::CreatedAt))
                    .foreign_key(&mut tenant_fk(AuditEvent::Table, "fk_audit_event_tenant"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_tenant_time")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TenantId)
                    .col(AuditEvent::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvent::Table.into_iden(),
            AuthThrottle::Table.into_iden(),
            MailOutbox::Table.into_iden(),
            Session::Table.into_iden(),
            AccountToken::Table.into_iden(),
            Account::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    TenantId,
    Identifier,
    Email,
    EmailKey,
    Civility,
    FirstName,
    LastName,
    Address,
    Phone,
    PasswordHash,
    PasswordIsTemporary,
    TemporaryPasswordExpiresAt,
    Status,
    CreatedAt,
    ActivatedAt,
    PasswordChangedAt,
    LastLoginAt,
    PreviousLoginAt,
}

#[derive(DeriveIden)]
enum AccountToken {
    Table,
    Id,
    TenantId,
    AccountId,
    Purpose,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Session {
    Table,
    Id,
    TenantId,
    AccountId,
    TokenHash,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
    Ip,
    UserAgent,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    TenantId,
    Kind,
    FromName,
    FromAddress,
    Recipient,
    Subject,
    TextBody,
    HtmlBody,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum AuthThrottle {
    Table,
    Id,
    TenantId,
    Key,
    Failures,
    WindowStartedAt,
    BlockedUntil,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    TenantId,
    AccountId,
    Kind,
    Ip,
    UserAgent,
    Detail,
    CreatedAt,
}
