//! Which modules a town enabled, at which version, configured how.
//!
//! `tenant.toml` names a module, a version requirement and a configuration:
//!
//! ```toml
//! [[modules]]
//! id = "bloc-notes"
//! version = "^0.1"
//! config = { intro = "Vos notes restent privées." }
//! ```
//!
//! `tenant apply` resolves the requirement to the highest published release
//! that meets it, validates the configuration against that release's
//! schema, and pins the release: publishing a newer release changes nothing
//! until the town is applied again.

use serde::{Deserialize, Serialize};

use super::registry::{self, ReleaseSummary, is_valid_module_id};
use super::wit::v0_1::types::Manifest;
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
    pub config: String,
}

/// Resolves one town's enablements against the published releases.
pub fn resolve(
    modules: &[ModuleEnablement],
    releases: &[ReleaseSummary],
) -> Result<Vec<ResolvedModule>, String> {
    modules
        .iter()
        .map(|module| {
            let requirement = semver::VersionReq::parse(&module.version)
                .map_err(|error| format!("module `{}`: {error}", module.id))?;
            let candidates: Vec<&ReleaseSummary> = releases
                .iter()
                .filter(|release| release.module_id == module.id)
                .collect();
            if candidates.is_empty() {
                return Err(format!(
                    "module `{}` is not published (publish it with `guichet module publish FILE.wasm`)",
                    module.id
                ));
            }
            let chosen = candidates
                .iter()
                .filter_map(|release| {
                    semver::Version::parse(&release.version)
                        .ok()
                        .filter(|version| requirement.matches(version))
                        .map(|version| (version, *release))
                })
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, release)| release)
                .ok_or_else(|| {
                    let published: Vec<&str> =
                        candidates.iter().map(|release| release.version.as_str()).collect();
                    format!(
                        "module `{}`: no published version matches `{}` (published: {})",
                        module.id,
                        module.version,
                        published.join(", ")
                    )
                })?;
            let manifest: Manifest = serde_json::from_str(&chosen.manifest).map_err(|error| {
                format!("module `{}`: stored manifest unreadable: {error}", module.id)
            })?;
            validate_config(&manifest, &module.config)
                .map_err(|error| format!("module `{}` {}: {error}", module.id, chosen.version))?;
            Ok(ResolvedModule {
                module_id: module.id.clone(),
                requirement: module.version.clone(),
                release_id: chosen.id,
                version: chosen.version.clone(),
                config: module.config.to_string(),
            })
        })
        .collect()
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
