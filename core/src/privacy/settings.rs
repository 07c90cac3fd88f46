//! `[privacy]` in `tenant.toml`: the town's privacy notice (who is the
//! controller, how to reach its data protection officer) and its
//! periods. Every key has a default; the notice's text is complete
//! without any.
//!
//! ```toml
//! [privacy]
//! controller = "Commune de Villeneuve, représentée par son maire"
//! dpo_name = "Délégué à la protection des données"
//! dpo_email = "dpo@villeneuve.fr"
//! dpo_address = "Mairie, 1 place de la Mairie, 00000 Villeneuve"
//! closure_grace_days = 14
//! inactive_after_months = 24
//! never_activated_after_months = 6
//! ```

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

/// The warning comes this long before the closure for inactivity.
pub const WARNING_BEFORE: TimeDelta = TimeDelta::days(30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    /// Who decides on the data ("Commune de Villeneuve"); the town's name
    /// when absent.
    pub controller: Option<String>,
    pub dpo_name: Option<String>,
    pub dpo_email: Option<String>,
    pub dpo_address: Option<String>,
    /// Days between asking to close an account and its closure, during
    /// which logging in cancels it.
    pub closure_grace_days: u32,
    /// Months without a login after which an account is closed (warned a
    /// month before). The CNIL holds two years proportionate.
    pub inactive_after_months: u32,
    /// Months after which an account never activated is removed.
    pub never_activated_after_months: u32,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            controller: None,
            dpo_name: None,
            dpo_email: None,
            dpo_address: None,
            closure_grace_days: 14,
            inactive_after_months: 24,
            never_activated_after_months: 6,
        }
    }
}

impl PrivacySettings {
    /// The town's settings (the defaults when its `tenant.toml` has none).
    pub fn of(tenant: &Tenant) -> &Self {
        tenant.section::<Self>()
    }

    /// When an account whose closure is asked at `now` closes.
    pub fn closes_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + TimeDelta::days(i64::from(self.closure_grace_days))
    }

    /// Accounts whose last activity is before this are closed (if warned).
    pub fn inactive_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_months(Months::new(self.inactive_after_months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Accounts whose last activity is before this are warned.
    pub fn warn_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.inactive_before(now) + WARNING_BEFORE
    }

    /// Accounts never activated and created before this are removed.
    pub fn never_activated_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_months(Months::new(self.never_activated_after_months))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Section for PrivacySettings {
    const KEY: &'static str = "privacy";

    fn validate_section(&self) -> Result<(), String> {
        if !(1..=90).contains(&self.closure_grace_days) {
            return Err(format!(
                "privacy.closure_grace_days is {}; it must be between 1 and 90",
                self.closure_grace_days
            ));
        }
        // Two months at least: the warning comes one month before.
        if !(2..=120).contains(&self.inactive_after_months) {
            return Err(format!(
                "privacy.inactive_after_months is {}; it must be between 2 and 120",
                self.inactive_after_months
            ));
        }
        if !(1..=60).contains(&self.never_activated_after_months) {
            return Err(format!(
                "privacy.never_activated_after_months is {}; it must be between 1 and 60",
                self.never_activated_after_months
            ));
        }
        if let Some(email) = &self.dpo_email
            && !crate::tenancy::is_plausible_email(email)
        {
            return Err(format!(
                "privacy.dpo_email `{email}` is not an e-mail address"
            ));
        }
        for (key, value) in [
            ("controller", &self.controller),
            ("dpo_name", &self.dpo_name),
            ("dpo_address", &self.dpo_address),
        ] {
            if value.as_deref().is_some_and(|text| text.trim().is_empty()) {
                return Err(format!("privacy.{key} is empty; remove it or write it"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn periods_are_bounded() {
        assert_eq!(PrivacySettings::default().validate_section(), Ok(()));
        let short = PrivacySettings {
            inactive_after_months: 1,
            ..PrivacySettings::default()
        };
        assert_eq!(
            short.validate_section(),
            Err("privacy.inactive_after_months is 1; it must be between 2 and 120".to_owned())
        );
        let grace = PrivacySettings {
            closure_grace_days: 0,
            ..PrivacySettings::default()
        };
        assert!(grace.validate_section().is_err());
        let dpo = PrivacySettings {
            dpo_email: Some("nowhere".to_owned()),
            ..PrivacySettings::default()
        };
        assert!(dpo.validate_section().is_err());
    }

    #[test]
    fn the_warning_comes_a_month_before_the_closure() {
        let settings = PrivacySettings::default();
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        assert_eq!(
            settings.inactive_before(now),
            Utc.with_ymd_and_hms(2024, 12, 2, 12, 0, 0).unwrap()
        );
        assert_eq!(
            settings.warn_before(now),
            Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
        );
        assert_eq!(
            settings.never_activated_before(now),
            Utc.with_ymd_and_hms(2026, 6, 2, 12, 0, 0).unwrap()
        );
    }
}
