//! Documents the town issues ("Edition de documents"): attestations whose
//! content a module gives and Guichet renders as PDF.
//!
//! - `issued_document`: one row per document issued, with its PDF as
//!   delivered (downloaded again byte for byte), the SHA-256 of those bytes
//!   (what `/documents/verifier/<code>` compares a copy against) and the
//!   SHA-256 of its verification code (the code itself is printed on the
//!   paper, never stored). `number` is the town's ("A-2026-000042"),
//!   unique in the town; so is the code's hash. `account_id` is the
//!   resident it was issued for; `issued_by_*` says who asked (the
//!   resident, or a staff member named as the journal names them, no
//!   foreign key: a member removed later does not take the record along).
//! - `document_counter`: the town's last number per year, taken by one
//!   atomic upsert (as `request_counter`), in a short transaction of its
//!   own: the PDF is rendered outside any write transaction.
//! - `document_settings`: the letterhead's signatory, title and place as
//!   the back-office set them; a town without a row uses `[documents]` of
//!   its `tenant.toml`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IssuedDocument::Table)
                    .col(pk_auto(IssuedDocument::Id))
                    .col(integer(IssuedDocument::TenantId))
                    .col(integer_null(IssuedDocument::AccountId))
                    .col(string_len(IssuedDocument::Number, 32))
                    .col(string_len(IssuedDocument::ModuleId, 64))
                    .col(string_len(IssuedDocument::DocumentId, 64))
                    .col(string_len(IssuedDocument::Title, 200))
                    .col(text(IssuedDocument::Params))
                    .col(string_len(IssuedDocument::CodeHash, 64))
                    .col(string_len(IssuedDocument::Sha256, 64))
                    .col(blob(IssuedDocument::Pdf))
                    .col(string_len(IssuedDocument::IssuedByKind, 16))
                    .col(integer_null(IssuedDocument::IssuedById))
                    .col(string_len_null(IssuedDocument::IssuedByLabel, 255))
                    .col(timestamp_with_time_zone(IssuedDocument::IssuedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_issued_document_tenant")
                            .from(IssuedDocument::Table, IssuedDocument::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_issued_document_account")
                            .from(IssuedDocument::Table, IssuedDocument::AccountId)
                            .to(Alias::new("account"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_issued_document_code",
                vec![IssuedDocument::TenantId, IssuedDocument::CodeHash],
            ),
            (
                "idx_issued_document_number",
                vec![IssuedDocument::TenantId, IssuedDocument::Number],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(IssuedDocument::Table).unique();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_issued_document_account")
                    .table(IssuedDocument::Table)
                    .col(IssuedDocument::TenantId)
                    .col(IssuedDocument::AccountId)
                    .col(IssuedDocument::IssuedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DocumentCounter::Table)
                    .col(integer(DocumentCounter::TenantId))
                    .col(integer(DocumentCounter::Year))
                    .col(big_integer(DocumentCounter::LastValue))
                    .primary_key(
                        Index::create()
                            .col(DocumentCounter::TenantId)
                            .col(DocumentCounter::Year),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_counter_tenant")
                            .from(DocumentCounter::Table, DocumentCounter::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DocumentSettings::Table)
                    .col(
                        ColumnDef::new(DocumentSettings::TenantId)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(string_len_null(DocumentSettings::Place, 120))
                    .col(string_len_null(DocumentSettings::Signatory, 120))
                    .col(string_len_null(DocumentSettings::SignatoryTitle, 200))
                    .col(string_len_null(DocumentSettings::UpdatedBy, 255))
                    .col(timestamp_with_time_zone(DocumentSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_settings_tenant")
                            .from(DocumentSettings::Table, DocumentSettings::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DocumentSettings::Table.into_iden(),
            DocumentCounter::Table.into_iden(),
            IssuedDocument::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum IssuedDocument {
    Table,
    Id,
    TenantId,
    AccountId,
    Number,
    ModuleId,
    DocumentId,
    Title,
    Params,
    CodeHash,
    Sha256,
    Pdf,
    IssuedByKind,
    IssuedById,
    IssuedByLabel,
    IssuedAt,
}

#[derive(DeriveIden)]
enum DocumentCounter {
    Table,
    TenantId,
    Year,
    LastValue,
}

#[derive(DeriveIden)]
enum DocumentSettings {
    Table,
    TenantId,
    Place,
    Signatory,
    SignatoryTitle,
    UpdatedBy,
    UpdatedAt,
}
