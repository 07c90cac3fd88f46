//! Rows of the account tables. All are tenant-owned.

macro_rules! tenant_owned {
    () => {
        impl crate::tenancy::TenantOwned for Entity {
            const TENANT_COLUMN: Column = Column::TenantId;
        }
    };
}

pub mod account {
    use sea_orm::entity::prelude::*;

    pub const PENDING: &str = "pending";
    pub const ACTIVE: &str = "active";

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub identifier: String,
        pub email: String,
        pub email_key: String,
        pub civility: Option<String>,
        pub first_name: String,
        pub last_name: String,
        pub address: Option<String>,
        pub phone: Option<String>,
        pub password_hash: String,
        pub password_is_temporary: bool,
        pub temporary_password_expires_at: Option<DateTimeUtc>,
        pub status: String,
        pub created_at: DateTimeUtc,
        pub activated_at: Option<DateTimeUtc>,
        pub password_changed_at: Option<DateTimeUtc>,
        pub last_login_at: Option<DateTimeUtc>,
        pub previous_login_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}

pub mod account_token {
    use sea_orm::entity::prelude::*;

    pub const ACTIVATION: &str = "activation";
    pub const PASSWORD_RESET: &str = "password_reset";
    /// Confirms a new e-mail address; the address is the payload.
    pub const EMAIL_CHANGE: &str = "email_change";

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_token")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub purpose: String,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        /// What the link carries, e.g. the new address of an e-mail change.
        pub payload: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        /// The provider's id_token of a session opened through
        /// FranceConnect: logging out goes through the provider with it.
        pub franceconnect_id_token: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}

pub mod auth_throttle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_throttle")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub key: String,
        pub failures: i32,
        pub window_started_at: DateTimeUtc,
        pub blocked_until: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}

    tenant_owned!();
}
