//! The privacy domain's rows.

pub mod data_export {
    use sea_orm::entity::prelude::*;

    /// Who asked for an export.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum RequestedBy {
        #[sea_orm(string_value = "resident")]
        Resident,
        #[sea_orm(string_value = "staff")]
        Staff,
    }

    /// Where an export stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum ExportState {
        /// Asked, not produced yet (or its producer stopped: tried again).
        #[sea_orm(string_value = "pending")]
        Pending,
        /// The archive waits for its download.
        #[sea_orm(string_value = "ready")]
        Ready,
        /// Downloaded once: the archive is deleted.
        #[sea_orm(string_value = "downloaded")]
        Downloaded,
        /// Not downloaded in time: the archive is deleted.
        #[sea_orm(string_value = "expired")]
        Expired,
        /// Could not be produced after several attempts.
        #[sea_orm(string_value = "failed")]
        Failed,
    }

    impl ExportState {
        pub fn label(self) -> &'static str {
            match self {
                Self::Pending => "en préparation",
                Self::Ready => "prêt à télécharger",
                Self::Downloaded => "téléchargé",
                Self::Expired => "expiré",
                Self::Failed => "échoué",
            }
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_export")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub requested_by: RequestedBy,
        pub staff_label: Option<String>,
        pub state: ExportState,
        pub token_hash: Option<String>,
        pub archive: Option<Vec<u8>>,
        pub archive_bytes: Option<i64>,
        pub attempts: i32,
        pub claimed_until: Option<DateTimeUtc>,
        pub error: Option<String>,
        pub created_at: DateTimeUtc,
        pub ready_at: Option<DateTimeUtc>,
        pub expires_at: Option<DateTimeUtc>,
        pub downloaded_at: Option<DateTimeUtc>,
    }

    crate::tenant_owned_entity!();
}

pub mod retention_run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "retention_run")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        /// "retention": one row per town and round.
        pub job: String,
        /// Rows changed or deleted, all jobs together.
        pub affected: i64,
        /// JSON: each job's count.
        pub detail: Option<String>,
        pub ran_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

pub mod privacy_settings {
    use sea_orm::entity::prelude::*;

    /// The town's privacy settings as the back-office set them.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "privacy_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        pub controller: Option<String>,
        pub dpo_name: Option<String>,
        pub dpo_email: Option<String>,
        pub dpo_address: Option<String>,
        pub closure_grace_days: i32,
        pub inactive_after_months: i32,
        pub never_activated_after_months: i32,
        /// The administrator, as the journal names them.
        pub updated_by: Option<String>,
        pub updated_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}
