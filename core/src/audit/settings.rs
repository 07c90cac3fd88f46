//! `[journal]` in `tenant.toml`: how long the town keeps its journal.
//!
//! ```toml
//! [journal]
//! retention_days = 365
//! ```

use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

/// The longest retention a town may set: ten years, beyond which a journal
/// of logins is no longer proportionate (RGPD, data minimisation).
const MAX_RETENTION_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSettings {
    /// Events older than this many days are purged (see purge.rs).
    pub retention_days: u32,
}

impl Default for JournalSettings {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

impl JournalSettings {
    /// The town's settings (the defaults when its `tenant.toml` has none).
    pub fn of(tenant: &Tenant) -> &Self {
        tenant.section::<Self>()
    }
}

impl Section for JournalSettings {
    const KEY: &'static str = "journal";

    fn validate_section(&self) -> Result<(), String> {
        if !(1..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            return Err(format!(
                "journal.retention_days is {}; it must be between 1 and {MAX_RETENTION_DAYS}",
                self.retention_days
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_between_a_day_and_ten_years() {
        assert_eq!(JournalSettings::default().validate_section(), Ok(()));
        for days in [0, 3651] {
            let settings = JournalSettings {
                retention_days: days,
            };
            assert_eq!(
                settings.validate_section(),
                Err(format!(
                    "journal.retention_days is {days}; it must be between 1 and 3650"
                ))
            );
        }
    }
}
