//! The account journal: every audit event names its actor (the resident,
//! a staff member, an API key, the system) beside its subject (the account
//! it concerns, the existing `account_id`).
//!
//! - `actor_kind`: `resident`, `staff`, `api_key` or `system`.
//! - `actor_id`: the account or staff member; none for a key or the system.
//! - `actor_label`: what the journal shows of the actor as it was then
//!   ("Marie Durand (gestionnaire)", the key's name): a staff member renamed
//!   or removed later does not rewrite history.
//!
//! Events written before were all the resident's own doing, but for the
//! creation and the activation mail, which the town (or the system) did.
//! Indexes serve the resident's journal (subject, time) and the staff's
//! filter by actor.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvent::Table)
                    .add_column(
                        ColumnDef::new(AuditEvent::ActorKind)
                            .string_len(16)
                            .not_null()
                            .default("system"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvent::Table)
                    .add_column(ColumnDef::new(AuditEvent::ActorId).integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvent::Table)
                    .add_column(
                        ColumnDef::new(AuditEvent::ActorLabel)
                            .string_len(255)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE audit_event SET actor_kind = 'resident', actor_id = account_id \
                 WHERE account_id IS NOT NULL \
                 AND kind NOT IN ('account_created', 'activation_mail_sent')",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_subject_time")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TenantId)
                    .col(AuditEvent::AccountId)
                    .col(AuditEvent::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_actor_time")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TenantId)
                    .col(AuditEvent::ActorKind)
                    .col(AuditEvent::ActorId)
                    .col(AuditEvent::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["idx_audit_event_actor_time", "idx_audit_event_subject_time"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(AuditEvent::Table)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            AuditEvent::ActorLabel,
            AuditEvent::ActorId,
            AuditEvent::ActorKind,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvent::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    TenantId,
    AccountId,
    CreatedAt,
    ActorKind,
    ActorId,
    ActorLabel,
}
