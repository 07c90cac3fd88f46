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
        /// The staff member handling it (`staff_member.id`), if any.
        pub assignee_id: Option<i32>,
        /// When it first reached a closed status (for the statistics).
        pub closed_at: Option<DateTimeUtc>,
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
        /// The message shown to the resident with this step, if any.
        pub note: Option<String>,
        pub at: DateTimeUtc,
        /// Who wrote it: the staff, the resident, or nobody (Guichet).
        pub author: Option<EventAuthor>,
    }

    /// Who wrote a step of a request's history.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum EventAuthor {
        #[sea_orm(string_value = "staff")]
        Staff,
        #[sea_orm(string_value = "resident")]
        Resident,
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

/// The staff's internal notes on a request. A table of their own: the
/// resident's pages and data read `request` and `request_event` only, so a
/// note cannot leak through them.
pub mod request_note {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "request_note")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub request_id: i32,
        pub staff_id: i32,
        /// The author's name as it was when they wrote it.
        pub staff_label: String,
        #[sea_orm(column_type = "Text")]
        pub body: String,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
