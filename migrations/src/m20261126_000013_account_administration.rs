//! The staff's work on residents' accounts.
//!
//! - `account.disabled_at`, `account.disabled_reason`: a disabled account
//!   cannot log in. A column beside `status` rather than a third status:
//!   an account is disabled whether it was pending or active, and
//!   re-enabling gives it back what it was.
//! - `account.sort_key`: "nom prénom" folded to lowercase ASCII, the order
//!   of the staff's list (keyset pagination on `(sort_key, id)`).
//! - `account_search_word`: every word of an account's names, identifier
//!   and e-mail address, folded the same way, one row each. A search is a
//!   prefix range on `(tenant_id, word)` per typed word — an index every
//!   database serves, where `LIKE '%…%'` on a column is a scan on SQLite
//!   and PostgreSQL alike (a trigram index would be PostgreSQL's alone).
//!   On PostgreSQL both keys use the "C" collation, so that a range of
//!   bytes is a prefix (a linguistic collation ignores punctuation and
//!   would not keep a prefix's words together); SQLite compares bytes.
//! - indexes for the filters (status, disabled, creation date) and for the
//!   refused mails of a resident's page (`mail_outbox (tenant_id,
//!   recipient)`).
//!
//! Existing accounts get their keys here. The folding below is a frozen
//! copy of the one in `core/src/accounts/search.rs` as it was when this
//! migration was written: a later change of the folding needs a migration
//! of its own that rebuilds the keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows inserted per statement while keys are built.
const BATCH: usize = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let byte_order = |column: &mut ColumnDef| {
            if postgres {
                column.extra("COLLATE \"C\"");
            }
        };
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(
                        ColumnDef::new(Account::DisabledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(ColumnDef::new(Account::DisabledReason).text().null())
                    .to_owned(),
            )
            .await?;
        let mut sort_key = ColumnDef::new(Account::SortKey);
        sort_key.string_len(255).not_null().default("");
        byte_order(&mut sort_key);
        manager
            .alter_table(
                Table::alter()
                    .table(Account::Table)
                    .add_column(sort_key)
                    .to_owned(),
            )
            .await?;

        let mut word = ColumnDef::new(AccountSearchWord::Word);
        word.string_len(64).not_null();
        byte_order(&mut word);
        manager
            .create_table(
                Table::create()
                    .table(AccountSearchWord::Table)
                    .col(
                        ColumnDef::new(AccountSearchWord::TenantId)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AccountSearchWord::AccountId)
                            .integer()
                            .not_null(),
                    )
                    .col(word)
                    .primary_key(
                        Index::create()
                            .col(AccountSearchWord::AccountId)
                            .col(AccountSearchWord::Word),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_search_word_tenant")
                            .from(AccountSearchWord::Table, AccountSearchWord::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_search_word_account")
                            .from(AccountSearchWord::Table, AccountSearchWord::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        let indexes: [(&str, TableRef, Vec<DynIden>); 6] = [
            (
                "idx_account_search_word",
                AccountSearchWord::Table.into_table_ref(),
                vec![
                    AccountSearchWord::TenantId.into_iden(),
                    AccountSearchWord::Word.into_iden(),
                    AccountSearchWord::AccountId.into_iden(),
                ],
            ),
            (
                "idx_account_sort",
                Account::Table.into_table_ref(),
                vec![
                    Account::TenantId.into_iden(),
                    Account::SortKey.into_iden(),
                    Account::Id.into_iden(),
                ],
            ),
            (
                "idx_account_status",
                Account::Table.into_table_ref(),
                vec![
                    Account::TenantId.into_iden(),
                    Account::Status.into_iden(),
                    Account::DisabledAt.into_iden(),
                ],
            ),
            (
                "idx_account_disabled",
                Account::Table.into_table_ref(),
                vec![
                    Account::TenantId.into_iden(),
                    Account::DisabledAt.into_iden(),
                ],
            ),
            (
                "idx_account_created",
                Account::Table.into_table_ref(),
                vec![
                    Account::TenantId.into_iden(),
                    Account::CreatedAt.into_iden(),
                ],
            ),
            (
                "idx_mail_outbox_recipient",
                MailOutbox::Table.into_table_ref(),
                vec![
                    MailOutbox::TenantId.into_iden(),
                    MailOutbox::Recipient.into_iden(),
                ],
            ),
        ];
        for (name, table, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }

        build_keys(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_mail_outbox_recipient", MailOutbox::Table.into_iden()),
            ("idx_account_created", Account::Table.into_iden()),
            ("idx_account_disabled", Account::Table.into_iden()),
            ("idx_account_status", Account::Table.into_iden()),
            ("idx_account_sort", Account::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AccountSearchWord::Table).to_owned())
            .await?;
        for column in [
            Account::SortKey,
            Account::DisabledReason,
            Account::DisabledAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Account::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The sort key and search words of every existing account.
async fn build_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, tenant_id, identifier, email, first_name, last_name FROM account",
        ))
        .await?;
    let mut words: Vec<(i32, i32, String)> = Vec::new();
    for row in rows {
        let id: i32 = row.try_get("", "id")?;
        let tenant_id: i32 = row.try_get("", "tenant_id")?;
        let identifier: String = row.try_get("", "identifier")?;
        let email: String = row.try_get("", "email")?;
        let first_name: String = row.try_get("", "first_name")?;
        let last_name: String = row.try_get("", "last_name")?;
        let update = Query::update()
            .table(Account::Table)
            .value(Account::SortKey, sort_key(&first_name, &last_name))
            .and_where(Expr::col(Account::Id).eq(id))
            .to_owned();
        db.execute(&update).await?;
        for word in search_words(&[&first_name, &last_name, &identifier, &email]) {
            words.push((tenant_id, id, word));
        }
    }
    for chunk in words.chunks(BATCH) {
        let mut insert = Query::insert();
        insert.into_table(AccountSearchWord::Table).columns([
            AccountSearchWord::TenantId,
            AccountSearchWord::AccountId,
            AccountSearchWord::Word,
        ]);
        for (tenant_id, account_id, word) in chunk {
            insert
                .values([
                    Value::from(*tenant_id).into(),
                    Value::from(*account_id).into(),
                    Value::from(word.clone()).into(),
                ])
                .map_err(|error| DbErr::Migration(error.to_string()))?;
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Frozen copy of `accounts::search::fold` (see the module's doc).
fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_ascii_lowercase()
}

fn sort_key(first_name: &str, last_name: &str) -> String {
    let key = format!("{} {}", fold(last_name).trim(), fold(first_name).trim());
    key.chars().take(200).collect()
}

fn search_words(texts: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for text in texts {
        for word in fold(text).split(|c: char| !c.is_ascii_alphanumeric()) {
            let word: String = word.chars().take(64).collect();
            if !word.is_empty() && !words.contains(&word) {
                words.push(word);
            }
        }
    }
    words
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    TenantId,
    Status,
    CreatedAt,
    DisabledAt,
    DisabledReason,
    SortKey,
}

#[derive(DeriveIden)]
enum AccountSearchWord {
    Table,
    TenantId,
    AccountId,
    Word,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    TenantId,
    Recipient,
}
