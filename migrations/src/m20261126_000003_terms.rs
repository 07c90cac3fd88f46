//! Terms of use (CGU): immutable versions per town, and the append-only
//! proof of who accepted which.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TermsVersion::Table)
                    .col(pk_auto(TermsVersion::Id))
                    .col(integer(TermsVersion::TenantId))
                    // 1, 2, 3… within the town, in publication order.
                    .col(integer(TermsVersion::Number))
                    // "major" forces re-acceptance, "minor" does not.
                    .col(string_len(TermsVersion::Kind, 8))
                    .col(text(TermsVersion::Source))
                    .col(text(TermsVersion::Html))
                    // SHA-256 of the source: what an acceptance proves.
                    .col(string_len(TermsVersion::ContentHash, 64))
                    .col(timestamp_with_time_zone(TermsVersion::PublishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_terms_version_tenant")
                            .from(TermsVersion::Table, TermsVersion::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_terms_version_number", TermsVersion::Number),
            ("idx_terms_version_hash", TermsVersion::ContentHash),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(TermsVersion::Table)
                        .col(TermsVersion::TenantId)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TermsAcceptance::Table)
                    .col(pk_auto(TermsAcceptance::Id))
                    .col(integer(TermsAcceptance::TenantId))
                    .col(integer(TermsAcceptance::AccountId))
                    .col(integer(TermsAcceptance::TermsVersionId))
                    .col(string_len(TermsAcceptance::ContentHash, 64))
                    // "accepted", or "dismissed" for the notice of a minor version.
                    .col(string_len(TermsAcceptance::Action, 16))
                    .col(timestamp_with_time_zone(TermsAcceptance::CreatedAt))
                    .col(string_len_null(TermsAcceptance::Ip, 64))
                    .col(string_len_null(TermsAcceptance::UserAgent, 255))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_terms_acceptance_tenant")
                            .from(TermsAcceptance::Table, TermsAcceptance::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_terms_acceptance_version")
                            .from(TermsAcceptance::Table, TermsAcceptance::TermsVersionId)
                            .to(TermsVersion::Table, TermsVersion::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_terms_acceptance_account")
                    .table(TermsAcceptance::Table)
                    .col(TermsAcceptance::TenantId)
                    .col(TermsAcceptance::AccountId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TermsAcceptance::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TermsVersion::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum TermsVersion {
    Table,
    Id,
    TenantId,
    Number,
    Kind,
    Source,
    Html,
    ContentHash,
    PublishedAt,
}

#[derive(DeriveIden)]
enum TermsAcceptance {
    Table,
    Id,
    TenantId,
    AccountId,
    TermsVersionId,
    ContentHash,
    Action,
    CreatedAt,
    Ip,
    UserAgent,
}
