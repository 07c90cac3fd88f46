//! `[accounts]` in `tenant.toml`: how long the town's links and temporary
//! passwords stay valid.
//!
//! ```toml
//! [accounts]
//! activation_validity_days = 7
//! temporary_password_validity_days = 30
//! password_reset_validity_minutes = 60
//! ```

use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountSettings {
    pub activation_validity_days: u32,
    pub temporary_password_validity_days: u32,
    pub password_reset_validity_minutes: u32,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            activation_validity_days: 7,
            temporary_password_validity_days: 30,
            password_reset_validity_minutes: 60,
        }
    }
}

impl AccountSettings {
    /// The town's settings (the defaults when its `tenant.toml` has none).
    pub fn of(tenant: &Tenant) -> &Self {
        tenant.section::<Self>()
    }
}

impl Section for AccountSettings {
    const KEY: &'static str = "accounts";

    fn validate_section(&self) -> Result<(), String> {
        for (key, value) in [
            ("activation_validity_days", self.activation_validity_days),
            (
                "temporary_password_validity_days",
                self.temporary_password_validity_days,
            ),
            (
                "password_reset_validity_minutes",
                self.password_reset_validity_minutes,
            ),
        ] {
            if value == 0 {
                return Err(format!("accounts.{key} must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_validity_is_at_least_one() {
        assert_eq!(AccountSettings::default().validate_section(), Ok(()));
        let none = AccountSettings {
            password_reset_validity_minutes: 0,
            ..AccountSettings::default()
        };
        assert_eq!(
            none.validate_section(),
            Err("accounts.password_reset_validity_minutes must be at least 1".to_owned())
        );
    }
}
