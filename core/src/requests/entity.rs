//! Rows of the request tables; `request` is tenant-owned, its events are
//! reached through it.

pub mod request {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "request")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub reference: String,
        pub kind: String,
        pub module_id: Option<String>,
        pub title: String,
        #[sea_orm(column_type = "Text")]
        pub details: String,
        pub status: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    impl crate::tenancy::TenantOwned for Entity {
        const TENANT_COLUMN: Column = Column::TenantId;
    }
}

pub mod request_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "request_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub request_id: i32,
        pub status: String,
        pub note: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
