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

/// A form field with what is wrong with it, in French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}
