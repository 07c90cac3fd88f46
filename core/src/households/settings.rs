//! `[household]` in `tenant.toml`: what residents may change in their
//! household themselves.
//!
//! ```toml
//! [household]
//! editable = true
//! ```

use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

/// Without `editable`, the town's software keeps the household, through the
/// data API, and residents only see it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HouseholdSettings {
    pub editable: bool,
}

impl Section for HouseholdSettings {
    const KEY: &'static str = "household";
}

/// The town's household settings (not editable when it has none).
pub fn settings(tenant: &Tenant) -> &HouseholdSettings {
    tenant.section::<HouseholdSettings>()
}
