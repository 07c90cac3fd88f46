//! The failures of the machinery, and the field errors forms show.

use sea_orm::DbErr;
use serde::Serialize;

use super::hashing::HashingError;
use crate::mail::MailError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Mail(#[from] MailError),
    /// An import's report could not be written or read back as JSON.
    #[error("import report: {0}")]
    ImportReport(#[from] serde_json::Error),
}

// A form field with what is wrong with it, in French. Its schema is the
// data API's (`invalid_account`), hence the French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    #[schema(schema_with = account_field_schema)]
    pub field: &'static str,
    pub message: String,
}

/// The fields of an account the data API may refuse.
fn account_field_schema() -> utoipa::openapi::Schema {
    crate::api::text_enum(
        &[
            "email",
            "first_name",
            "last_name",
            "civility",
            "address",
            "phone",
        ],
        false,
    )
}
