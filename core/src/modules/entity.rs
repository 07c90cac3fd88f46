//! Rows of the module tables.

/// A published component: immutable once stored.
pub mod module_release {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "module_release")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub module_id: String,
        pub version: String,
        pub interface: String,
        pub sha256: String,
        #[sea_orm(column_type = "Text")]
        pub manifest: String,
        #[sea_orm(column_type = "Blob")]
        pub component: Vec<u8>,
        pub published_at: DateTimeUtc,
        /// Who vouches for the bytes: `registry::Publisher` as text.
        pub publisher: String,
        /// A signed release: the name the operator gave the key…
        pub publisher_name: Option<String>,
        /// …and the public key itself (minisign's `RW…` line).
        pub publisher_key: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A module a town enabled, pinned to the release its requirement resolved
/// to when the town was applied.
pub mod town_module {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "town_module")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub module_id: String,
        pub requirement: String,
        pub module_release_id: i32,
        #[sea_orm(column_type = "Text")]
        pub config: String,
        pub position: i32,
        /// The town's own quotas (`tenant.toml`); null: the server's default.
        pub resident_quota_kib: Option<i64>,
        pub town_quota_kib: Option<i64>,
    }

    crate::tenant_owned_entity!();
}

/// One stored value of a module, for a town (`account_id` null) or one of
/// its residents.
pub mod module_data {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "module_data")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub module_id: String,
        pub account_id: Option<i32>,
        pub key: String,
        #[sea_orm(column_type = "Text")]
        pub value: String,
        pub updated_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

/// How much one module stores in one town: the town's data and every
/// resident's together. Kept up to date by every write (storage.rs).
pub mod module_usage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "module_usage")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub module_id: String,
        /// Keys and values in bytes, plus `storage::ENTRY_OVERHEAD_BYTES` each.
        pub bytes: i64,
        pub entries: i64,
    }

    crate::tenant_owned_entity!();
}

/// How much one module stores for one resident of a town.
pub mod module_resident_usage {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "module_resident_usage")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub module_id: String,
        pub account_id: i32,
        pub bytes: i64,
        pub entries: i64,
    }

    crate::tenant_owned_entity!();
}

/// A module of a town that its administrators changed in the back-office:
/// from then on its `town_module` row (or its absence, once disabled)
/// belongs to the database, and `tenant apply` leaves it alone.
pub mod town_module_edit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "town_module_edit")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub module_id: String,
        pub edited_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}
