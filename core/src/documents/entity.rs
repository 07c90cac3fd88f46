//! Rows of the documents tables (migration 000018).

/// A document issued, with its PDF as delivered.
pub mod issued_document {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "issued_document")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        /// The resident it was issued for.
        pub account_id: Option<i32>,
        /// The town's number, e.g. "A-2026-000042".
        pub number: String,
        pub module_id: String,
        /// The module's document id, e.g. "attestation-fiscale".
        pub document_id: String,
        pub title: String,
        /// The parameters given, as a JSON list of `[name, value]`.
        #[sea_orm(column_type = "Text")]
        pub params: String,
        /// SHA-256 (hex) of the verification code.
        pub code_hash: String,
        /// SHA-256 (hex) of the PDF's bytes.
        pub sha256: String,
        pub pdf: Vec<u8>,
        pub issued_by_kind: super::IssuedByKind,
        pub issued_by_id: Option<i32>,
        pub issued_by_label: Option<String>,
        pub issued_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

/// The last number a town gave a document, per year.
pub mod document_counter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "document_counter")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub last_value: i64,
    }

    crate::tenant_owned_entity!();
}

/// The letterhead as the back-office set it.
pub mod document_settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "document_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        pub place: Option<String>,
        pub signatory: Option<String>,
        pub signatory_title: Option<String>,
        /// Who saved it, as the journal names them.
        pub updated_by: Option<String>,
        pub updated_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};

/// Who asked for a document, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum IssuedByKind {
    /// The resident, from "Edition de documents".
    #[sea_orm(string_value = "resident")]
    Resident,
    /// A member of the staff, from the resident's page of the back-office.
    #[sea_orm(string_value = "staff")]
    Staff,
}

#[cfg(test)]
mod tests {
    use super::IssuedByKind;
    use sea_orm::ActiveEnum as _;

    #[test]
    fn who_issued_is_stored_as_the_first_release_wrote_it() {
        assert_eq!(IssuedByKind::Resident.to_value(), "resident");
        assert_eq!(IssuedByKind::Staff.to_value(), "staff");
    }
}
