//! Rows of the terms tables. Both are tenant-owned; neither is ever updated.

pub mod terms_version {
    use sea_orm::entity::prelude::*;

    pub const MAJOR: &str = "major";
    pub const MINOR: &str = "minor";

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "terms_version")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub number: i32,
        pub kind: String,
        #[sea_orm(column_type = "Text")]
        pub source: String,
        #[sea_orm(column_type = "Text")]
        pub html: String,
        pub content_hash: String,
        pub published_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

pub mod terms_acceptance {
    use sea_orm::entity::prelude::*;

    pub const ACCEPTED: &str = "accepted";
    /// The resident closed the notice of a minor version.
    pub const DISMISSED: &str = "dismissed";

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "terms_acceptance")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub terms_version_id: i32,
        pub content_hash: String,
        pub action: String,
        pub created_at: DateTimeUtc,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
    }

    crate::tenant_owned_entity!();
}
