//! What makes a town a town, as `tenants/<slug>/tenant.toml` declares it:
//! its name, theme, host names, time zone, mail sender and contact. Every
//! other top-level key is a *section* owned by a feature (`[password_policy]`,
//! `[[modules]]`, `[franceconnect]`…): tenancy keeps sections as raw values
//! and each feature reads its own, typed, through [`TenantDefinition::section`].
//!
//! ```toml
//! display_name = "Ville de Villeneuve"
//! theme = "villeneuve"
//! hostnames = ["espace-citoyens.villeneuve.fr"]
//!
//! [mail]
//! sender_name = "Mairie de Villeneuve"
//! sender_address = "ne-pas-repondre@villeneuve.fr"
//! ```
//!
//! Which sections exist, and the refusal of unknown keys, is the business
//! of the layer that loads whole towns (`towns`), which knows the features.

use std::any::Any;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::is_valid_hostname;

pub const DEFINITION_FILE: &str = "tenant.toml";
const DEFAULT_TIMEZONE: &str = "Europe/Paris";

/// The top-level keys of `tenant.toml` that tenancy reads itself; every other
/// key is a feature's [`Section`].
pub const TOWN_KEYS: [&str; 7] = [
    "slug",
    "display_name",
    "theme",
    "hostnames",
    "timezone",
    "mail",
    "contact",
];

/// A feature's part of a town's definition: one top-level key of
/// `tenant.toml`, parsed, defaulted and checked by the feature that owns it.
pub trait Section: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// Its top-level key in `tenant.toml` (and in the stored definition).
    const KEY: &'static str;

    /// Checks what serde cannot; the message names the key, e.g.
    /// "password_policy: min_length is 4; …".
    fn validate_section(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A town's definition: its own keys, typed, and its features' sections,
/// raw. Stored as JSON in the `tenant` row (sections at the top level, as
/// they are in `tenant.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantDefinition {
    /// The town's subdomain; defaults to, and must equal, its folder's name.
    #[serde(default)]
    pub slug: String,
    pub display_name: String,
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Custom domains, in addition to `<slug>.<base_domain>`.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// IANA time zone in which dates are shown to residents.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    pub mail: MailSender,
    #[serde(default)]
    pub contact: TownContact,
    /// The features' sections, by key. Private: read through `section`
    /// (parsed once, cached), written through `set_section` (which forgets
    /// the cache), so the two never disagree.
    #[serde(flatten)]
    sections: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    parsed: SectionCache,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSender {
    pub sender_name: String,
    pub sender_address: String,
}

/// The town hall's public contact details, shown in every page's footer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TownContact {
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

/// The town's own keys as `tenant.toml` writes them. Read apart from the
/// sections so that a mistake keeps toml's line and column; other keys are
/// ignored here (the loader of whole towns refuses the unknown ones).
#[derive(Deserialize)]
struct TownKeys {
    #[serde(default)]
    slug: String,
    display_name: String,
    #[serde(default = "default_theme")]
    theme: String,
    #[serde(default)]
    hostnames: Vec<String>,
    #[serde(default = "default_timezone")]
    timezone: String,
    mail: MailSender,
    #[serde(default)]
    contact: TownContact,
}

fn default_theme() -> String {
    "default".to_owned()
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.to_owned()
}

/// A definition that does not validate, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct InvalidDefinition {
    pub origin: String,
    pub message: String,
}

impl TenantDefinition {
    /// Reads and checks the town's own keys of a `tenant.toml`; the sections
    /// are left empty for their features to fill ([`Self::set_section`]).
    /// `folder_slug` is the name of the folder holding the file; `origin`
    /// names the file in error messages.
    pub fn from_toml(
        text: &str,
        folder_slug: &str,
        origin: &str,
    ) -> Result<Self, InvalidDefinition> {
        let invalid = |message: String| InvalidDefinition {
            origin: origin.to_owned(),
            message,
        };
        let keys: TownKeys = toml::from_str(text)
            .map_err(|error| invalid(error.to_string().trim_end().to_owned()))?;
        let mut definition = Self {
            slug: keys.slug,
            display_name: keys.display_name,
            theme: keys.theme,
            hostnames: keys.hostnames,
            timezone: keys.timezone,
            mail: keys.mail,
            contact: keys.contact,
            sections: serde_json::Map::new(),
            parsed: SectionCache::default(),
        };

        if definition.slug.is_empty() {
            definition.slug = folder_slug.to_owned();
        }
        if definition.slug != folder_slug {
            return Err(invalid(format!(
                "slug `{}` differs from the folder name `{folder_slug}`",
                definition.slug
            )));
        }
        if !is_valid_slug(&definition.slug) {
            return Err(invalid(format!(
                "slug `{}` must be lowercase letters, digits and inner hyphens (it becomes a subdomain)",
                definition.slug
            )));
        }
        if definition.display_name.trim().is_empty() {
            return Err(invalid("display_name is empty".to_owned()));
        }
        if !is_valid_slug(&definition.theme) {
            return Err(invalid(format!(
                "theme `{}` is not a theme folder name",
                definition.theme
            )));
        }
        for hostname in &mut definition.hostnames {
            *hostname = hostname.trim_end_matches('.').to_ascii_lowercase();
            if !is_valid_hostname(hostname) || !hostname.contains('.') {
                return Err(invalid(format!(
                    "hostname `{hostname}` is not a domain name"
                )));
            }
        }
        definition.hostnames.sort();
        definition.hostnames.dedup();
        if definition.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(format!(
                "timezone `{}` is not an IANA time zone such as Europe/Paris",
                definition.timezone
            )));
        }
        if definition.mail.sender_name.trim().is_empty() {
            return Err(invalid("mail.sender_name is empty".to_owned()));
        }
        if !is_plausible_email(&definition.mail.sender_address) {
            return Err(invalid(format!(
                "mail.sender_address `{}` is not an e-mail address",
                definition.mail.sender_address
            )));
        }
        if let Some(email) = &definition.contact.email
            && !is_plausible_email(email)
        {
            return Err(invalid(format!(
                "contact.email `{email}` is not an e-mail address"
            )));
        }
        Ok(definition)
    }

    /// The town's section `S`, or its default when the town has none.
    ///
    /// Parsed once per definition value and kept (a town is read on every
    /// request). A stored section that no longer parses (written by another
    /// version of Guichet) is logged and read as its default, so that the
    /// rest of the town keeps working; applying its `tenant.toml` again
    /// rewrites it.
    pub fn section<S: Section>(&self) -> &S {
        self.parsed.get_or_insert_with(|| {
            self.parse_section::<S>().unwrap_or_else(|error| {
                tracing::error!(
                    town = %self.slug,
                    section = S::KEY,
                    %error,
                    "stored section unreadable; its default is used"
                );
                S::default()
            })
        })
    }

    /// The section `S` parsed anew, or why it does not parse.
    pub fn parse_section<S: Section>(&self) -> Result<S, serde_json::Error> {
        match self.sections.get(S::KEY) {
            Some(value) => S::deserialize(value),
            None => Ok(S::default()),
        }
    }

    /// Whether the definition holds the section `key` at all.
    pub fn has_section(&self, key: &str) -> bool {
        self.sections.contains_key(key)
    }

    /// Sets (replaces) the section `S`.
    pub fn set_section<S: Section>(&mut self, section: &S) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(section)?;
        self.sections.insert(S::KEY.to_owned(), value);
        self.parsed = SectionCache::default();
        Ok(())
    }

    /// Changes the section `S` in place (its default if the town has none).
    pub fn edit_section<S: Section>(
        &mut self,
        edit: impl FnOnce(&mut S),
    ) -> Result<(), serde_json::Error> {
        let mut section = self.section::<S>().clone();
        edit(&mut section);
        self.set_section(&section)
    }
}

/// Sections already parsed, one per type: an append-only list whose links
/// are set once, so a reader gets a plain `&S` for as long as it holds the
/// definition, without a lock. A definition holds a dozen sections at most.
#[derive(Default)]
struct SectionCache(OnceLock<Box<CachedSection>>);

struct CachedSection {
    value: Box<dyn Any + Send + Sync>,
    next: OnceLock<Box<CachedSection>>,
}

impl SectionCache {
    /// The cached `S`, or `make()`'s, appended. Two threads that miss at
    /// once may both call `make`; the first appended value wins.
    fn get_or_insert_with<S: Any + Send + Sync>(&self, make: impl Fn() -> S) -> &S {
        let mut link = &self.0;
        loop {
            let node = link.get_or_init(|| {
                Box::new(CachedSection {
                    value: Box::new(make()),
                    next: OnceLock::new(),
                })
            });
            if let Some(value) = node.value.downcast_ref::<S>() {
                return value;
            }
            link = &node.next;
        }
    }
}

/// Derived from `sections`: a copy starts empty and fills itself again.
impl Clone for SectionCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Derived data: two definitions are equal by their sections alone.
impl PartialEq for SectionCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for SectionCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SectionCache")
    }
}

/// A slug is one DNS label in lowercase: it becomes `<slug>.<base_domain>`.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.contains('.') && is_valid_hostname(slug) && !slug.bytes().any(|b| b.is_ascii_uppercase())
}

/// Enough to catch typos in a configuration file; the mail layer parses
/// addresses properly before sending.
pub fn is_plausible_email(address: &str) -> bool {
    address.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !local.chars().any(char::is_whitespace)
            && domain.contains('.')
            && is_valid_hostname(domain)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        display_name = "Ville de Test"
        [mail]
        sender_name = "Mairie"
        sender_address = "mairie@test.example.fr"
    "#;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Counter {
        count: u32,
    }

    impl Section for Counter {
        const KEY: &'static str = "counter";
    }

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    struct Words(Vec<String>);

    impl Section for Words {
        const KEY: &'static str = "words";
    }

    #[test]
    fn minimal_definition_gets_defaults() {
        let definition = TenantDefinition::from_toml(MINIMAL, "test", "test/tenant.toml").unwrap();
        assert_eq!(definition.slug, "test");
        assert_eq!(definition.theme, "default");
        assert_eq!(definition.timezone, "Europe/Paris");
        assert_eq!(definition.section::<Counter>(), &Counter::default());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let cases = [
            (
                format!("slug = \"other\"\n{MINIMAL}"),
                "differs from the folder name",
            ),
            (
                format!("timezone = \"Mars/Olympus\"\n{MINIMAL}"),
                "not an IANA time zone",
            ),
            (
                format!("hostnames = [\"no spaces.fr\"]\n{MINIMAL}"),
                "not a domain name",
            ),
            (
                MINIMAL.replace("mairie@test.example.fr", "mairie"),
                "not an e-mail address",
            ),
            (
                format!("{MINIMAL}\n[contact]\nemail = \"nowhere\""),
                "contact.email `nowhere` is not an e-mail address",
            ),
        ];
        for (text, expected) in cases {
            let error = TenantDefinition::from_toml(&text, "test", "tenants/test/tenant.toml")
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("tenants/test/tenant.toml: "), "{error}");
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
    }

    #[test]
    fn hostnames_are_normalised() {
        let text = format!("hostnames = [\"Espace.Test.FR.\", \"espace.test.fr\"]\n{MINIMAL}");
        let definition = TenantDefinition::from_toml(&text, "test", "t").unwrap();
        assert_eq!(definition.hostnames, ["espace.test.fr"]);
    }

    #[test]
    fn slugs_are_single_lowercase_labels() {
        assert!(is_valid_slug("saint-martin"));
        for bad in ["Saint-Martin", "a.b", "-a", ""] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn the_town_keys_are_those_stored() {
        let definition = TenantDefinition::from_toml(MINIMAL, "test", "t").unwrap();
        let stored = serde_json::to_value(&definition).unwrap();
        let mut keys: Vec<&str> = stored
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = TOWN_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }

    #[test]
    fn sections_are_stored_beside_the_town_keys_and_read_back() {
        let mut definition = TenantDefinition::from_toml(MINIMAL, "test", "t").unwrap();
        assert!(!definition.has_section(Counter::KEY));
        // Read once (default), then set: the cache must not keep the default.
        assert_eq!(definition.section::<Counter>().count, 0);
        definition.set_section(&Counter { count: 3 }).unwrap();
        definition
            .edit_section(|words: &mut Words| words.0.push("un".to_owned()))
            .unwrap();
        assert_eq!(definition.section::<Counter>().count, 3);
        assert_eq!(definition.section::<Words>().0, ["un"]);

        let json = serde_json::to_string(&definition).unwrap();
        let stored: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(stored["counter"]["count"], 3);
        assert_eq!(stored["words"][0], "un");
        let read: TenantDefinition = serde_json::from_str(&json).unwrap();
        assert_eq!(read, definition);
        assert_eq!(read.section::<Counter>().count, 3);
        // The same reference each time: parsed once.
        assert!(std::ptr::eq(
            read.section::<Words>(),
            read.section::<Words>()
        ));
    }

    #[test]
    fn an_unreadable_stored_section_reads_as_its_default() {
        let json = r#"{"slug": "test", "display_name": "T", "theme": "default", "hostnames": [],
            "timezone": "Europe/Paris", "mail": {"sender_name": "M", "sender_address": "m@t.fr"},
            "counter": {"count": "many"}}"#;
        let read: TenantDefinition = serde_json::from_str(json).unwrap();
        assert!(read.parse_section::<Counter>().is_err());
        assert_eq!(read.section::<Counter>(), &Counter::default());
    }

    #[test]
    fn sections_are_read_once_across_threads() {
        let mut definition = TenantDefinition::from_toml(MINIMAL, "test", "t").unwrap();
        definition.set_section(&Counter { count: 7 }).unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    assert_eq!(definition.section::<Counter>().count, 7);
                    assert!(definition.section::<Words>().0.is_empty());
                });
            }
        });
    }
}
