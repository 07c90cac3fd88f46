//! FranceConnect: the link between an identity of a provider (its issuer
//! and the `sub` it gives) and a resident account of one town, and the
//! id_token of a session opened through FranceConnect (logging out goes
//! through the provider with it as `id_token_hint`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FranceconnectLink::Table)
                    .col(pk_auto(FranceconnectLink::Id))
                    .col(integer(FranceconnectLink::TenantId))
                    .col(integer(FranceconnectLink::AccountId))
                    .col(string_len(FranceconnectLink::Issuer, 512))
                    .col(string_len(FranceconnectLink::Subject, 255))
                    .col(timestamp_with_time_zone(FranceconnectLink::LinkedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_franceconnect_link_tenant")
                            .from(FranceconnectLink::Table, FranceconnectLink::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_franceconnect_link_account")
                            .from(FranceconnectLink::Table, FranceconnectLink::AccountId)
                            .to(Alias::new("account"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One account per identity in a town, and one identity per
        // provider for an account.
        manager
            .create_index(
                Index::create()
                    .name("ux_franceconnect_link_identity")
                    .table(FranceconnectLink::Table)
                    .col(FranceconnectLink::TenantId)
                    .col(FranceconnectLink::Issuer)
                    .col(FranceconnectLink::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_franceconnect_link_account")
                    .table(FranceconnectLink::Table)
                    .col(FranceconnectLink::TenantId)
                    .col(FranceconnectLink::AccountId)
                    .col(FranceconnectLink::Issuer)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("session"))
                    .add_column(text_null(Alias::new("franceconnect_id_token")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("session"))
                    .drop_column(Alias::new("franceconnect_id_token"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(FranceconnectLink::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum FranceconnectLink {
    Table,
    Id,
    TenantId,
    AccountId,
    Issuer,
    Subject,
    LinkedAt,
}
