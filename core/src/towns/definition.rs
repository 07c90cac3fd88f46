//! Loading a town folder: `tenant.toml`, `terms/*.md`, `news/*.md`,
//! `pages/*.md`.
//!
//! `tenant.toml` is read in three passes over the same text, so that every
//! mistake keeps toml's line and column: its top-level keys (each must be a
//! town key or a known section), the town's own keys (tenancy), then each
//! feature's section, parsed and checked by its feature.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::accounts::{AccountSettings, PasswordPolicy};
use crate::audit::JournalSettings;
use crate::content::{NewsItem, TownPage};
use crate::documents::DocumentSettings;
use crate::franceconnect::FranceConnectSettings;
use crate::households::HouseholdSettings;
use crate::modules::ModuleEnablement;
use crate::payments::PaymentSection;
use crate::privacy::PrivacySettings;
use crate::requests::RequestType;
use crate::tenancy::{DEFINITION_FILE, InvalidDefinition, Section, TOWN_KEYS, TenantDefinition};
use crate::terms::{TermsFile, TermsFileError, parse_terms_file};

/// A town as its folder declares it: its definition (stored with the town)
/// and its terms files (each published as a version).
#[derive(Debug, Clone, PartialEq)]
pub struct TownDefinition {
    pub definition: TenantDefinition,
    /// `terms/*.md`, in file name order.
    pub terms: Vec<TermsFile>,
}

/// A stored definition applied again, without terms files.
impl From<TenantDefinition> for TownDefinition {
    fn from(definition: TenantDefinition) -> Self {
        Self {
            definition,
            terms: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no {DEFINITION_FILE}, neither directly nor in a sub-folder", .0.display())]
    Empty(PathBuf),
    #[error(transparent)]
    Invalid(#[from] InvalidDefinition),
    #[error(transparent)]
    Terms(#[from] TermsFileError),
    #[error(transparent)]
    Content(#[from] crate::content::ContentError),
}

/// One section: its key and how it is read from `tenant.toml` and checked
/// in a definition.
struct SectionRule {
    key: &'static str,
    /// Reads the section from the text of `tenant.toml`, checks it and sets
    /// it in the definition (when written).
    read: fn(&str, &mut TenantDefinition) -> Result<(), String>,
    /// Checks the section a definition holds.
    check: fn(&TenantDefinition) -> Result<(), String>,
}

const fn rule<S: Section>() -> SectionRule {
    SectionRule {
        key: S::KEY,
        read: read_section::<S>,
        check: check_section::<S>,
    }
}

/// The sections `tenant.toml` may hold, each owned by its feature, in the
/// order they are checked.
const TOML_SECTIONS: [SectionRule; 10] = [
    rule::<Vec<ModuleEnablement>>(),
    rule::<Option<FranceConnectSettings>>(),
    rule::<Vec<RequestType>>(),
    rule::<PasswordPolicy>(),
    rule::<AccountSettings>(),
    rule::<HouseholdSettings>(),
    rule::<JournalSettings>(),
    rule::<DocumentSettings>(),
    rule::<PaymentSection>(),
    rule::<PrivacySettings>(),
];

/// The sections that come from files beside `tenant.toml`, never from it.
const FILE_SECTIONS: [SectionRule; 2] = [rule::<Vec<NewsItem>>(), rule::<Vec<TownPage>>()];

/// Every top-level key `tenant.toml` may hold: the town's, then the
/// sections' (the file sections too, to say where they belong).
static KNOWN_KEYS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    TOWN_KEYS
        .into_iter()
        .chain(TOML_SECTIONS.iter().map(|rule| rule.key))
        .chain(FILE_SECTIONS.iter().map(|rule| rule.key))
        .collect()
});

fn read_section<S: Section>(text: &str, definition: &mut TenantDefinition) -> Result<(), String> {
    let Keyed(section) = toml::from_str::<Keyed<S>>(text)
        .map_err(|error| error.to_string().trim_end().to_owned())?;
    let written = section.is_some();
    let section = section.unwrap_or_default();
    section.validate_section()?;
    if written {
        definition
            .set_section(&section)
            .map_err(|error| format!("{}: {error}", S::KEY))?;
    }
    Ok(())
}

fn check_section<S: Section>(definition: &TenantDefinition) -> Result<(), String> {
    definition
        .parse_section::<S>()
        .map_err(|error| format!("{}: {error}", S::KEY))?
        .validate_section()
}

/// Checks every section a definition holds (one built or changed in code
/// rather than read from its folder); the message names the section.
pub fn check_sections(definition: &TenantDefinition) -> Result<(), String> {
    TOML_SECTIONS
        .iter()
        .chain(&FILE_SECTIONS)
        .try_for_each(|rule| (rule.check)(definition))
}

/// Parses and checks one `tenant.toml` (no terms, news or pages).
/// `folder_slug` is the name of the folder holding the file; `origin` names
/// the file in error messages.
pub fn parse_town(
    text: &str,
    folder_slug: &str,
    origin: &str,
) -> Result<TownDefinition, LoadError> {
    let invalid = |message: String| InvalidDefinition {
        origin: origin.to_owned(),
        message,
    };
    let KnownKeys(keys) = toml::from_str::<KnownKeys>(text)
        .map_err(|error| invalid(error.to_string().trim_end().to_owned()))?;
    let mut definition = TenantDefinition::from_toml(text, folder_slug, origin)?;
    if FILE_SECTIONS.iter().any(|rule| keys.contains(&rule.key)) {
        return Err(invalid(
            "news and pages are written in news/*.md and pages/*.md beside tenant.toml".to_owned(),
        )
        .into());
    }
    for rule in &TOML_SECTIONS {
        (rule.read)(text, &mut definition).map_err(invalid)?;
    }
    Ok(definition.into())
}

/// One file of a town folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TownFile {
    /// The file name without `.md` (a news item's or page's address).
    pub name: String,
    /// Where it came from, for messages.
    pub origin: String,
    pub text: String,
}

/// A town folder's files, wherever they were read from (a folder on disk,
/// or the copy built into the binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TownFiles {
    /// The folder's name, which the town's slug must equal.
    pub folder_slug: String,
    pub definition: TownFile,
    /// Each kind in file name order.
    pub terms: Vec<TownFile>,
    pub news: Vec<TownFile>,
    pub pages: Vec<TownFile>,
}

/// Parses and checks a town folder's files into its definition.
pub fn assemble(files: &TownFiles) -> Result<TownDefinition, LoadError> {
    let tenant_toml = &files.definition;
    let mut town = parse_town(&tenant_toml.text, &files.folder_slug, &tenant_toml.origin)?;
    for file in &files.terms {
        town.terms.push(parse_terms_file(&file.text, &file.origin)?);
    }
    let news = files
        .news
        .iter()
        .map(|file| crate::content::parse_news(&file.text, &file.name, &file.origin))
        .collect::<Result<Vec<NewsItem>, _>>()?;
    let pages = files
        .pages
        .iter()
        .map(|file| crate::content::parse_page(&file.text, &file.name, &file.origin))
        .collect::<Result<Vec<TownPage>, _>>()?;
    let set = |definition: &mut TenantDefinition| -> Result<(), serde_json::Error> {
        if !news.is_empty() {
            definition.set_section(&news)?;
        }
        if !pages.is_empty() {
            definition.set_section(&pages)?;
        }
        Ok(())
    };
    set(&mut town.definition).map_err(|error| InvalidDefinition {
        origin: tenant_toml.origin.clone(),
        message: format!("news and pages: {error}"),
    })?;
    Ok(town)
}

/// Reads `DIR/tenant.toml`, or every `DIR/*/tenant.toml`, in name order.
pub fn load_definitions(dir: &Path) -> Result<Vec<TownDefinition>, LoadError> {
    if dir.join(DEFINITION_FILE).is_file() {
        return Ok(vec![load_town(dir)?]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join(DEFINITION_FILE).is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(LoadError::Empty(dir.to_owned()));
    }
    folders.iter().map(|folder| load_town(folder)).collect()
}

fn load_town(folder: &Path) -> Result<TownDefinition, LoadError> {
    let folder_slug = folder
        .canonicalize()
        .ok()
        .and_then(|dir| {
            dir.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let read = |path: &Path| -> Result<TownFile, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(TownFile {
            name,
            origin: path.display().to_string(),
            text,
        })
    };
    let read_all = |sub_folder: &str| -> Result<Vec<TownFile>, LoadError> {
        markdown_files(&folder.join(sub_folder))
            .iter()
            .map(|path| read(path))
            .collect()
    };
    assemble(&TownFiles {
        folder_slug,
        definition: read(&folder.join(DEFINITION_FILE))?,
        terms: read_all("terms")?,
        news: read_all("news")?,
        pages: read_all("pages")?,
    })
}

/// The `*.md` files of a folder, sorted (none if there is no folder).
fn markdown_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Reads only the top-level keys, refusing those of no town key nor section
/// (through serde's `unknown_field`, so toml names the line).
struct KnownKeys(Vec<&'static str>);

impl<'de> Deserialize<'de> for KnownKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KnownKeysVisitor)
    }
}

struct KnownKeysVisitor;

impl<'de> Visitor<'de> for KnownKeysVisitor {
    type Value = KnownKeys;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a town definition")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KnownKeys, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = map.next_key_seed(KnownKey)? {
            map.next_value::<IgnoredAny>()?;
            keys.push(key);
        }
        Ok(KnownKeys(keys))
    }
}

struct KnownKey;

impl<'de> DeserializeSeed<'de> for KnownKey {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<&'static str, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KnownKey {
    type Value = &'static str;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<&'static str, E> {
        KNOWN_KEYS
            .iter()
            .find(|known| **known == key)
            .copied()
            .ok_or_else(|| E::unknown_field(key, KNOWN_KEYS.as_slice()))
    }
}

/// Reads only the top-level key `S::KEY`, as `S`.
struct Keyed<S>(Option<S>);

impl<'de, S: Section> Deserialize<'de> for Keyed<S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(KeyedVisitor(PhantomData))
    }
}

struct KeyedVisitor<S>(PhantomData<S>);

impl<'de, S: Section> Visitor<'de> for KeyedVisitor<S> {
    type Value = Keyed<S>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a town definition")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keyed<S>, A::Error> {
        let mut section = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == S::KEY {
                section = Some(map.next_value::<S>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Keyed(section))
    }
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

    fn parse(text: &str) -> Result<TenantDefinition, String> {
        parse_town(text, "test", "tenants/test/tenant.toml")
            .map(|town| town.definition)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn minimal_definition_gets_defaults() {
        let definition = parse(MINIMAL).unwrap();
        assert_eq!(definition.slug, "test");
        assert_eq!(
            definition.section::<PasswordPolicy>(),
            &PasswordPolicy::default()
        );
        assert!(
            definition
                .section::<Option<FranceConnectSettings>>()
                .is_none()
        );
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let cases = [
            (format!("{MINIMAL}\nunknown = 1"), "unknown field `unknown`"),
            (format!("unknown = 1\n{MINIMAL}"), "unknown field `unknown`"),
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
                format!("{MINIMAL}\n[password_policy]\nmin_length = 4"),
                "password_policy: min_length is 4",
            ),
            (
                MINIMAL.replace("mairie@test.example.fr", "mairie"),
                "not an e-mail address",
            ),
            (
                format!("{MINIMAL}\n[accounts]\nactivation_validity_days = 0"),
                "accounts.activation_validity_days must be at least 1",
            ),
            (
                format!("{MINIMAL}\n[[request_types]]\nid = \"a\"\nlabel = \"\""),
                "request_types: `a` has no label",
            ),
            (
                format!(
                    "{MINIMAL}\n[[modules]]\nid = \"notes\"\nversion = \"^0.1\"\n[[modules]]\nid = \"notes\"\nversion = \"^0.1\""
                ),
                "modules: `notes` is listed twice",
            ),
            (
                format!(
                    "{MINIMAL}\n[franceconnect]\nissuer = \"https://fc.example.fr\"\nclient_id = \" \"\nclient_secret_env = \"FC\""
                ),
                "franceconnect.client_id is empty",
            ),
            (
                format!("{MINIMAL}\n[[news]]\ntitle = \"Fête\""),
                "news and pages are written in news/*.md and pages/*.md beside tenant.toml",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err();
            assert!(error.starts_with("tenants/test/tenant.toml: "), "{error}");
            assert!(
                error.contains(expected),
                "{error} should contain {expected}"
            );
        }
    }

    #[test]
    fn mistakes_in_sections_keep_their_line() {
        // MINIMAL ends on its line 6; the key below is on line 8.
        let error = parse(&format!("{MINIMAL}\n[household]\neditable = \"oui\"")).unwrap_err();
        assert!(error.contains("line 8"), "{error}");
        assert!(error.contains("invalid type"), "{error}");
        let error = parse(&format!("{MINIMAL}\n[household]\nshared = true")).unwrap_err();
        assert!(
            error.contains("line 8") && error.contains("unknown field `shared`"),
            "{error}"
        );
        // A top-level key of no town key nor section.
        let error = parse(&format!("unknown = 1\n{MINIMAL}")).unwrap_err();
        assert!(error.contains("line 1"), "{error}");
        assert!(error.contains("unknown field `unknown`"), "{error}");
        assert!(
            error.contains("`display_name`"),
            "the known keys are listed: {error}"
        );
        assert!(
            error.contains("`password_policy`"),
            "the known keys are listed: {error}"
        );
    }

    #[test]
    fn sections_are_read_by_their_features() {
        let text = format!(
            "{MINIMAL}\n[password_policy]\nmin_length = 10\n[household]\neditable = true\n\
             [[request_types]]\nid = \"attestation\"\nlabel = \"Attestation\"\n\
             [[modules]]\nid = \"notes\"\nversion = \"^0.1\"\n"
        );
        let definition = parse(&text).unwrap();
        assert_eq!(definition.section::<PasswordPolicy>().min_length, 10);
        assert!(definition.section::<HouseholdSettings>().editable);
        assert_eq!(
            definition.section::<Vec<RequestType>>()[0].id,
            "attestation"
        );
        assert_eq!(
            definition.section::<Vec<ModuleEnablement>>()[0].config,
            serde_json::json!({})
        );
        // Sections not written are not stored.
        assert!(!definition.has_section(AccountSettings::KEY));
        assert_eq!(check_sections(&definition), Ok(()));
    }

    #[test]
    fn a_section_changed_in_code_is_checked_again() {
        let mut definition = parse(MINIMAL).unwrap();
        definition
            .edit_section(|policy: &mut PasswordPolicy| policy.min_length = 4)
            .unwrap();
        assert_eq!(
            check_sections(&definition),
            Err("password_policy: min_length is 4; it must be at least 8".to_owned())
        );
    }

    #[test]
    fn a_folder_of_towns_is_read_in_order() {
        let root = tempfile::tempdir().unwrap();
        for slug in ["zeta", "alpha"] {
            std::fs::create_dir(root.path().join(slug)).unwrap();
            std::fs::write(root.path().join(slug).join(DEFINITION_FILE), MINIMAL).unwrap();
        }
        std::fs::create_dir(root.path().join("not-a-town")).unwrap();
        let slugs: Vec<String> = load_definitions(root.path())
            .unwrap()
            .into_iter()
            .map(|town| town.definition.slug)
            .collect();
        assert_eq!(slugs, ["alpha", "zeta"]);
        let single = load_definitions(&root.path().join("zeta")).unwrap();
        assert_eq!(single[0].definition.slug, "zeta");
        assert!(matches!(
            load_definitions(&root.path().join("not-a-town")),
            Err(LoadError::Empty(_))
        ));
    }

    #[test]
    fn terms_news_and_pages_come_from_their_folders() {
        let root = tempfile::tempdir().unwrap();
        let town = root.path().join("bourg");
        for folder in ["terms", "news", "pages"] {
            std::fs::create_dir_all(town.join(folder)).unwrap();
        }
        std::fs::write(town.join(DEFINITION_FILE), MINIMAL).unwrap();
        std::fs::write(town.join("terms/2.md"), "+++\nkind = \"minor\"\n+++\nV2").unwrap();
        std::fs::write(town.join("terms/1.md"), "V1").unwrap();
        std::fs::write(town.join("terms/notes.txt"), "not terms").unwrap();
        std::fs::write(
            town.join("news/fete.md"),
            "+++\ntitle = \"Fête\"\npublished = 2020-05-01\n+++\nTexte.\n",
        )
        .unwrap();
        std::fs::write(
            town.join("pages/activites.md"),
            "+++\ntitle = \"Activités\"\n+++\nTexte.\n",
        )
        .unwrap();
        let loaded = load_definitions(&town).unwrap().remove(0);
        let sources: Vec<&str> = loaded
            .terms
            .iter()
            .map(|file| file.source.as_str())
            .collect();
        assert_eq!(sources, ["V1", "V2"]);
        assert_eq!(loaded.definition.section::<Vec<NewsItem>>()[0].slug, "fete");
        assert_eq!(
            loaded.definition.section::<Vec<TownPage>>()[0].title,
            "Activités"
        );

        std::fs::write(
            town.join("pages/autre.md"),
            "+++\ntitle = \"Autre\"\n+++\nTexte.\n",
        )
        .unwrap();
        let error = load_definitions(&town).unwrap_err().to_string();
        assert!(
            error.contains("autre.md") && error.contains("activites"),
            "{error}"
        );
    }
}
