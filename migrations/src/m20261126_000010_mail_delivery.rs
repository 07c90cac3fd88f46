//! Mail delivery on several instances (core/src/mail/worker.rs):
//!
//! - `message_id`: the mail's Message-ID, chosen when it is queued and sent
//!   on every attempt, so that a receiving server can drop the copy a retry
//!   makes. Mails queued before this migration get one here; a row written
//!   without one (an SQL import) gets one from the worker before its first
//!   attempt, hence nullable. Unique.
//! - `claimed_by`: which worker holds the mail while `locked_until` is in
//!   the future; its lease is renewed while the send is in flight and
//!   released at shutdown.
//! - On PostgreSQL, a statement trigger notifies the channel `guichet_mail`
//!   when mail is queued: the notification is delivered when the queuing
//!   transaction commits, and wakes the workers of every instance.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .add_column(ColumnDef::new(MailOutbox::MessageId).string_len(255).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .add_column(ColumnDef::new(MailOutbox::ClaimedBy).string_len(64).null())
                    .to_owned(),
            )
            .await?;

        // `<guichet.32 hex digits@sender's domain>`, as `Mailer::queue` makes them.
        let backfill = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE mail_outbox SET message_id = '<guichet.' \
                 || md5(random()::text || clock_timestamp()::text || id::text) \
                 || '@' || lower(split_part(from_address, '@', 2)) || '>' \
                 WHERE message_id IS NULL"
            }
            _ => {
                "UPDATE mail_outbox SET message_id = '<guichet.' \
                 || lower(hex(randomblob(16))) \
                 || '@' || lower(substr(from_address, instr(from_address, '@') + 1)) || '>' \
                 WHERE message_id IS NULL"
            }
        };
        manager
            .get_connection()
            .execute_unprepared(backfill)
            .await?;
        // Rows without one yet (NULL) do not collide.
        manager
            .create_index(
                Index::create()
                    .name("ux_mail_outbox_message_id")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::MessageId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "CREATE FUNCTION guichet_mail_queued() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN PERFORM pg_notify('guichet_mail', ''); RETURN NULL; END $$",
                )
                .await?;
            manager
                .get_connection()
                .execute_unprepared(
                    "CREATE TRIGGER mail_outbox_queued AFTER INSERT ON mail_outbox \
                     FOR EACH STATEMENT EXECUTE FUNCTION guichet_mail_queued()",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP TRIGGER IF EXISTS mail_outbox_queued ON mail_outbox")
                .await?;
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS guichet_mail_queued()")
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ux_mail_outbox_message_id")
                    .table(MailOutbox::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .drop_column(MailOutbox::ClaimedBy)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MailOutbox::Table)
                    .drop_column(MailOutbox::MessageId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    MessageId,
    ClaimedBy,
}
