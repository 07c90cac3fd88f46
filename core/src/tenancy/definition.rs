//! `tenants/<slug>/tenant.toml`: everything a town declares about itself.
//!
//! ```toml
//! display_name = "Ville de Villeneuve"
//! theme = "villeneuve"
//! hostnames = ["espace-citoyens.villeneuve.fr"]
//!
//! [password_policy]
//! min_length = 8
//! min_lowercase = 1
//! min_digits = 1
//! blocklist = false
//!
//! [mail]
//! sender_name = "Mairie de Villeneuve"
//! sender_address = "ne-pas-repondre@villeneuve.fr"
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::accounts::{PasswordPolicy, PasswordPolicyError};
use crate::config::is_valid_hostname;
use crate::terms::{TermsFile, parse_terms_file};

pub const DEFINITION_FILE: &str = "tenant.toml";
const DEFAULT_TIMEZONE: &str = "Europe/Paris";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    pub password_policy: PasswordPolicy,
    pub mail: MailSender,
    #[serde(default)]
    pub contact: TownContact,
    #[serde(default)]
    pub accounts: AccountSettings,
    /// Service modules the town enables, in the order their tiles appear.
    #[serde(default)]
    pub modules: Vec<crate::modules::ModuleEnablement>,
    /// Requests ("demandes") residents can start with a message, besides
    /// those of the modules.
    #[serde(default)]
    pub request_types: Vec<RequestType>,
    #[serde(default)]
    pub household: HouseholdSettings,
    /// Logging in with FranceConnect (none: password only).
    #[serde(default)]
    pub franceconnect: Option<crate::franceconnect::FranceConnectSettings>,
    /// From `news/*.md` beside `tenant.toml` (never written in it).
    #[serde(default)]
    pub news: Vec<crate::content::NewsItem>,
    /// From `pages/*.md` beside `tenant.toml` (never written in it).
    #[serde(default)]
    pub pages: Vec<crate::content::TownPage>,
    /// The town's terms of use, from `terms/*.md` beside `tenant.toml`, in
    /// file name order. Not part of the stored definition: each becomes an
    /// immutable version when applied.
    #[serde(skip)]
    pub terms: Vec<TermsFile>,
}

/// A request a resident starts with a message ("Nouvelle démarche").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestType {
    /// Lowercase letters, digits and hyphens; the request's kind.
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
}

/// What residents may change in their household themselves (otherwise the
/// town's software keeps it, through the data API).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HouseholdSettings {
    pub editable: bool,
}

/// How long the town's links and temporary passwords stay valid.
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

fn default_theme() -> String {
    "default".to_owned()
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no {DEFINITION_FILE}, neither directly nor in a sub-folder", .0.display())]
    Empty(PathBuf),
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error(transparent)]
    Terms(#[from] crate::terms::TermsFileError),
    #[error(transparent)]
    Content(#[from] crate::content::ContentError),
}

/// Parses and checks one definition. `folder_slug` is the name of the folder
/// holding the file; `origin` names the file in error messages.
pub fn parse_definition(
    text: &str,
    folder_slug: &str,
    origin: &str,
) -> Result<TenantDefinition, DefinitionError> {
    let invalid = |message: String| DefinitionError::Invalid {
        origin: origin.to_owned(),
        message,
    };
    let mut definition: TenantDefinition =
        toml::from_str(text).map_err(|error| invalid(error.to_string().trim_end().to_owned()))?;

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
    crate::modules::towns::check_enablements(&definition.modules).map_err(invalid)?;
    if let Some(franceconnect) = &definition.franceconnect {
        franceconnect.validate().map_err(invalid)?;
    }
    if !definition.news.is_empty() || !definition.pages.is_empty() {
        return Err(invalid(
            "news and pages are written in news/*.md and pages/*.md beside tenant.toml".to_owned(),
        ));
    }
    let mut request_ids = std::collections::BTreeSet::new();
    for request_type in &definition.request_types {
        if !is_valid_slug(&request_type.id) || !request_ids.insert(request_type.id.as_str()) {
            return Err(invalid(format!(
                "request_types: `{}` must be a unique id of lowercase letters, digits and hyphens",
                request_type.id
            )));
        }
        if request_type.label.trim().is_empty() {
            return Err(invalid(format!(
                "request_types: `{}` has no label",
                request_type.id
            )));
        }
    }
    definition
        .password_policy
        .validate()
        .map_err(|error: PasswordPolicyError| invalid(format!("password_policy: {error}")))?;
    if definition.mail.sender_name.trim().is_empty() {
        return Err(invalid("mail.sender_name is empty".to_owned()));
    }
    if !is_plausible_email(&definition.mail.sender_address) {
        return Err(invalid(format!(
            "mail.sender_address `{}` is not an e-mail address",
            definition.mail.sender_address
        )));
    }
    let accounts = &definition.accounts;
    for (key, value) in [
        (
            "activation_validity_days",
            accounts.activation_validity_days,
        ),
        (
            "temporary_password_validity_days",
            accounts.temporary_password_validity_days,
        ),
        (
            "password_reset_validity_minutes",
            accounts.password_reset_validity_minutes,
        ),
    ] {
        if value == 0 {
            return Err(invalid(format!("accounts.{key} must be at least 1")));
        }
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

/// Reads `DIR/tenant.toml`, or every `DIR/*/tenant.toml`, in name order.
/// The `*.md` files of a folder, sorted, with their names without `.md`.
fn markdown_files(folder: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter_map(|path| {
                    let slug = path.file_name()?.to_str()?.strip_suffix(".md")?.to_owned();
                    Some((path, slug))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

pub fn load_definitions(dir: &Path) -> Result<Vec<TenantDefinition>, DefinitionError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| DefinitionError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let folder_slug = |dir: &Path| {
        dir.canonicalize()
            .ok()
            .and_then(|dir| {
                dir.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_default()
    };

    let load_town = |folder: &Path| -> Result<TenantDefinition, DefinitionError> {
        let file = folder.join(DEFINITION_FILE);
        let mut definition = parse_definition(
            &read(&file)?,
            &folder_slug(folder),
            &file.display().to_string(),
        )?;
        let mut terms_files: Vec<PathBuf> = std::fs::read_dir(folder.join("terms"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
                    .collect()
            })
            .unwrap_or_default();
        terms_files.sort();
        for path in terms_files {
            definition.terms.push(parse_terms_file(
                &read(&path)?,
                &path.display().to_string(),
            )?);
        }
        for (path, slug) in markdown_files(&folder.join("news")) {
            definition.news.push(crate::content::parse_news(
                &read(&path)?,
                &slug,
                &path.display().to_string(),
            )?);
        }
        for (path, slug) in markdown_files(&folder.join("pages")) {
            definition.pages.push(crate::content::parse_page(
                &read(&path)?,
                &slug,
                &path.display().to_string(),
            )?);
        }
        Ok(definition)
    };

    if dir.join(DEFINITION_FILE).is_file() {
        return Ok(vec![load_town(dir)?]);
    }

    let entries = std::fs::read_dir(dir).map_err(|source| DefinitionError::Read {
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
        return Err(DefinitionError::Empty(dir.to_owned()));
    }
    folders.iter().map(|folder| load_town(folder)).collect()
}

/// A slug is one DNS label in lowercase: it becomes `<slug>.<base_domain>`.
fn is_valid_slug(slug: &str) -> bool {
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

    #[test]
    fn minimal_definition_gets_defaults() {
        let definition = parse_definition(MINIMAL, "test", "test/tenant.toml").unwrap();
        assert_eq!(definition.slug, "test");
        assert_eq!(definition.theme, "default");
        assert_eq!(definition.timezone, "Europe/Paris");
        assert_eq!(definition.password_policy, PasswordPolicy::default());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let cases = [
            (format!("{MINIMAL}\nunknown = 1"), "unknown field"),
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
        ];
        for (text, expected) in cases {
            let error = parse_definition(&text, "test", "tenants/test/tenant.toml")
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
        let definition = parse_definition(&text, "test", "t").unwrap();
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
            .map(|d| d.slug)
            .collect();
        assert_eq!(slugs, ["alpha", "zeta"]);
        let single = load_definitions(&root.path().join("zeta")).unwrap();
        assert_eq!(single[0].slug, "zeta");
        assert!(matches!(
            load_definitions(&root.path().join("not-a-town")),
            Err(DefinitionError::Empty(_))
        ));
    }
}
