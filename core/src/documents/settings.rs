//! `[documents]` in `tenant.toml`: who signs the town's documents, and
//! where they are made. The back-office may change them (`/admin/documents`):
//! what it saves belongs to the database from then on (`document_settings`).
//!
//! ```toml
//! [documents]
//! place = "Villeneuve"
//! signatory = "Claire MARTIN"
//! signatory_title = "Maire de Villeneuve, par délégation le régisseur"
//! ```

use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

/// Longest place and signatory's name, in characters.
pub const MAX_NAME: usize = 120;
/// Longest signatory's title, in characters.
pub const MAX_TITLE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentSettings {
    /// "Fait à <place>, le …"; the town's name without "Ville de" when absent.
    pub place: Option<String>,
    /// The name printed under the signature line.
    pub signatory: Option<String>,
    /// Above the name, e.g. "Le maire" or "Pour le maire, le régisseur".
    pub signatory_title: Option<String>,
}

impl Section for DocumentSettings {
    const KEY: &'static str = "documents";

    fn validate_section(&self) -> Result<(), String> {
        let checks = [
            ("place", &self.place, MAX_NAME),
            ("signatory", &self.signatory, MAX_NAME),
            ("signatory_title", &self.signatory_title, MAX_TITLE),
        ];
        for (key, value, max) in checks {
            if let Some(value) = value
                && let Some(problem) = problem(value, max)
            {
                return Err(format!("documents: {key} {problem}"));
            }
        }
        Ok(())
    }
}

/// What is wrong with a setting's text, if anything (in English: the
/// operator reads it; the back-office says it in French).
pub fn problem(value: &str, max: usize) -> Option<String> {
    if value.trim().is_empty() {
        return Some("is empty".to_owned());
    }
    if value.chars().count() > max {
        return Some(format!("is longer than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Some("holds control characters".to_owned());
    }
    None
}

/// The town's `[documents]` (all unset when it has none).
pub fn declared(tenant: &Tenant) -> &DocumentSettings {
    tenant.section::<DocumentSettings>()
}

/// "Villeneuve" for "Ville de Villeneuve": the place a document is made,
/// when the town did not say.
pub fn default_place(display_name: &str) -> String {
    for prefix in [
        "Ville de ",
        "Ville d'",
        "Ville d’",
        "Commune de ",
        "Commune d'",
        "Commune d’",
        "Mairie de ",
        "Mairie d'",
    ] {
        if let Some(rest) = display_name.strip_prefix(prefix)
            && !rest.trim().is_empty()
        {
            return rest.trim().to_owned();
        }
    }
    display_name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_defaults_to_the_town_name_without_its_prefix() {
        assert_eq!(default_place("Ville de Villeneuve"), "Villeneuve");
        assert_eq!(default_place("Commune d'Arles"), "Arles");
        assert_eq!(default_place("Saint-Martin"), "Saint-Martin");
        assert_eq!(default_place("Ville de "), "Ville de ");
    }

    #[test]
    fn settings_are_checked() {
        let long = DocumentSettings {
            signatory: Some("x".repeat(MAX_NAME + 1)),
            ..DocumentSettings::default()
        };
        assert_eq!(
            long.validate_section().unwrap_err(),
            "documents: signatory is longer than 120 characters"
        );
        let empty = DocumentSettings {
            place: Some("  ".to_owned()),
            ..DocumentSettings::default()
        };
        assert!(
            empty
                .validate_section()
                .unwrap_err()
                .contains("place is empty")
        );
        assert!(DocumentSettings::default().validate_section().is_ok());
    }
}
