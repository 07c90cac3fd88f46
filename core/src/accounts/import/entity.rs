//! The kept imports (`account_import`, migration 000014).

use sea_orm::entity::prelude::*;

/// Where an import stands. Stored strings: `simulated`, `executed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ImportStatus {
    /// Simulated, its file kept until executed (or a day has passed).
    #[sea_orm(string_value = "simulated")]
    Simulated,
    /// Executed: its report is the town's record.
    #[sea_orm(string_value = "executed")]
    Executed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_import")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub tenant_id: i32,
    pub status: ImportStatus,
    pub file_name: String,
    pub file_sha256: String,
    /// The file's text, until it is executed.
    #[sea_orm(column_type = "Text", nullable)]
    pub content: Option<String>,
    pub update_known: bool,
    pub staff_id: Option<i32>,
    pub staff_label: Option<String>,
    pub line_count: i32,
    pub created_count: i32,
    pub updated_count: i32,
    pub unchanged_count: i32,
    pub error_count: i32,
    /// The [`super::ImportReport`] as JSON.
    #[sea_orm(column_type = "Text", nullable)]
    pub report: Option<String>,
    pub created_at: DateTimeUtc,
    pub executed_at: Option<DateTimeUtc>,
}

crate::tenant_owned_entity!();
