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
}

/// A form field with what is wrong with it, in French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}
