//! The resident's pages around the dashboard: feedback ("Votre avis nous
//! intéresse"), and a payload on account links (the new address of an
//! e-mail change waits there until its link is followed).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Feedback::Table)
                    .col(pk_auto(Feedback::Id))
                    .col(integer(Feedback::TenantId))
                    .col(integer(Feedback::AccountId))
                    .col(string_len(Feedback::Topic, 32))
                    .col(text(Feedback::Message))
                    .col(timestamp_with_time_zone(Feedback::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_tenant")
                            .from(Feedback::Table, Feedback::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_account")
                            .from(Feedback::Table, Feedback::AccountId)
                            .to(Alias::new("account"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("account_token"))
                    .add_column(text_null(Alias::new("payload")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("account_token"))
                    .drop_column(Alias::new("payload"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Feedback::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    Id,
    TenantId,
    AccountId,
    Topic,
    Message,
    CreatedAt,
}
