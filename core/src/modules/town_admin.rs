//! A town's modules as its administrators manage them in the back-office
//! (`/admin/modules`): what the town uses, what it may use, and the three
//! acts — enable a release with a configuration, change a module's release
//! or configuration, disable it. Each act is one transaction with its
//! journal event (before and after), and marks the module as edited in the
//! back-office (`town_module_edit`): from then on `tenant apply` and
//! `guichet module upgrade` leave it alone (see [`keep_edited`]).
//!
//! Residents see a change on their next page, on every instance: pages
//! keep a town's modules in memory only under its `#modules` version
//! counter, which a trigger bumps with every write to `town_module`
//! (`Modules::enabled_at`, crate::versions).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr,
    QueryFilter as _, QueryOrder as _,
};
use serde_json::{Value, json};

use super::entity::{town_module, town_module_edit};
use super::registry::{self, Publisher, ReleaseSummary};
use super::towns::{self, ResolvedModule};
use super::wit::v0_2::types::{Capability, Manifest};
use super::{ModuleEnablement, Modules};
use crate::audit::{self, Actor, AuditKind, Origin};
use crate::tenancy::Tenant;

impl Capability {
    /// What the capability lets a module reach, in French, for the
    /// administrators who choose a release.
    pub fn reach(&self) -> String {
        match self {
            Self::Notifications => {
                "Envoyer des courriels aux usagers de la commune (celui qui utilise le service, ou un usager dont il gère une réservation ou un dossier), au nom de la commune.".to_owned()
            }
            Self::ModuleConfig(module) => format!(
                "Lire la configuration du module « {module} » dans la commune (par exemple sa grille de tarifs)."
            ),
            Self::TownStorage => {
                "Lire et écrire des données partagées par toute la commune (par exemple une grille de tarifs), dans la limite de son quota.".to_owned()
            }
            Self::ResidentStorage => {
                "Lire et écrire des données propres à l'usager connecté (par exemple ses factures), dans la limite de son quota ; jamais celles d'un autre usager.".to_owned()
            }
            Self::Household => {
                "Lire la composition du foyer de l'usager connecté : les membres, leur date de naissance et leur lien avec lui.".to_owned()
            }
            Self::Requests => {
                "Déposer des demandes au nom de l'usager connecté ; elles arrivent dans les demandes que traite la mairie.".to_owned()
            }
        }
    }
}

/// A release, as an administrator weighs it.
#[derive(Debug, Clone)]
pub struct OfferedRelease {
    pub id: i32,
    pub module_id: String,
    pub version: String,
    pub publisher: Publisher,
    /// A signed release: its publisher, as the operator named the key.
    pub publisher_name: Option<String>,
    pub manifest: Manifest,
    /// The release the town uses for this module now.
    pub current: bool,
}

/// One module the town uses.
#[derive(Debug, Clone)]
pub struct TownModule {
    pub module_id: String,
    pub release: OfferedRelease,
    pub config: Value,
    /// When the back-office last changed it, if ever.
    pub edited_at: Option<chrono::DateTime<Utc>>,
}

/// What the town uses and what it may use.
#[derive(Debug, Clone)]
pub struct TownModules {
    pub enabled: Vec<TownModule>,
    /// Every release the town may use, by module then version (newest
    /// first), the current ones included.
    pub offered: Vec<OfferedRelease>,
    /// Modules edited in the back-office, now disabled.
    pub disabled_here: Vec<String>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRefused {
    /// No such release for this module, or not one the town may use.
    #[error("release not offered")]
    NotOffered,
    /// The module is not enabled in the town.
    #[error("module not enabled")]
    NotEnabled,
    /// The configuration does not fit the release's schema (the form
    /// checks first; this guards the service).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    Enabled,
    ReleaseChanged,
    Configured,
    /// The same release and configuration: nothing written.
    Nothing,
}

fn parse_manifest(release: &ReleaseSummary) -> Option<Manifest> {
    release.manifest().ok()
}

/// The releases a town may use: every readable one its id's owner
/// published (`towns::serves_its_id`, which `tenant apply` follows too).
fn offered(releases: &[ReleaseSummary]) -> Vec<OfferedRelease> {
    let mut offered: Vec<OfferedRelease> = releases
        .iter()
        .filter(|release| towns::serves_its_id(release, releases))
        .filter(|release| semver::Version::parse(&release.version).is_ok())
        .filter_map(|release| {
            Some(OfferedRelease {
                id: release.id,
                module_id: release.module_id.clone(),
                version: release.version.clone(),
                publisher: release.publisher(),
                publisher_name: release.publisher_name.clone(),
                manifest: parse_manifest(release)?,
                current: false,
            })
        })
        .collect();
    offered.sort_by(|a, b| {
        a.module_id.cmp(&b.module_id).then_with(|| {
            let version = |release: &OfferedRelease| semver::Version::parse(&release.version).ok();
            version(b).cmp(&version(a))
        })
    });
    offered
}

fn state(version: &str, config: &Value) -> Value {
    json!({ "version": version, "config": config })
}

impl Modules {
    /// The town's modules and the releases it may use.
    pub async fn town_modules(&self, tenant: &Tenant) -> Result<TownModules, DbErr> {
        let releases = registry::summaries().all(&self.db).await?;
        let mut offered = offered(&releases);
        let rows = tenant
            .scope()
            .select::<town_module::Entity>()
            .order_by_asc(town_module::Column::Position)
            .all(&self.db)
            .await?;
        let edits = tenant
            .scope()
            .select::<town_module_edit::Entity>()
            .all(&self.db)
            .await?;
        for release in &mut offered {
            release.current = rows.iter().any(|row| row.module_release_id == release.id);
        }
        let mut enabled = Vec::with_capacity(rows.len());
        for row in &rows {
            // A release the town uses is shown even when it would not be
            // offered any more.
            let release = match offered
                .iter()
                .find(|release| release.id == row.module_release_id)
            {
                Some(release) => release.clone(),
                None => {
                    let Some(summary) = releases.iter().find(|r| r.id == row.module_release_id)
                    else {
                        continue;
                    };
                    let Some(manifest) = parse_manifest(summary) else {
                        continue;
                    };
                    OfferedRelease {
                        id: summary.id,
                        module_id: summary.module_id.clone(),
                        version: summary.version.clone(),
                        publisher: summary.publisher(),
                        publisher_name: summary.publisher_name.clone(),
                        manifest,
                        current: true,
                    }
                }
            };
            enabled.push(TownModule {
                module_id: row.module_id.clone(),
                config: serde_json::from_str(&row.config).unwrap_or(Value::Null),
                edited_at: edits
                    .iter()
                    .find(|edit| edit.module_id == row.module_id)
                    .map(|edit| edit.edited_at),
                release,
            });
        }
        let disabled_here = edits
            .into_iter()
            .map(|edit| edit.module_id)
            .filter(|id| !rows.iter().any(|row| &row.module_id == id))
            .collect();
        Ok(TownModules {
            enabled,
            offered,
            disabled_here,
        })
    }

    /// A release the town may use for `module_id` (its current one when
    /// `release_id` is none), with the town's configuration if it uses the
    /// module; none if there is no such release or module.
    pub async fn town_release(
        &self,
        tenant: &Tenant,
        module_id: &str,
        release_id: Option<i32>,
    ) -> Result<Option<(OfferedRelease, Option<TownModule>)>, DbErr> {
        let modules = self.town_modules(tenant).await?;
        let current = modules
            .enabled
            .into_iter()
            .find(|module| module.module_id == module_id);
        let release = match (release_id, &current) {
            (Some(id), _) => modules
                .offered
                .into_iter()
                .find(|release| release.id == id && release.module_id == module_id),
            (None, Some(current)) => Some(current.release.clone()),
            (None, None) => None,
        };
        Ok(release.map(|release| (release, current)))
    }

    /// Enables a module at a release with a configuration, or changes its
    /// release or configuration: one transaction with its journal event.
    pub async fn save_town_module(
        &self,
        tenant: &Tenant,
        module_id: &str,
        release_id: i32,
        config: &Value,
        actor: Actor,
        origin: &Origin,
    ) -> Result<Result<Changed, ChangeRefused>, DbErr> {
        let txn = crate::db::begin_write(&self.db).await?;
        let releases = registry::summaries().all(&txn).await?;
        let Some(release) = offered(&releases)
            .into_iter()
            .find(|release| release.id == release_id && release.module_id == module_id)
        else {
            return Ok(Err(ChangeRefused::NotOffered));
        };
        if let Err(message) = towns::validate_config(&release.manifest, config) {
            return Ok(Err(ChangeRefused::Invalid(message)));
        }
        let scope = tenant.scope();
        let existing = scope
            .select::<town_module::Entity>()
            .filter(town_module::Column::ModuleId.eq(module_id))
            .one(&txn)
            .await?;
        let config_text = config.to_string();
        let (kind, before) = match existing {
            Some(row) => {
                let old_config: Value = serde_json::from_str(&row.config).unwrap_or(Value::Null);
                if row.module_release_id == release_id && &old_config == config {
                    return Ok(Ok(Changed::Nothing));
                }
                let old_version = releases
                    .iter()
                    .find(|r| r.id == row.module_release_id)
                    .map(|r| r.version.clone())
                    .unwrap_or_default();
                let kind = if row.module_release_id == release_id {
                    AuditKind::ModuleConfigured
                } else {
                    AuditKind::ModuleReleaseChanged
                };
                let mut active: town_module::ActiveModel = row.into();
                active.module_release_id = Set(release_id);
                active.requirement = Set(format!("={}", release.version));
                active.config = Set(config_text);
                active.update(&txn).await?;
                (kind, state(&old_version, &old_config))
            }
            None => {
                let last = scope
                    .select::<town_module::Entity>()
                    .order_by_desc(town_module::Column::Position)
                    .one(&txn)
                    .await?
                    .map_or(-1, |row| row.position);
                town_module::ActiveModel {
                    tenant_id: Set(scope.tenant_id().get()),
                    module_id: Set(module_id.to_owned()),
                    requirement: Set(format!("={}", release.version)),
                    module_release_id: Set(release_id),
                    config: Set(config_text),
                    position: Set(last.saturating_add(1)),
                    resident_quota_kib: Set(None),
                    town_quota_kib: Set(None),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
                (AuditKind::ModuleEnabled, Value::Null)
            }
        };
        mark_edited(&txn, tenant, module_id).await?;
        let detail = json!({
            "module": module_id,
            "before": before,
            "after": state(&release.version, config),
        });
        audit::record_event(
            &txn,
            scope,
            audit::Event {
                kind,
                actor,
                subject: None,
                origin,
                detail: Some(detail.to_string()),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Ok(match kind {
            AuditKind::ModuleEnabled => Changed::Enabled,
            AuditKind::ModuleReleaseChanged => Changed::ReleaseChanged,
            _ => Changed::Configured,
        }))
    }

    /// Disables a module of the town (its stored data stays, for a later
    /// enablement): one transaction with its journal event.
    pub async fn disable_town_module(
        &self,
        tenant: &Tenant,
        module_id: &str,
        actor: Actor,
        origin: &Origin,
    ) -> Result<Result<(), ChangeRefused>, DbErr> {
        let txn = crate::db::begin_write(&self.db).await?;
        let scope = tenant.scope();
        let Some(row) = scope
            .select::<town_module::Entity>()
            .filter(town_module::Column::ModuleId.eq(module_id))
            .one(&txn)
            .await?
        else {
            return Ok(Err(ChangeRefused::NotEnabled));
        };
        let version = registry::summary(&self.db, row.module_release_id)
            .await?
            .map(|release| release.version)
            .unwrap_or_default();
        let config: Value = serde_json::from_str(&row.config).unwrap_or(Value::Null);
        scope
            .delete::<town_module::Entity>()
            .filter(town_module::Column::Id.eq(row.id))
            .exec(&txn)
            .await?;
        mark_edited(&txn, tenant, module_id).await?;
        let detail = json!({
            "module": module_id,
            "before": state(&version, &config),
            "after": Value::Null,
        });
        audit::record_event(
            &txn,
            scope,
            audit::Event {
                kind: AuditKind::ModuleDisabled,
                actor,
                subject: None,
                origin,
                detail: Some(detail.to_string()),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Ok(()))
    }
}

async fn mark_edited(
    txn: &impl ConnectionTrait,
    tenant: &Tenant,
    module_id: &str,
) -> Result<(), DbErr> {
    let scope = tenant.scope();
    let now = Utc::now();
    match scope
        .select::<town_module_edit::Entity>()
        .filter(town_module_edit::Column::ModuleId.eq(module_id))
        .one(txn)
        .await?
    {
        Some(edit) => {
            let mut active: town_module_edit::ActiveModel = edit.into();
            active.edited_at = Set(now);
            active.update(txn).await?;
        }
        None => {
            town_module_edit::ActiveModel {
                tenant_id: Set(scope.tenant_id().get()),
                module_id: Set(module_id.to_owned()),
                edited_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}

/// Whether the back-office changed this module of the town (it then
/// belongs to the database).
pub async fn is_edited(
    connection: &impl ConnectionTrait,
    tenant: &Tenant,
    module_id: &str,
) -> Result<bool, DbErr> {
    Ok(tenant
        .scope()
        .select::<town_module_edit::Entity>()
        .filter(town_module_edit::Column::ModuleId.eq(module_id))
        .one(connection)
        .await?
        .is_some())
}

/// What the folder resolved to, with the modules the back-office edited
/// kept as the database has them (enabled at their release and
/// configuration, or disabled): the back-office's edits belong to the
/// database. Answers the modules whose folder entry was left alone because
/// it would have changed them.
pub async fn keep_edited(
    connection: &impl ConnectionTrait,
    tenant: Option<&Tenant>,
    enablements: &[ModuleEnablement],
    resolved: Vec<ResolvedModule>,
    releases: &[ReleaseSummary],
) -> Result<(Vec<ResolvedModule>, Vec<String>), DbErr> {
    let Some(tenant) = tenant else {
        return Ok((resolved, Vec::new()));
    };
    let edited: Vec<String> = tenant
        .scope()
        .select::<town_module_edit::Entity>()
        .all(connection)
        .await?
        .into_iter()
        .map(|edit| edit.module_id)
        .collect();
    if edited.is_empty() {
        return Ok((resolved, Vec::new()));
    }
    let rows = tenant
        .scope()
        .select::<town_module::Entity>()
        .order_by_asc(town_module::Column::Position)
        .all(connection)
        .await?;
    let as_stored = |row: &town_module::Model| {
        let release = releases.iter().find(|r| r.id == row.module_release_id);
        let file = enablements.iter().find(|m| m.id == row.module_id);
        let kib = |value: Option<i64>| value.and_then(|kib| u64::try_from(kib).ok());
        ResolvedModule {
            module_id: row.module_id.clone(),
            requirement: row.requirement.clone(),
            release_id: row.module_release_id,
            version: release.map(|r| r.version.clone()).unwrap_or_default(),
            publisher: release.map_or(Publisher::Unsigned, ReleaseSummary::publisher),
            config: row.config.clone(),
            // Quotas are the operator's: the folder's when it lists the
            // module.
            storage: file.map_or(
                Some(super::StorageSetting {
                    resident_kib: kib(row.resident_quota_kib),
                    town_kib: kib(row.town_quota_kib),
                }),
                |file| file.storage,
            ),
        }
    };
    let serves = |row: &town_module::Model| {
        releases
            .iter()
            .find(|release| release.id == row.module_release_id)
            .is_none_or(|release| towns::serves_its_id(release, releases))
    };
    let same_config = |a: &str, b: &str| {
        serde_json::from_str::<Value>(a).ok() == serde_json::from_str::<Value>(b).ok()
    };
    let mut kept = Vec::new();
    let mut left_alone = Vec::new();
    for module in resolved {
        if !edited.contains(&module.module_id) {
            kept.push(module);
            continue;
        }
        match rows.iter().find(|row| row.module_id == module.module_id) {
            // Pinned in the back-office to a release its id's owner did
            // not publish (an earlier unsigned build, since claimed by a
            // signed publisher): the folder's resolution, the owner's.
            Some(row) if !serves(row) => kept.push(module),
            Some(row) => {
                if row.module_release_id != module.release_id
                    || !same_config(&row.config, &module.config)
                {
                    left_alone.push(module.module_id.clone());
                }
                kept.push(as_stored(row));
            }
            // Disabled in the back-office: stays disabled.
            None => left_alone.push(module.module_id.clone()),
        }
    }
    for row in &rows {
        if edited.contains(&row.module_id) && !kept.iter().any(|m| m.module_id == row.module_id) {
            if !serves(row) {
                // Enabled in the back-office, absent from the folder, on a
                // release its id's owner did not publish: not kept.
                tracing::warn!(
                    town = %tenant.slug,
                    module = %row.module_id,
                    "a module enabled in the back-office is on a release its id's owner did not publish: disabled"
                );
                continue;
            }
            // Enabled in the back-office, absent from the folder.
            left_alone.push(row.module_id.clone());
            kept.push(as_stored(row));
        }
    }
    Ok((kept, left_alone))
}
