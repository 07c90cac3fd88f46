//! Rows of the FranceConnect tables. Tenant-owned.

pub mod franceconnect_link {
    use sea_orm::entity::prelude::*;

    /// An identity of a provider (issuer, `sub`) linked to an account.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "franceconnect_link")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub issuer: String,
        pub subject: String,
        pub linked_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}
