//! The registry of published components: `guichet module publish` checks a
//! component (a supported world, a sound manifest, its size) and stores its
//! bytes, hash, manifest and publisher; releases are immutable.
//!
//! **A module id belongs to one publisher.** The ids of the modules built
//! into the binary ([`super::FIRST_PARTY_MODULES`]), and any id Guichet ever
//! published, are Guichet's: a release under such an id is refused unless
//! it is Guichet's (its bytes are the binary's own, or it is signed with
//! Guichet's key). An id whose first signed release came from a publisher
//! (the name the operator gave its key, [`super::trust`]) is that
//! publisher's: anyone else's release, signed or not, is refused. Ids only
//! ever published unsigned (development) belong to nobody yet.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    EntityTrait as _, FromQueryResult, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use sha2::Digest as _;

use super::entity::module_release;
use super::host::{ModuleHost, Prepared};
use super::trust::Provenance;
use super::wit::Interface;
use super::wit::v0_2::types::Manifest;

/// The largest component published: the first-party modules weigh 100 to
/// 400 KB; a component is compiled at publication and kept in the
/// database, and its size bounds both.
pub const MAX_COMPONENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    NotAComponent(String),
    #[error(
        "the component weighs {} KiB; at most {} KiB are published",
        .size / 1024,
        MAX_COMPONENT_BYTES / 1024
    )]
    TooLarge { size: usize },
    #[error("the module's manifest cannot be read: {0}")]
    Describe(String),
    #[error("invalid manifest: {}", .0.join("; "))]
    Manifest(Vec<String>),
    #[error(
        "version {version} of `{module_id}` is already published with other content; give the new build a new version"
    )]
    Conflict { module_id: String, version: String },
    #[error(
        "the module id `{module_id}` belongs to Guichet's own modules: only Guichet's releases (built into Guichet or signed with its key) may use it; give this module an id of its own"
    )]
    FirstPartyId { module_id: String },
    #[error(
        "the module id `{module_id}` belongs to publisher `{owner}`: only releases signed with its key may use it; give this module an id of its own"
    )]
    OwnedId { module_id: String, owner: String },
    #[error(transparent)]
    Trust(#[from] super::trust::TrustError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// Who vouches for a release, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    /// Built into the binary, or signed with Guichet's key.
    Guichet,
    /// Signed with a key the operator trusts (its name is stored beside).
    Signed,
    /// Not signed (or by a key nobody trusted), published where the
    /// operator allowed it.
    Unsigned,
}

impl Publisher {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guichet => "guichet",
            Self::Signed => "signed",
            // The stored word predates signatures.
            Self::Unsigned => "third-party",
        }
    }

    /// As stored; anything unknown is unsigned.
    pub fn from_stored(text: &str) -> Self {
        match text {
            "guichet" => Self::Guichet,
            "signed" => Self::Signed,
            _ => Self::Unsigned,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Published {
    pub manifest: Manifest,
    pub sha256: String,
    pub publisher: Publisher,
    /// A signed release: who signed it, as the operator named the key.
    pub publisher_name: Option<String>,
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
    pub publisher_name: Option<String>,
    pub publisher_key: Option<String>,
}

impl ReleaseSummary {
    pub fn publisher(&self) -> Publisher {
        Publisher::from_stored(&self.publisher)
    }

    /// Who vouches for it, in a few words for operators.
    pub fn publisher_label(&self) -> String {
        publisher_label(self.publisher(), self.publisher_name.as_deref())
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

/// "guichet", "signed by civitas", "unsigned".
pub fn publisher_label(publisher: Publisher, name: Option<&str>) -> String {
    match (publisher, name) {
        (Publisher::Guichet, _) => "guichet".to_owned(),
        (Publisher::Signed, Some(name)) => format!("signed by {name}"),
        (Publisher::Signed, None) => "signed".to_owned(),
        (Publisher::Unsigned, _) => "unsigned".to_owned(),
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
        .any(|module| sha256_hex(module.bytes) == sha256)
}

/// Who an id belongs to: Guichet (a module built into the binary, or one
/// Guichet ever published), the publisher of its first signed release, or
/// nobody yet.
async fn owner_of(db: &DatabaseConnection, module_id: &str) -> Result<Owner, DbErr> {
    if super::FIRST_PARTY_MODULES
        .iter()
        .any(|module| module.id == module_id)
    {
        return Ok(Owner::Guichet);
    }
    let releases: Vec<(String, Option<String>)> = module_release::Entity::find()
        .filter(module_release::Column::ModuleId.eq(module_id))
        .filter(module_release::Column::Publisher.ne(Publisher::Unsigned.as_str()))
        .select_only()
        .column(module_release::Column::Publisher)
        .column(module_release::Column::PublisherName)
        .order_by_asc(module_release::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if releases
        .iter()
        .any(|(publisher, _)| Publisher::from_stored(publisher) == Publisher::Guichet)
    {
        return Ok(Owner::Guichet);
    }
    Ok(releases
        .into_iter()
        .find_map(|(_, name)| name)
        .map_or(Owner::Nobody, Owner::Publisher))
}

enum Owner {
    Guichet,
    Publisher(String),
    Nobody,
}

/// Refuses a release of `module_id` that its owner did not sign.
async fn check_owner(
    db: &DatabaseConnection,
    module_id: &str,
    provenance: &Provenance,
) -> Result<(), PublishError> {
    match (owner_of(db, module_id).await?, provenance) {
        (Owner::Guichet, Provenance::Guichet) | (Owner::Nobody, _) => Ok(()),
        (Owner::Guichet, _) => Err(PublishError::FirstPartyId {
            module_id: module_id.to_owned(),
        }),
        (Owner::Publisher(owner), Provenance::Signed { name, .. }) if *name == owner => Ok(()),
        (Owner::Publisher(owner), _) => Err(PublishError::OwnedId {
            module_id: module_id.to_owned(),
            owner,
        }),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The publication checks, without the database: the size, the component
/// (a world this host serves, no import it does not give), its manifest.
/// What `guichet module check` runs, and `publish` before storing.
pub async fn inspect(
    host: &ModuleHost,
    sha256: &str,
    bytes: &[u8],
) -> Result<(Prepared, Manifest), PublishError> {
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(PublishError::TooLarge { size: bytes.len() });
    }
    let pre = host
        .prepare(sha256, bytes)
        .await
        .map_err(PublishError::NotAComponent)?;
    let manifest = host
        .describe(&pre)
        .await
        .map_err(|failure| PublishError::Describe(failure.to_string()))?;
    let problems = manifest_problems(&manifest);
    if !problems.is_empty() {
        return Err(PublishError::Manifest(problems));
    }
    Ok((pre, manifest))
}

/// Checks and stores a component. `provenance` is what its signature
/// proved ([`super::trust::PublisherTrust::judge`]); bytes built into the
/// binary are Guichet's whatever it says.
pub async fn publish(
    db: &DatabaseConnection,
    host: &ModuleHost,
    bytes: &[u8],
    provenance: &Provenance,
) -> Result<Published, PublishError> {
    let sha256 = sha256_hex(bytes);
    let provenance = if is_built_in(&sha256) {
        &Provenance::Guichet
    } else {
        provenance
    };
    let (publisher, publisher_name, publisher_key) = match provenance {
        Provenance::Guichet => (Publisher::Guichet, None, None),
        Provenance::Signed { name, key } => {
            (Publisher::Signed, Some(name.clone()), Some(key.encoded()))
        }
        Provenance::Unsigned => (Publisher::Unsigned, None, None),
    };
    let stored = summaries_query()
        .filter(module_release::Column::Sha256.eq(&sha256))
        .into_model::<ReleaseSummary>()
        .one(db)
        .await?;
    if let Some(stored) = stored {
        let manifest = stored
            .manifest()
            .map_err(|error| PublishError::Manifest(vec![error]))?;
        if stored.publisher() == Publisher::Unsigned {
            // Stored unsigned (or before ids were checked): whoever now
            // vouches for it must own the id.
            check_owner(db, &stored.module_id, provenance).await?;
        }
        // Releases stored before publishers were recorded count as unsigned
        // until the binary claims its own, by their bytes, or a publisher
        // signs them.
        let upgrade = publisher != Publisher::Unsigned && stored.publisher() == Publisher::Unsigned;
        if upgrade {
            module_release::Entity::update_many()
                .col_expr(
                    module_release::Column::Publisher,
                    sea_orm::sea_query::Expr::value(publisher.as_str()),
                )
                .col_expr(
                    module_release::Column::PublisherName,
                    sea_orm::sea_query::Expr::value(publisher_name.clone()),
                )
                .col_expr(
                    module_release::Column::PublisherKey,
                    sea_orm::sea_query::Expr::value(publisher_key),
                )
                .filter(module_release::Column::Id.eq(stored.id))
                .exec(db)
                .await?;
        }
        let (publisher, publisher_name) = if upgrade {
            (publisher, publisher_name)
        } else {
            (stored.publisher(), stored.publisher_name)
        };
        return Ok(Published {
            manifest,
            sha256,
            publisher,
            publisher_name,
            already: true,
        });
    }
    let (pre, manifest) = inspect(host, &sha256, bytes).await?;
    check_owner(db, &manifest.id, provenance).await?;

    let existing = module_release::Entity::find()
        .filter(module_release::Column::ModuleId.eq(&manifest.id))
        .filter(module_release::Column::Version.eq(&manifest.version))
        .select_only()
        .column(module_release::Column::Sha256)
        .into_tuple::<String>()
        .one(db)
        .await?;
    if existing.is_some() {
        return Err(PublishError::Conflict {
            module_id: manifest.id,
            version: manifest.version,
        });
    }
    let manifest_json = serde_json::to_string(&manifest)
        .map_err(|error| PublishError::Manifest(vec![error.to_string()]))?;
    module_release::ActiveModel {
        module_id: Set(manifest.id.clone()),
        version: Set(manifest.version.clone()),
        interface: Set(pre.interface().as_str().to_owned()),
        sha256: Set(sha256.clone()),
        manifest: Set(manifest_json),
        component: Set(bytes.to_vec()),
        published_at: Set(Utc::now()),
        publisher: Set(publisher.as_str().to_owned()),
        publisher_name: Set(publisher_name.clone()),
        publisher_key: Set(publisher_key),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Published {
        manifest,
        sha256,
        publisher,
        publisher_name,
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

const SUMMARY_COLUMNS: [module_release::Column; 10] = [
    module_release::Column::Id,
    module_release::Column::ModuleId,
    module_release::Column::Version,
    module_release::Column::Interface,
    module_release::Column::Sha256,
    module_release::Column::Manifest,
    module_release::Column::PublishedAt,
    module_release::Column::Publisher,
    module_release::Column::PublisherName,
    module_release::Column::PublisherKey,
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

/// Every problem of a manifest, one sentence each (empty: sound).
pub fn manifest_problems(manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_valid_module_id(&manifest.id) {
        problems.push(format!(
            "id `{}` must be 1 to 64 lowercase letters, digits and inner hyphens",
            manifest.id
        ));
    }
    if let Err(error) = semver::Version::parse(&manifest.version) {
        problems.push(format!(
            "version `{}` is not a semantic version: {error}",
            manifest.version
        ));
    }
    if manifest.name.trim().is_empty() {
        problems.push("name is empty".to_owned());
    }
    let mut seen = std::collections::BTreeSet::new();
    for tile in &manifest.tiles {
        if !is_valid_view_id(&tile.id) || !seen.insert(tile.id.as_str()) {
            problems.push(format!("tile `{}`: invalid or repeated id", tile.id));
        }
        if tile.title.trim().is_empty() {
            problems.push(format!("tile `{}` has no title", tile.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for action in &manifest.actions {
        if !is_valid_view_id(&action.id) || !seen.insert(action.id.as_str()) {
            problems.push(format!("action `{}`: invalid or repeated id", action.id));
        }
        if !is_valid_view_id(&action.view) || action.label.trim().is_empty() {
            problems.push(format!("action `{}` needs a label and a view", action.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for view in &manifest.staff_views {
        if !is_valid_view_id(&view.id) || !seen.insert(view.id.as_str()) {
            problems.push(format!("staff view `{}`: invalid or repeated id", view.id));
        }
        if view.title.trim().is_empty() {
            problems.push(format!("staff view `{}` has no title", view.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for action in &manifest.staff_actions {
        if !is_valid_view_id(&action.id) || !seen.insert(action.id.as_str()) {
            problems.push(format!(
                "staff action `{}`: invalid or repeated id",
                action.id
            ));
        }
        if action.label.trim().is_empty() {
            problems.push(format!("staff action `{}` has no label", action.id));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for document in &manifest.documents {
        if !is_valid_view_id(&document.id) || !seen.insert(document.id.as_str()) {
            problems.push(format!(
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
            problems.push(format!(
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
                problems.push(format!(
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
            problems.push(format!(
                "capability module-config(`{module}`): not a module id"
            ));
        }
    }
    match serde_json::from_str::<serde_json::Value>(&manifest.config_schema) {
        Err(error) => problems.push(format!("config-schema is not JSON: {error}")),
        Ok(schema) => {
            if let Err(error) = jsonschema::validator_for(&schema) {
                problems.push(format!("config-schema is not a valid JSON Schema: {error}"));
            }
        }
    }
    problems
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
        assert_eq!(
            manifest_problems(&manifest(vec![good.clone()])),
            Vec::<String>::new()
        );
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
            let problems = manifest_problems(&manifest(bad));
            assert!(
                problems.iter().any(|problem| problem.contains(why)),
                "{problems:?}"
            );
        }
    }
}
