//! Verifying a document: what anyone holding the paper may learn from its
//! code (the town issued it, its type, number, date and the SHA-256 of the
//! file delivered — no other personal data), and whether a PDF file is,
//! byte for byte, the one issued.

use sea_orm::{ColumnTrait as _, DbErr, QueryFilter as _, QuerySelect as _};
use sha2::{Digest as _, Sha256};

use super::entity::issued_document;
use super::{Documents, code};
use crate::tenancy::TenantScope;

/// What the verification page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub code: String,
    pub number: String,
    pub title: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// SHA-256 (hex) of the PDF as delivered.
    pub sha256: String,
}

/// Whether a file is the document issued under a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyCheck {
    /// The same bytes as the PDF delivered.
    Identical,
    /// Another file: altered, or not this document.
    Different,
}

impl Documents {
    /// The document of this town issued under `typed` (read the forgiving
    /// way); none for a code that is not one, or not this town's.
    pub async fn verify(&self, scope: TenantScope, typed: &str) -> Result<Option<Verified>, DbErr> {
        let Some(code) = code::normalize(typed) else {
            return Ok(None);
        };
        use issued_document::Column;
        let row: Option<(String, String, chrono::DateTime<chrono::Utc>, String)> = scope
            .select::<issued_document::Entity>()
            .filter(Column::CodeHash.eq(code::hash(&code)))
            .select_only()
            .columns([
                Column::Number,
                Column::Title,
                Column::IssuedAt,
                Column::Sha256,
            ])
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(row.map(|(number, title, issued_at, sha256)| Verified {
            code,
            number,
            title,
            issued_at,
            sha256,
        }))
    }

    /// Compares a file with the document issued under `typed`; none when
    /// the code names no document of this town.
    pub async fn check_copy(
        &self,
        scope: TenantScope,
        typed: &str,
        file: &[u8],
    ) -> Result<Option<(Verified, CopyCheck)>, DbErr> {
        let Some(verified) = self.verify(scope, typed).await? else {
            return Ok(None);
        };
        let check = if hex::encode(Sha256::digest(file)) == verified.sha256 {
            CopyCheck::Identical
        } else {
            CopyCheck::Different
        };
        Ok(Some((verified, check)))
    }
}
