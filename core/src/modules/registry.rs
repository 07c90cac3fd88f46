//! The registry of published components: `guichet module publish` checks a
//! component (a supported world, a sound manifest) and stores its bytes,
//! hash and manifest; releases are immutable.
//!
//! A module id belongs to one publisher. Until publishers sign their
//! releases, the only publisher Guichet can tell apart is itself: the ids of
//! the modules built into the binary ([`super::FIRST_PARTY_MODULES`]), and
//! any id Guichet ever published, are Guichet's, and a release under such an
//! id is refused unless its bytes are the binary's own.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    EntityTrait as _, FromQueryResult, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use sha2::Digest as _;

use super::entity::module_release;
use super::host::ModuleHost;
use super::wit::Interface;
use super::wit::v0_2::types::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    NotAComponent(String),
    #[error("the module's manifest cannot be read: {0}")]
    Describe(String),
    #[error("invalid manifest: {0}")]
    Manifest(String),
    #[error(
        "version {version} of `{module_id}` is already published with other content; give the new build a new version"
    )]
    Conflict { module_id: String, version: String },
    #[error(
        "the module id `{module_id}` belongs to Guichet's own modules: only the releases built into Guichet may use it; give this module an id of its own"
    )]
    FirstPartyId { module_id: String },
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// Who vouches for a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    /// Built into the binary: Guichet's own modules.
    Guichet,
    /// Anyone else (not yet told apart: releases are not signed).
    ThirdParty,
}

impl Publisher {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guichet => "guichet",
            Self::ThirdParty => "third-party",
        }
    }

    /// As stored; anything unknown is a third party.
    pub fn from_stored(text: &str) -> Self {
        if text == Self::Guichet.as_str() {
            Self::Guichet
        } else {
            Self::ThirdParty
        }
    }
}

#[derive(Debug, Clone)]
pub struct Published {
    pub manifest: Manifest,
    pub sha256: String,
    pub publisher: Publisher,
    /// The same bytes were already published: nothing changed.
    pub already: bool,
}

/// A release, without its bytes.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ReleaseSummary {
    pub id: i32,
    pub module_id: String,
    pub version: String,
    pub interface: String,
    pub sha256: String,
    pub manifest: String,
    pub published_at: DateTime<Utc>,
    /// [`Publisher`], as stored.
    pub publisher: String,
}

impl ReleaseSummary {
    pub fn publisher(&self) -> Publisher {
        Publisher::from_stored(&self.publisher)
    }

    /// The interface version the release implements.
    pub fn interface(&self) -> Result<Interface, String> {
        Interface::parse(&self.interface).ok_or_else(|| {
            format!(
                "module `{}` {}: interface {} is not served by this version of Guichet",
                self.module_id, self.version, self.interface
            )
        })
    }

    /// Its manifest, as the host's model (0.2.0) sees it.
    pub fn manifest(&self) -> Result<Manifest, String> {
        parse_manifest(&self.manifest).map_err(|error| {
            format!(
                "module `{}`: stored manifest unreadable: {error}",
                self.module_id
            )
        })
    }
}

/// A stored manifest: 0.2.0 JSON, or 0.1.0 JSON (releases published before
/// 0.2.0 existed, stored as their own interface's manifest).
pub fn parse_manifest(json: &str) -> Result<Manifest, serde_json::Error> {
    serde_json::from_str::<Manifest>(json).or_else(|newest| {
        serde_json::from_str::<super::wit::v0_1::types::Manifest>(json)
            .map(super::compat::manifest)
            .map_err(|_| newest)
    })
}

/// Whether these bytes are one of the modules built into this binary.
pub fn is_built_in(sha256: &str) -> bool {
    super::FIRST_PARTY_MODULES
        .iter()
        .any(|(_, bytes)| sha256_hex(bytes) == sha256)
}

/// Whether an id is Guichet's: a module built into the binary, or one
/// Guichet ever published.
async fn is_first_party_id(db: &DatabaseConnection, module_id: &str) -> Result<bool, DbErr> {
    if super::FIRST_PARTY_MODULES
        .iter()
        .any(|(id, _)| *id == module_id)
    {
        return Ok(true);
    }
    let published = module_release::Entity::find()
        .filter(module_release::Column::ModuleId.eq(module_id))
        .filter(module_release::Column::Publisher.eq(Publisher::Guichet.as_str()))
        .select_only()
        .column(module_release::Column::Id)
        .into_tuple::<i32>()
        .one(db)
        .await?;
    Ok(published.is_some())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Checks and stores a component. `claim` is who the caller vouches for:
/// [`Publisher::Guichet`] only for the binary's own modules (and tests
/// standing in for a later binary); `guichet module publish` claims
/// [`Publisher::ThirdParty`], and is refused a first-party id unless the
/// bytes are built into the binary.
pub async fn publish(
    db: &DatabaseConnection,
    host: &ModuleHost,
    bytes: &[u8],
    claim: Publisher,
) -> Result<Published, PublishError> {
    let sha256 = sha256_hex(bytes);
    let publisher = if claim == Publisher::Guichet || is_built_in(&sha256) {
        Publisher::Guichet
    } else {
        Publisher::ThirdParty
    };
    let stored = summaries_query()
        .filter(module_release::Column::Sha256.eq(&sha256))
        .into_model::<ReleaseSummary>()
        .one(db)
        .await?;
    if let Some(stored) = stored {
        let manifest = stored.manifest().map_err(PublishError::Manifest)?;
        if publisher == Publisher::ThirdParty
            && stored.publisher() == Publisher::ThirdParty
            && is_first_party_id(db, &stored.module_id).await?
        {
            // Stored before ids were checked: it stays, and is never used.
            return Err(PublishError::FirstPartyId {
                module_id: stored.module_id,
            });
        }
        // Releases stored before publishers were recorded count as third
        // party until the binary claims its own, by their bytes.
        if publisher == Publisher::Guichet && stored.publisher() != Publisher::Guichet {
            module_release::Entity::update_many()
                .col_expr(
                    module_release::Column::Publisher,
                    sea_orm::sea_query::Expr::value(Publisher::Guichet.as_str()),
                )
                .filter(module_release::Column::Id.eq(stored.id))
                .exec(db)
                .await?;
        }
        return Ok(Published {
            manifest,
            sha256,
            publisher: if publisher == Publisher::Guichet {
                publisher
            } else {
                stored.publisher()
            },
            already: true,
        });
    }
    let pre = host
        .prepare(&sha256, bytes)
        .await
        .map_err(PublishError::NotAComponent)?;
    let manifest = host
        .describe(&pre)
        .await
        .map_err(|failure| PublishError::Describe(failure.to_string()))?;
    check_manifest(&manifest).map_err(PublishError::Manifest)?;
    if publisher == Publisher::ThirdParty && is_first_party_id(db, &manifest.id).await? {
        return Err(PublishError::FirstPartyId {
            module_id: manifest.id,
        });
    }

    let existing = module_release::Entity::find()
        .filter(module_release::Column::ModuleId.eq(&manifest.id))
        .filter(module_release::Column::Version.eq(&manifest.version))
        .select_only()
        .column(module_release::Column::Sha256)
        .into_tuple::<String>()
        .one(db)
        .await?;
    match existing {
        Some(stored) if stored == sha256 => {
            return Ok(Published {
                manifest,
                sha256,
                publisher,
                already: true,
            });
        }
        Some(_) => {
            return Err(PublishError::Conflict {
                module_id: manifest.id,
                version: manifest.version,
            });
        }
        None => {}
    }
    let manifest_json = serde_json::to_string(&manifest)
        .map_err(|error| PublishError::Manifest(error.to_string()))?;
    module_release::ActiveModel {
        module_id: Set(manifest.id.clone()),
        version: Set(manifest.version.clone()),
        interface: Set(pre.interface().as_str().to_owned()),
        sha256: Set(sha256.clone()),
        manifest: Set(manifest_json),
        component: Set(bytes.to_vec()),
        published_at: Set(Utc::now()),
        publisher: Set(publisher.as_str().to_owned()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Published {
        manifest,
        sha256,
        publisher,
        already: false,
    })
}

/// Every release, by module then version.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<ReleaseSummary>, DbErr> {
    let mut releases = summaries().all(db).await?;
    releases.sort_by(|a, b| {
        a.module_id.cmp(&b.module_id).then_with(|| {
            match (
                semver::Version::parse(&a.version),
                semver::Version::parse(&b.version),
            ) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.version.cmp(&b.version),
            }
        })
    });
    Ok(releases)
}

const SUMMARY_COLUMNS: [module_release::Column; 8] = [
    module_release::Column::Id,
    module_release::Column::ModuleId,
    module_release::Column::Version,
    module_release::Column::Interface,
    module_release::Column::Sha256,
    module_release::Column::Manifest,
    module_release::Column::PublishedAt,
    module_release::Column::Publisher,
];

/// Releases, without their bytes.
pub fn summaries() -> sea_orm::Selector<sea_orm::SelectModel<ReleaseSummary>> {
    summaries_query()
        .order_by_asc(module_release::Column::Id)
        .into_model::<ReleaseSummary>()
}

fn summaries_query() -> sea_orm::Select<module_release::Entity> {
    module_release::Entity::find()
        .select_only()
        .columns(SUMMARY_COLUMNS)
}

/// One release, without its bytes.
pub async fn summary(
    db: &DatabaseConnection,
    release_id: i32,
) -> Result<Option<ReleaseSummary>, DbErr> {
    summaries_query()
        .filter(module_release::Column::Id.eq(release_id))
        .into_model::<ReleaseSummary>()
        .one(db)
        .await
}

pub async fn component_bytes(db: &DatabaseConnection, sha256: &str) -> Result<Vec<u8>, DbErr> {
    module_release::Entity::find()
        .filter(module_release::Column::Sha256.eq(sha256))
        .select_only()
        .column(module_release::Column::Component)
        .into_tuple::<Vec<u8>>()
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("module release {sha256}")))
}

pub fn is_valid_module_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

fn is_valid_view_id(id: &str) -> bool {
    is_valid_module_id(id)
}

fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    if !is_valid_module_id(&manifest.id) {
        return Err(format!(
            "id `{}` must be 1 to 64 lowercase letters, digits and inner hyphens",
            manifest.id
        ));
    }
    semver::Version::parse(&manifest.version).map_err(|error| {
        format!(
            "version `{}` is not a semantic version: {error}",
            manifest.version
        )
    })?;
    if manifest.name.trim().is_empty() {
        return Err("name is empty".to_owned());
    }
    let mut seen = std::collections::BTreeSet::new();
    for tile in &manifest.tiles {
        if !is_valid_view_id(&tile.id) || !seen.insert(tile.id.as_str()) {
            return Err(format!("tile `{}`: invalid or repeated id", tile.id));
        }
        if tile.title.trim().is_empty() {
            return Err(format!("tile `{}` has no title", tile.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for action in &manifest.actions {
        if !is_valid_view_id(&action.id) || !seen.insert(action.id.as_str()) {
            return Err(format!("action `{}`: invalid or repeated id", action.id));
        }
        if !is_valid_view_id(&action.view) || action.label.trim().is_empty() {
            return Err(format!("action `{}` needs a label and a view", action.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for view in &manifest.staff_views {
        if !is_valid_view_id(&view.id) || !seen.insert(view.id.as_str()) {
            return Err(format!("staff view `{}`: invalid or repeated id", view.id));
        }
        if view.title.trim().is_empty() {
            return Err(format!("staff view `{}` has no title", view.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for action in &manifest.staff_actions {
        if !is_valid_view_id(&action.id) || !seen.insert(action.id.as_str()) {
            return Err(format!(
                "staff action `{}`: invalid or repeated id",
                action.id
            ));
        }
        if action.label.trim().is_empty() {
            return Err(format!("staff action `{}` has no label", action.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for document in &manifest.documents {
        if !is_valid_view_id(&document.id) || !seen.insert(document.id.as_str()) {
            return Err(format!(
                "document `{}`: invalid or repeated id",
                document.id
            ));
        }
        // Its title is what lists, the journal and the public
        // verification page show: a line, set once by the module's author.
        if document.title.trim().is_empty()
            || document.title.chars().count() > 200
            || document.title.chars().any(char::is_control)
        {
            return Err(format!(
                "document `{}` needs a title of one line, at most 200 characters",
                document.id
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for field in &document.params {
            if field.name.is_empty()
                || field.name.len() > 64
                || field.name.chars().any(|character| character.is_control())
                || field.name == "csrf"
                || !names.insert(field.name.as_str())
            {
                return Err(format!(
                    "document `{}`: parameter `{}` has an invalid or repeated name",
                    document.id, field.name
                ));
            }
        }
    }
    for capability in &manifest.capabilities {
        if let super::wit::v0_2::types::Capability::ModuleConfig(module) = capability
            && !is_valid_module_id(module)
        {
            return Err(format!(
                "capability module-config(`{module}`): not a module id"
            ));
        }
    }
    let schema: serde_json::Value = serde_json::from_str(&manifest.config_schema)
        .map_err(|error| format!("config-schema is not JSON: {error}"))?;
    jsonschema::validator_for(&schema)
        .map_err(|error| format!("config-schema is not a valid JSON Schema: {error}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::wit::v0_2::types::DocumentDeclaration;
    use crate::modules::{Field, FieldKind};

    fn manifest(documents: Vec<DocumentDeclaration>) -> Manifest {
        Manifest {
            id: "invoices".to_owned(),
            name: "Mes factures".to_owned(),
            version: "0.1.2".to_owned(),
            description: String::new(),
            tiles: Vec::new(),
            actions: Vec::new(),
            staff_views: Vec::new(),
            staff_actions: Vec::new(),
            documents,
            config_schema: "{}".to_owned(),
            capabilities: Vec::new(),
        }
    }

    fn document(id: &str, title: &str, params: &[&str]) -> DocumentDeclaration {
        DocumentDeclaration {
            id: id.to_owned(),
            title: title.to_owned(),
            description: String::new(),
            params: params
                .iter()
                .map(|name| Field {
                    name: (*name).to_owned(),
                    label: (*name).to_owned(),
                    kind: FieldKind::Text,
                    value: String::new(),
                    required: false,
                    disabled: false,
                    hint: None,
                    error: None,
                })
                .collect(),
        }
    }

    #[test]
    fn documents_are_checked_at_publication() {
        let good = document("attestation-fiscale", "Attestation fiscale", &["annee"]);
        assert_eq!(check_manifest(&manifest(vec![good.clone()])), Ok(()));
        for (bad, why) in [
            (
                vec![document("Attestation/..", "x", &[])],
                "invalid or repeated id",
            ),
            (vec![good.clone(), good.clone()], "invalid or repeated id"),
            (vec![document("a", " ", &[])], "needs a title"),
            (vec![document("a", "Léa\nARPEGE", &[])], "needs a title"),
            (
                vec![document("a", "A", &["annee", "annee"])],
                "invalid or repeated name",
            ),
            (
                vec![document("a", "A", &["csrf"])],
                "invalid or repeated name",
            ),
        ] {
            let error = check_manifest(&manifest(bad)).unwrap_err();
            assert!(error.contains(why), "{error}");
        }
    }
}
