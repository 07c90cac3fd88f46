//! `[[request_types]]` in `tenant.toml`: the requests ("demandes") a
//! resident starts with a message, besides those of the modules.
//!
//! ```toml
//! [[request_types]]
//! id = "attestation-residence"
//! label = "Demander une attestation de résidence"
//! description = "Pour une inscription, un dossier…"
//! # Optional: the statuses its requests may take (default: all of them).
//! statuses = ["en-cours", "en-attente", "refusee", "terminee"]
//! ```

use serde::{Deserialize, Serialize};

use super::RequestStatus;
use crate::tenancy::{Section, Tenant, is_valid_slug};

/// A request a resident starts with a message ("Nouvelle démarche").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestType {
    /// Lowercase letters, digits and hyphens; the request's kind.
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
    /// The statuses the staff may give its requests (stored values:
    /// "en-cours", "terminee"…); empty: every status of the table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<String>,
}

impl RequestType {
    /// The statuses this type allows, `None` when it restricts nothing.
    /// Unknown values were refused when the town was loaded.
    pub fn allowed_statuses(&self) -> Option<Vec<RequestStatus>> {
        (!self.statuses.is_empty()).then(|| {
            self.statuses
                .iter()
                .filter_map(|status| RequestStatus::parse(status))
                .collect()
        })
    }
}

impl Section for Vec<RequestType> {
    const KEY: &'static str = "request_types";

    fn validate_section(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        for request_type in self {
            if !is_valid_slug(&request_type.id) || !ids.insert(request_type.id.as_str()) {
                return Err(format!(
                    "request_types: `{}` must be a unique id of lowercase letters, digits and hyphens",
                    request_type.id
                ));
            }
            if request_type.label.trim().is_empty() {
                return Err(format!("request_types: `{}` has no label", request_type.id));
            }
            if let Some(unknown) = request_type
                .statuses
                .iter()
                .find(|status| RequestStatus::parse(status).is_none())
            {
                return Err(format!(
                    "request_types: `{}` names an unknown status `{unknown}` (known: deposee, en-cours, en-attente, acceptee, refusee, terminee)",
                    request_type.id
                ));
            }
        }
        Ok(())
    }
}

/// The request types the town declares, in its order.
pub fn request_types(tenant: &Tenant) -> &[RequestType] {
    tenant.section::<Vec<RequestType>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_type(id: &str, label: &str) -> RequestType {
        RequestType {
            id: id.to_owned(),
            label: label.to_owned(),
            description: String::new(),
            statuses: Vec::new(),
        }
    }

    #[test]
    fn ids_are_unique_slugs_and_labels_are_written() {
        let good = vec![request_type("attestation", "Attestation")];
        assert_eq!(good.validate_section(), Ok(()));
        let cases = [
            (
                vec![request_type("Attestation", "A")],
                "request_types: `Attestation` must be a unique id of lowercase letters, digits and hyphens",
            ),
            (
                vec![request_type("a", "A"), request_type("a", "B")],
                "request_types: `a` must be a unique id of lowercase letters, digits and hyphens",
            ),
            (
                vec![request_type("a", " ")],
                "request_types: `a` has no label",
            ),
            (
                vec![RequestType {
                    statuses: vec!["fini".to_owned()],
                    ..request_type("a", "A")
                }],
                "request_types: `a` names an unknown status `fini` (known: deposee, en-cours, en-attente, acceptee, refusee, terminee)",
            ),
        ];
        for (types, expected) in cases {
            assert_eq!(types.validate_section(), Err(expected.to_owned()));
        }
    }
}
