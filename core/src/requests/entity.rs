//! Rows of the request tables; `request` and `request_counter` are
//! tenant-owned, a request's events are reached through it.

pub mod request {
    use sea_orm::entity::prelude::*;

    use crate::requests::RequestStatus;

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
        pub status: RequestStatus,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

pub mod request_event {
    use sea_orm::entity::prelude::*;

    use crate::requests::RequestStatus;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "request_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub request_id: i32,
        pub status: RequestStatus,
        pub note: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The last number a town gave a request (migration 000008).
pub mod request_counter {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "request_counter")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        pub last_value: i64,
    }

    crate::tenant_owned_entity!();
}
