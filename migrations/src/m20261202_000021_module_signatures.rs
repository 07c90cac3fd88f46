//! Signed module releases (core/src/modules/trust.rs).
//!
//! - `module_release.publisher` gains the value "signed": a release whose
//!   signature verified with a key the operator trusts ("guichet" and
//!   "third-party" — unsigned, published where the operator allows it —
//!   keep their meaning).
//! - `publisher_name`: the name the operator gave that key in
//!   `module_publishers`, as it was when the release was published.
//! - `publisher_key`: the public key that signed it (minisign's `RW…`
//!   line). A module id belongs to the publisher (the operator's name) of
//!   its first signed release.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 2] = ["publisher_name", "publisher_key"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite alters one at a time.
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("module_release"))
                        .add_column(string_null(Alias::new(column)))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("module_release"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
