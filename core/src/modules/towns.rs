//! Which modules a town enabled, at which release, configured how.
//!
//! `tenant.toml` names a module, a version requirement, a configuration and,
//! optionally, the town's own storage quotas for it:
//!
//! ```toml
//! [[modules]]
//! id = "bloc-notes"
//! version = "^0.1"
//! config = { intro = "Vos notes restent privées." }
//! storage = { resident_kib = 2048, town_kib = 524288 }  # optional
//! ```
//!
//! A town never changes release without an explicit act. `tenant apply`
//! resolves a requirement to the highest published release that meets it
//! only when the town has no release of that module yet, or when its
//! release no longer meets the requirement (the town changed it); otherwise
//! the town keeps the release it has (it is pinned). Moving to a newer
//! release is `guichet module upgrade`, which says what changes. Guichet's
//! own modules (built into the binary) are the exception: they follow the
//! binary, as its code and themes do — installing a new binary is the
//! operator's act — so `tenant apply` moves towns to the newest of Guichet's
//! releases that meets their requirement. A release of a first-party id that
//! Guichet did not publish is never chosen.

use serde::{Deserialize, Serialize};

use super::registry::{self, Publisher, ReleaseSummary, is_valid_module_id};
use super::storage::StorageQuota;
use super::wit::v0_2::types::Manifest;
use crate::tenancy::{Section, Tenant};

/// One `[[modules]]` entry of `tenant.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleEnablement {
    pub id: String,
    /// A semantic version requirement, e.g. "^0.1" or "=0.1.2".
    pub version: String,
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
    /// The town's own storage quotas for the module; none: the server's
    /// (`module_storage_resident_kib`, `module_storage_town_kib`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSetting>,
}

/// A town's storage quotas for one module, in KiB; an absent one is the
/// server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSetting {
    /// What one resident's data may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_kib: Option<u64>,
    /// What the module's data may hold in the town, every resident's included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town_kib: Option<u64>,
}

/// The largest quota a town may set: 1 TiB.
const MAX_QUOTA_KIB: u64 = 1 << 30;

impl StorageSetting {
    /// The quota of a town's module: its own settings over the server's.
    pub fn quota(setting: Option<&Self>, default: StorageQuota) -> StorageQuota {
        let kib = |value: Option<u64>, default_bytes: u64| {
            value.map_or(default_bytes, |kib| kib.saturating_mul(1024))
        };
        StorageQuota {
            resident_bytes: kib(
                setting.and_then(|setting| setting.resident_kib),
                default.resident_bytes,
            ),
            town_bytes: kib(
                setting.and_then(|setting| setting.town_kib),
                default.town_bytes,
            ),
        }
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// `[[modules]]`: the modules a town enables, in the order their tiles
/// appear.
impl Section for Vec<ModuleEnablement> {
    const KEY: &'static str = "modules";

    fn validate_section(&self) -> Result<(), String> {
        check_enablements(self)
    }
}

/// The modules the town's definition enables (what `tenant apply` resolved
/// is in `town_module`: see [`super::Modules::enabled`]).
pub fn enablements(tenant: &Tenant) -> &[ModuleEnablement] {
    tenant.section::<Vec<ModuleEnablement>>()
}

/// Checks the entries of one definition, before anything is published.
pub fn check_enablements(modules: &[ModuleEnablement]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for module in modules {
        if !is_valid_module_id(&module.id) {
            return Err(format!("modules: `{}` is not a module id", module.id));
        }
        if !seen.insert(module.id.as_str()) {
            return Err(format!("modules: `{}` is listed twice", module.id));
        }
        semver::VersionReq::parse(&module.version).map_err(|error| {
            format!(
                "modules: `{}`: version `{}` is not a version requirement such as \"^0.1\" ({error})",
                module.id, module.version
            )
        })?;
        let storage = module.storage.unwrap_or_default();
        for (key, value) in [
            ("resident_kib", storage.resident_kib),
            ("town_kib", storage.town_kib),
        ] {
            if value.is_some_and(|kib| kib == 0 || kib > MAX_QUOTA_KIB) {
                return Err(format!(
                    "modules: `{}`: storage.{key} must be between 1 and {MAX_QUOTA_KIB} (KiB)",
                    module.id
                ));
            }
        }
    }
    Ok(())
}

/// An enablement resolved to a release, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModule {
    pub module_id: String,
    pub requirement: String,
    pub release_id: i32,
    pub version: String,
    pub publisher: Publisher,
    pub config: String,
    pub storage: Option<StorageSetting>,
}

/// The release a town uses for a module now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    pub module_id: String,
    pub release_id: i32,
}

/// Which of a town's modules may move to a newer release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upgrade {
    /// None: each keeps its pinned release while it meets the requirement
    /// (`tenant apply`).
    Keep,
    /// Every module (`guichet module upgrade --tenant SLUG`).
    All,
    /// This one (`guichet module upgrade --tenant SLUG MODULE`).
    Only(String),
}

impl Upgrade {
    fn moves(&self, module_id: &str) -> bool {
        match self {
            Self::Keep => false,
            Self::All => true,
            Self::Only(id) => id == module_id,
        }
    }
}

/// Whether an id is Guichet's own: built into the binary, or published by
/// Guichet.
pub fn is_first_party(module_id: &str, releases: &[ReleaseSummary]) -> bool {
    super::FIRST_PARTY_MODULES
        .iter()
        .any(|module| module.id == module_id)
        || releases.iter().any(|release| {
            release.module_id == module_id && release.publisher() == Publisher::Guichet
        })
}

/// The publisher who owns an id that is not Guichet's: the name on its
/// first signed release (ids only ever published unsigned have none).
fn signed_owner<'a>(module_id: &str, releases: &'a [ReleaseSummary]) -> Option<&'a str> {
    releases
        .iter()
        .filter(|release| {
            release.module_id == module_id && release.publisher() == Publisher::Signed
        })
        .min_by_key(|release| release.id)
        .and_then(|release| release.publisher_name.as_deref())
}

/// Whether a release may serve towns under its id's owner: a Guichet id
/// only Guichet's releases; an id a publisher signed first only that
/// publisher's signed releases (an unsigned or other build published
/// before, or under the operator's allowance, is never chosen nor
/// offered); an id nobody signed, any release.
pub fn serves_its_id(release: &ReleaseSummary, releases: &[ReleaseSummary]) -> bool {
    if is_first_party(&release.module_id, releases) {
        return release.publisher() == Publisher::Guichet;
    }
    match signed_owner(&release.module_id, releases) {
        Some(owner) => {
            release.publisher() == Publisher::Signed
                && release.publisher_name.as_deref() == Some(owner)
        }
        None => true,
    }
}

/// Resolves one town's enablements against the published releases, keeping
/// the releases in `pinned` unless `upgrade` moves them (see the module's
/// documentation for the rules).
pub fn resolve(
    modules: &[ModuleEnablement],
    releases: &[ReleaseSummary],
    pinned: &[Pinned],
    upgrade: &Upgrade,
) -> Result<Vec<ResolvedModule>, String> {
    modules
        .iter()
        .map(|module| {
            let requirement = semver::VersionReq::parse(&module.version)
                .map_err(|error| format!("module `{}`: {error}", module.id))?;
            let first_party = is_first_party(&module.id, releases);
            // Only the releases of the id's owner (Guichet's, or the
            // publisher who signed it first).
            let candidates: Vec<&ReleaseSummary> = releases
                .iter()
                .filter(|release| {
                    release.module_id == module.id && serves_its_id(release, releases)
                })
                .collect();
            if candidates.is_empty() {
                return Err(format!(
                    "module `{}` is not published (publish it with `guichet module publish FILE.wasm`)",
                    module.id
                ));
            }
            let matching: Vec<(semver::Version, &ReleaseSummary)> = candidates
                .iter()
                .filter_map(|release| {
                    semver::Version::parse(&release.version)
                        .ok()
                        .filter(|version| requirement.matches(version))
                        .map(|version| (version, *release))
                })
                .collect();
            let newest = matching
                .iter()
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, release)| *release);
            let kept = pinned
                .iter()
                .find(|pin| pin.module_id == module.id)
                .and_then(|pin| {
                    matching
                        .iter()
                        .find(|(_, release)| release.id == pin.release_id)
                })
                .map(|(_, release)| *release);
            let chosen = if first_party || upgrade.moves(&module.id) {
                newest
            } else {
                kept.or(newest)
            };
            let chosen = chosen.ok_or_else(|| {
                let published: Vec<&str> = candidates
                    .iter()
                    .map(|release| release.version.as_str())
                    .collect();
                format!(
                    "module `{}`: no published version matches `{}` (published: {})",
                    module.id,
                    module.version,
                    published.join(", ")
                )
            })?;
            let manifest = manifest_of(chosen)?;
            validate_config(&manifest, &module.config)
                .map_err(|error| format!("module `{}` {}: {error}", module.id, chosen.version))?;
            Ok(ResolvedModule {
                module_id: module.id.clone(),
                requirement: module.version.clone(),
                release_id: chosen.id,
                version: chosen.version.clone(),
                publisher: chosen.publisher(),
                config: module.config.to_string(),
                storage: module.storage,
            })
        })
        .collect()
}

fn manifest_of(release: &ReleaseSummary) -> Result<Manifest, String> {
    release.manifest()
}

/// A release as a town operator weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFacts {
    pub version: String,
    pub publisher: Publisher,
    /// A signed release: its publisher, as the operator named the key.
    pub publisher_name: Option<String>,
    /// As the WIT interface spells them, e.g. "resident-storage".
    pub capabilities: Vec<String>,
}

impl ReleaseFacts {
    fn of(release: &ReleaseSummary) -> Result<Self, String> {
        Ok(Self {
            version: release.version.clone(),
            publisher: release.publisher(),
            publisher_name: release.publisher_name.clone(),
            capabilities: manifest_of(release)?
                .capabilities
                .iter()
                .map(super::capability_name)
                .collect(),
        })
    }
}

/// How one of a town's modules changes release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseChange {
    pub module_id: String,
    /// None: the town did not use the module.
    pub from: Option<ReleaseFacts>,
    pub to: ReleaseFacts,
}

impl ReleaseChange {
    /// Capabilities the new release asks for that the old one did not.
    pub fn capabilities_added(&self) -> Vec<String> {
        let before = self
            .from
            .as_ref()
            .map_or(&[][..], |from| &from.capabilities);
        self.to
            .capabilities
            .iter()
            .filter(|capability| !before.contains(capability))
            .cloned()
            .collect()
    }

    /// Capabilities the old release had that the new one gives up.
    pub fn capabilities_removed(&self) -> Vec<String> {
        self.from.as_ref().map_or_else(Vec::new, |from| {
            from.capabilities
                .iter()
                .filter(|capability| !self.to.capabilities.contains(capability))
                .cloned()
                .collect()
        })
    }
}

/// The modules whose release `resolved` changes from `pinned`.
pub fn changes(
    pinned: &[Pinned],
    resolved: &[ResolvedModule],
    releases: &[ReleaseSummary],
) -> Result<Vec<ReleaseChange>, String> {
    let release = |id: i32| {
        releases
            .iter()
            .find(|release| release.id == id)
            .ok_or_else(|| format!("module release {id} is not in the registry"))
    };
    let mut changes = Vec::new();
    for module in resolved {
        let before = pinned
            .iter()
            .find(|pin| pin.module_id == module.module_id)
            .map(|pin| pin.release_id);
        if before == Some(module.release_id) {
            continue;
        }
        changes.push(ReleaseChange {
            module_id: module.module_id.clone(),
            from: before
                .map(|id| release(id).and_then(ReleaseFacts::of))
                .transpose()?,
            to: ReleaseFacts::of(release(module.release_id)?)?,
        });
    }
    Ok(changes)
}

/// The releases a town uses now (none for a town not yet created).
pub async fn pinned(
    connection: &impl sea_orm::ConnectionTrait,
    tenant: Option<&Tenant>,
) -> Result<Vec<Pinned>, sea_orm::DbErr> {
    use sea_orm::QueryOrder as _;

    use super::entity::town_module;
    let Some(tenant) = tenant else {
        return Ok(Vec::new());
    };
    Ok(tenant
        .scope()
        .select::<town_module::Entity>()
        .order_by_asc(town_module::Column::Position)
        .all(connection)
        .await?
        .into_iter()
        .map(|row| Pinned {
            module_id: row.module_id,
            release_id: row.module_release_id,
        })
        .collect())
}

/// Checks a town's configuration against the module's schema; the message
/// names the first wrong place.
pub fn validate_config(manifest: &Manifest, config: &serde_json::Value) -> Result<(), String> {
    let schema: serde_json::Value = serde_json::from_str(&manifest.config_schema)
        .map_err(|error| format!("its configuration schema is not JSON: {error}"))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|error| format!("its configuration schema is invalid: {error}"))?;
    let errors: Vec<String> = validator
        .iter_errors(config)
        .map(|error| {
            let path = error.instance_path().to_string();
            let place = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            format!("config at `{place}`: {error}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid configuration: {}", errors.join("; ")))
    }
}

/// The releases, for resolution.
pub async fn releases(
    db: &sea_orm::DatabaseConnection,
) -> Result<Vec<ReleaseSummary>, sea_orm::DbErr> {
    registry::summaries().all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;
    // Stored as 0.1.0 manifests, as releases published before 0.2.0 were.
    use crate::modules::wit::v0_1::types::{Capability, Manifest};

    fn release(id: i32, module: &str, version: &str, publisher: Publisher) -> ReleaseSummary {
        let manifest = Manifest {
            id: module.to_owned(),
            name: module.to_owned(),
            version: version.to_owned(),
            description: String::new(),
            tiles: Vec::new(),
            actions: Vec::new(),
            config_schema: "{}".to_owned(),
            capabilities: if version == "0.1.0" {
                vec![Capability::ResidentStorage]
            } else {
                vec![Capability::ResidentStorage, Capability::Household]
            },
        };
        ReleaseSummary {
            id,
            module_id: module.to_owned(),
            version: version.to_owned(),
            interface: "0.1.0".to_owned(),
            sha256: format!("{id:064}"),
            manifest: serde_json::to_string(&manifest).unwrap(),
            published_at: chrono::Utc::now(),
            publisher: publisher.as_str().to_owned(),
            publisher_name: None,
            publisher_key: None,
        }
    }

    fn signed(id: i32, module: &str, version: &str, name: &str) -> ReleaseSummary {
        ReleaseSummary {
            publisher_name: Some(name.to_owned()),
            ..release(id, module, version, Publisher::Signed)
        }
    }

    #[test]
    fn an_id_a_publisher_signed_first_serves_only_that_publisher_s_releases() {
        let releases = vec![
            // A squatter's unsigned build, published before the owner's.
            release(1, "agenda", "9.9.9", Publisher::Unsigned),
            signed(2, "agenda", "1.0.0", "civitas"),
            signed(3, "agenda", "1.1.0", "autre"),
            release(4, "notes", "0.1.0", Publisher::Unsigned),
        ];
        let resolved = resolve(&wanting("agenda", "*"), &releases, &[], &Upgrade::Keep).unwrap();
        assert_eq!(resolved[0].version, "1.0.0");
        assert!(!serves_its_id(&releases[0], &releases));
        assert!(serves_its_id(&releases[1], &releases));
        assert!(!serves_its_id(&releases[2], &releases));
        assert!(
            serves_its_id(&releases[3], &releases),
            "nobody signed `notes`"
        );
    }

    fn wanting(module: &str, version: &str) -> Vec<ModuleEnablement> {
        vec![ModuleEnablement {
            id: module.to_owned(),
            version: version.to_owned(),
            config: empty_object(),
            storage: None,
        }]
    }

    fn pin(module: &str, release_id: i32) -> Vec<Pinned> {
        vec![Pinned {
            module_id: module.to_owned(),
            release_id,
        }]
    }

    fn chosen(resolved: Result<Vec<ResolvedModule>, String>) -> String {
        resolved.unwrap()[0].version.clone()
    }

    #[test]
    fn a_third_party_release_stays_pinned_until_upgraded() {
        let releases = [
            release(1, "agenda", "0.1.0", Publisher::Unsigned),
            release(2, "agenda", "0.1.1", Publisher::Unsigned),
        ];
        let modules = wanting("agenda", "^0.1");
        let keep = |pinned: &[Pinned]| resolve(&modules, &releases, pinned, &Upgrade::Keep);
        assert_eq!(
            chosen(keep(&[])),
            "0.1.1",
            "a new module gets the newest match"
        );
        assert_eq!(
            chosen(keep(&pin("agenda", 1))),
            "0.1.0",
            "a pinned one stays"
        );
        let pinned = pin("agenda", 1);
        for upgrade in [Upgrade::All, Upgrade::Only("agenda".to_owned())] {
            assert_eq!(
                chosen(resolve(&modules, &releases, &pinned, &upgrade)),
                "0.1.1"
            );
        }
        let other = Upgrade::Only("autre".to_owned());
        assert_eq!(
            chosen(resolve(&modules, &releases, &pinned, &other)),
            "0.1.0"
        );
        // A requirement the pinned release no longer meets resolves afresh.
        let strict = wanting("agenda", "=0.1.1");
        assert_eq!(
            chosen(resolve(&strict, &releases, &pinned, &Upgrade::Keep)),
            "0.1.1"
        );
    }

    #[test]
    fn a_first_party_id_is_only_ever_guichet_s_and_follows_the_binary() {
        let releases = [
            release(1, "invoices", "0.1.0", Publisher::Guichet),
            release(2, "invoices", "0.1.99", Publisher::Unsigned),
            release(3, "invoices", "0.1.1", Publisher::Guichet),
        ];
        let modules = wanting("invoices", "^0.1");
        for pinned in [pin("invoices", 1), pin("invoices", 2), Vec::new()] {
            let resolved = resolve(&modules, &releases, &pinned, &Upgrade::Keep).unwrap();
            assert_eq!(
                (resolved[0].version.as_str(), resolved[0].publisher),
                ("0.1.1", Publisher::Guichet)
            );
        }
        // A third party's id that Guichet never published is theirs.
        assert!(!is_first_party("agenda", &releases));
        assert!(is_first_party("tariffs", &[]), "built into the binary");
    }

    #[test]
    fn a_change_names_version_publisher_and_capabilities() {
        let releases = [
            release(1, "agenda", "0.1.0", Publisher::Unsigned),
            release(2, "agenda", "0.1.1", Publisher::Unsigned),
        ];
        let pinned = pin("agenda", 1);
        let resolved = resolve(
            &wanting("agenda", "^0.1"),
            &releases,
            &pinned,
            &Upgrade::All,
        )
        .unwrap();
        let changes = changes(&pinned, &resolved, &releases).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].to.version, "0.1.1");
        assert_eq!(changes[0].capabilities_added(), ["household"]);
        assert!(changes[0].capabilities_removed().is_empty());
        assert!(
            super::changes(&pin("agenda", 2), &resolved, &releases)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_town_s_quotas_are_checked_and_override_the_server_s() {
        let mut modules = wanting("agenda", "^0.1");
        modules[0].storage = Some(StorageSetting {
            resident_kib: Some(0),
            town_kib: None,
        });
        let error = check_enablements(&modules).unwrap_err();
        assert!(error.contains("storage.resident_kib"), "{error}");
        let setting = StorageSetting {
            resident_kib: Some(2),
            town_kib: None,
        };
        let quota = StorageSetting::quota(Some(&setting), StorageQuota::default());
        assert_eq!(quota.resident_bytes, 2048);
        assert_eq!(quota.town_bytes, StorageQuota::default().town_bytes);
    }
}
