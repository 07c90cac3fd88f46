//! Indexes for a resident's requests ("Dernières demandes", on every home
//! page: by town, account and date) and a request's history (by request).
//! Without them both are sequential scans once towns have many requests
//! (found while measuring, docs/PERFORMANCE.md).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_request_account_created")
                    .table(Alias::new("request"))
                    .col(Alias::new("tenant_id"))
                    .col(Alias::new("account_id"))
                    .col(Alias::new("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_request_event_request")
                    .table(Alias::new("request_event"))
                    .col(Alias::new("request_id"))
                    .col(Alias::new("at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_request_event_request")
                    .table(Alias::new("request_event"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_request_account_created")
                    .table(Alias::new("request"))
                    .to_owned(),
            )
            .await
    }
}
