//! Rows of the `tenant` and `tenant_hostname` tables.

pub mod tenant {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(unique)]
        pub slug: String,
        pub display_name: String,
        pub theme: String,
        pub timezone: String,
        /// The validated `tenant.toml`, as JSON.
        #[sea_orm(column_type = "Text")]
        pub definition: String,
        pub definition_hash: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::tenant_hostname::Entity")]
        Hostname,
    }

    impl Related<super::tenant_hostname::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Hostname.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod tenant_hostname {
    use sea_orm::entity::prelude::*;

    use crate::tenancy::TenantOwned;

    /// A custom domain on which a town answers.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_hostname")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub hostname: String,
        pub tenant_id: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::tenant::Entity",
            from = "Column::TenantId",
            to = "super::tenant::Column::Id",
            on_delete = "Cascade"
        )]
        Tenant,
    }

    impl Related<super::tenant::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Tenant.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}

    impl TenantOwned for Entity {
        const TENANT_COLUMN: Column = Column::TenantId;
    }
}
