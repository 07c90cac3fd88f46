//! Rows of the staff tables. All are tenant-owned.

pub mod staff_member {
    use sea_orm::entity::prelude::*;

    pub use crate::staff::role::StaffRole;

    /// Whether a member may log in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum StaffStatus {
        #[sea_orm(string_value = "active")]
        Active,
        /// Suspended by an administrator: no login, no session.
        #[sea_orm(string_value = "suspended")]
        Suspended,
    }

    impl StaffStatus {
        pub fn label(self) -> &'static str {
            match self {
                Self::Active => "Actif",
                Self::Suspended => "Suspendu",
            }
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "staff_member")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub email: String,
        /// Lower-cased e-mail: unique within a town.
        pub email_key: String,
        /// Empty until the invitation is accepted.
        pub first_name: String,
        pub last_name: String,
        pub role: StaffRole,
        pub status: StaffStatus,
        /// None until the invitation is accepted.
        pub password_hash: Option<String>,
        /// Sealed under the server key (`staff::totp::seal_secret`).
        pub totp_secret: Option<String>,
        /// Set once a first code confirmed the enrolment.
        pub totp_enrolled_at: Option<DateTimeUtc>,
        /// The last time step accepted: a code is never accepted twice.
        pub totp_last_step: Option<i64>,
        pub created_at: DateTimeUtc,
        pub last_login_at: Option<DateTimeUtc>,
    }

    crate::tenant_owned_entity!();

    impl Model {
        /// "Marie Durand", or the address while the invitation is pending.
        pub fn display_name(&self) -> String {
            if self.first_name.is_empty() && self.last_name.is_empty() {
                self.email.clone()
            } else {
                crate::format::full_name(&self.first_name, &self.last_name)
            }
        }

        /// The invitation was accepted (a password was chosen).
        pub fn has_joined(&self) -> bool {
            self.password_hash.is_some()
        }
    }
}

pub mod staff_recovery_code {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "staff_recovery_code")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub staff_id: i32,
        /// SHA-256 of the code, normalized (`recovery::normalize`).
        pub code_hash: String,
        pub created_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }

    crate::tenant_owned_entity!();
}

pub mod staff_invitation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "staff_invitation")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub staff_id: i32,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }

    crate::tenant_owned_entity!();
}

pub mod staff_session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "staff_session")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub staff_id: i32,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        /// When the second factor was given; none: the session opens only
        /// the code step.
        pub verified_at: Option<DateTimeUtc>,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
    }

    crate::tenant_owned_entity!();
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;

    use super::staff_member::{StaffRole, StaffStatus};

    #[test]
    fn stored_strings_are_stable() {
        for (role, stored) in [
            (StaffRole::Agent, "agent"),
            (StaffRole::Gestionnaire, "gestionnaire"),
            (StaffRole::Administrateur, "administrateur"),
        ] {
            assert_eq!(role.to_value(), stored);
        }
        assert_eq!(StaffStatus::Active.to_value(), "active");
        assert_eq!(StaffStatus::Suspended.to_value(), "suspended");
    }
}
