//! Rows of the household table; tenant-owned.

pub mod household_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "household_member")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub first_name: String,
        pub last_name: String,
        pub birth_date: Option<Date>,
        pub relation: crate::households::Relation,
        pub external_ref: Option<String>,
        pub created_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}
