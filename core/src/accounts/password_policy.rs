//! A town's password rule, stated to the resident in the town's own words
//! ("Le mot de passe doit contenir au minimum 8 caractère(s) dont au moins :
//! 1 minuscule(s), 1 chiffre(s)") and checked by the server.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::tenancy::{Section, Tenant};

/// Common passwords, lowercase (see `blocklist/README.md`).
static BLOCKLIST: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("blocklist/common-passwords.txt")
        .lines()
        .filter(|line| !line.is_empty())
        .collect()
});

/// ASVS 4 (2.1.1 and 2.1.2): at least 12 characters, at least 64 allowed.
const ASVS_MIN_LENGTH: u32 = 12;
/// No rule may go below this, whatever a town asks.
const ABSOLUTE_MIN_LENGTH: u32 = 8;
const MIN_ALLOWED_MAX_LENGTH: u32 = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    pub min_length: u32,
    pub max_length: u32,
    pub min_lowercase: u32,
    pub min_uppercase: u32,
    pub min_digits: u32,
    pub min_special: u32,
    /// Refuse passwords found in the list of commonly used passwords.
    pub blocklist: bool,
}

impl Default for PasswordPolicy {
    /// The ASVS default: a long password, checked against a blocklist, with
    /// no composition rule.
    fn default() -> Self {
        Self {
            min_length: ASVS_MIN_LENGTH,
            max_length: 128,
            min_lowercase: 0,
            min_uppercase: 0,
            min_digits: 0,
            min_special: 0,
            blocklist: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("min_length is {0}; it must be at least {ABSOLUTE_MIN_LENGTH}")]
    TooShort(u32),
    #[error("max_length is {0}; it must be at least {MIN_ALLOWED_MAX_LENGTH} (ASVS 2.1.2)")]
    MaxTooShort(u32),
    #[error("the composition rules ask for {required} characters, more than max_length ({max})")]
    Unsatisfiable { required: u32, max: u32 },
}

/// `[password_policy]` in `tenant.toml`:
///
/// ```toml
/// [password_policy]
/// min_length = 8
/// min_lowercase = 1
/// min_digits = 1
/// blocklist = false
/// ```
impl Section for PasswordPolicy {
    const KEY: &'static str = "password_policy";

    fn validate_section(&self) -> Result<(), String> {
        self.validate()
            .map_err(|error| format!("password_policy: {error}"))
    }
}

impl PasswordPolicy {
    /// The town's rule (the ASVS default when its `tenant.toml` has none).
    pub fn of(tenant: &Tenant) -> &Self {
        tenant.section::<Self>()
    }

    pub fn validate(&self) -> Result<(), PasswordPolicyError> {
        if self.min_length < ABSOLUTE_MIN_LENGTH {
            return Err(PasswordPolicyError::TooShort(self.min_length));
        }
        if self.max_length < MIN_ALLOWED_MAX_LENGTH {
            return Err(PasswordPolicyError::MaxTooShort(self.max_length));
        }
        let required = self
            .min_length
            .max(self.min_lowercase + self.min_uppercase + self.min_digits + self.min_special);
        if required > self.max_length {
            return Err(PasswordPolicyError::Unsatisfiable {
                required,
                max: self.max_length,
            });
        }
        Ok(())
    }

    /// The rule in the seed's words: "Le mot de passe doit contenir au
    /// minimum 8 caractère(s) dont au moins : 1 minuscule(s), 1 chiffre(s)".
    pub fn describe(&self) -> String {
        let requirements: Vec<String> = [
            (self.min_lowercase, "minuscule(s)"),
            (self.min_uppercase, "majuscule(s)"),
            (self.min_digits, "chiffre(s)"),
            (self.min_special, "caractère(s) spécial(aux)"),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, what)| format!("{count} {what}"))
        .collect();
        let mut sentence = format!(
            "Le mot de passe doit contenir au minimum {} caractère(s)",
            self.min_length
        );
        if !requirements.is_empty() {
            sentence.push_str(" dont au moins : ");
            sentence.push_str(&requirements.join(", "));
        }
        sentence
    }
}

/// One line of the password checklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PasswordCheck {
    /// What the script counts: length, lowercase, uppercase, digits, special.
    pub rule: &'static str,
    pub min: u32,
    pub text: String,
}

impl PasswordPolicy {
    /// Every rule `password` breaks, each as a French sentence; empty when
    /// the password is acceptable. Lengths count characters, not bytes.
    pub fn check(&self, password: &str, identifier: &str) -> Vec<String> {
        let mut unmet = Vec::new();
        let length = password.chars().count();
        if length < self.min_length as usize {
            unmet.push(format!(
                "Le mot de passe doit contenir au moins {} caractère(s) ({length} saisi(s)).",
                self.min_length
            ));
        }
        if length > self.max_length as usize {
            unmet.push(format!(
                "Le mot de passe ne doit pas dépasser {} caractères.",
                self.max_length
            ));
        }
        let count =
            |predicate: fn(char) -> bool| password.chars().filter(|c| predicate(*c)).count();
        let classes: [(u32, usize, &str); 4] = [
            (
                self.min_lowercase,
                count(char::is_lowercase),
                "minuscule(s)",
            ),
            (
                self.min_uppercase,
                count(char::is_uppercase),
                "majuscule(s)",
            ),
            (self.min_digits, count(|c| c.is_ascii_digit()), "chiffre(s)"),
            (
                self.min_special,
                count(|c| !c.is_alphanumeric()),
                "caractère(s) spécial(aux)",
            ),
        ];
        for (required, found, what) in classes {
            if found < required as usize {
                unmet.push(format!(
                    "Il manque au moins {} {what}.",
                    required as usize - found
                ));
            }
        }
        let lowered = password.to_lowercase();
        if self.blocklist && BLOCKLIST.contains(lowered.as_str()) {
            unmet.push(
                "Ce mot de passe fait partie des mots de passe les plus courants : choisissez-en un autre."
                    .to_owned(),
            );
        }
        let identifier = identifier.to_lowercase();
        if !identifier.is_empty() && lowered.contains(&identifier) {
            unmet.push("Le mot de passe ne doit pas contenir votre identifiant.".to_owned());
        }
        unmet
    }

    /// The rule as a checklist, one line per requirement, for the live
    /// hints of the password forms (the script counts characters the way
    /// [`PasswordPolicy::check`] does).
    pub fn checklist(&self) -> Vec<PasswordCheck> {
        let mut checks = vec![PasswordCheck {
            rule: "length",
            min: self.min_length,
            text: format!("{} caractères au moins", self.min_length),
        }];
        for (rule, min, singular, plural) in [
            ("lowercase", self.min_lowercase, "minuscule", "minuscules"),
            ("uppercase", self.min_uppercase, "majuscule", "majuscules"),
            ("digits", self.min_digits, "chiffre", "chiffres"),
            (
                "special",
                self.min_special,
                "caractère spécial",
                "caractères spéciaux",
            ),
        ] {
            if min > 0 {
                let what = if min == 1 { singular } else { plural };
                checks.push(PasswordCheck {
                    rule,
                    min,
                    text: format!("{min} {what} au moins"),
                });
            }
        }
        checks
    }

    /// The sentence about the blocklist, when the policy uses it.
    pub fn blocklist_note(&self) -> Option<&'static str> {
        self.blocklist
            .then_some("Les mots de passe trop courants sont refusés.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_rule() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            min_lowercase: 1,
            min_digits: 1,
            blocklist: false,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn the_seed_rule_reads_like_the_seed() {
        assert_eq!(
            seed_rule().describe(),
            "Le mot de passe doit contenir au minimum 8 caractère(s) dont au moins : \
             1 minuscule(s), 1 chiffre(s)"
        );
    }

    #[test]
    fn the_default_is_asvs() {
        let policy = PasswordPolicy::default();
        policy.validate().unwrap();
        assert_eq!(
            policy.describe(),
            "Le mot de passe doit contenir au minimum 12 caractère(s)"
        );
    }

    #[test]
    fn each_unmet_rule_is_named() {
        let policy = seed_rule();
        assert!(policy.check("soleil2024", "michel.arpege").is_empty());
        let unmet = policy.check("ABC", "michel.arpege");
        assert_eq!(
            unmet,
            [
                "Le mot de passe doit contenir au moins 8 caractère(s) (3 saisi(s)).",
                "Il manque au moins 1 minuscule(s).",
                "Il manque au moins 1 chiffre(s).",
            ]
        );
        // Characters, not bytes: "éééééé1a" is 8 characters and 14 bytes.
        assert!(policy.check("éééééé1a", "x").is_empty());
        assert_eq!(
            policy.check("michel.arpege1", "michel.arpege"),
            ["Le mot de passe ne doit pas contenir votre identifiant."]
        );
        let long = format!("a1{}", "x".repeat(200));
        assert_eq!(policy.check(&long, "zz").len(), 1);
    }

    #[test]
    fn the_blocklist_is_case_insensitive_and_optional() {
        let asvs = PasswordPolicy::default();
        // Too short (11 characters) and too common.
        assert_eq!(asvs.check("Azertyuiop1", "x").len(), 2);
        assert_eq!(
            asvs.check("MotDePasse123", "x"),
            [
                "Ce mot de passe fait partie des mots de passe les plus courants : choisissez-en un autre."
            ]
        );
        assert!(asvs.check("une phrase de passe", "x").is_empty());
        assert!(seed_rule().check("password1", "x").is_empty());
    }

    #[test]
    fn weak_or_impossible_rules_are_refused() {
        let weak = PasswordPolicy {
            min_length: 6,
            ..seed_rule()
        };
        assert_eq!(weak.validate(), Err(PasswordPolicyError::TooShort(6)));
        let capped = PasswordPolicy {
            max_length: 20,
            ..seed_rule()
        };
        assert_eq!(capped.validate(), Err(PasswordPolicyError::MaxTooShort(20)));
        let impossible = PasswordPolicy {
            min_digits: 200,
            ..seed_rule()
        };
        assert!(matches!(
            impossible.validate(),
            Err(PasswordPolicyError::Unsatisfiable { required: 201, .. })
        ));
        // In tenant.toml, the message names the section.
        assert_eq!(
            weak.validate_section(),
            Err("password_policy: min_length is 6; it must be at least 8".to_owned())
        );
        assert_eq!(PasswordPolicy::default().validate_section(), Ok(()));
    }
}
