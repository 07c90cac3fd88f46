//! The town directory: towns' rows (written in the transaction of `tenant
//! apply`, see the `towns` domain), listing towns, resolving hosts.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    EntityTrait as _, QueryFilter as _, QueryOrder as _,
};
use sha2::{Digest as _, Sha256};

use super::cache::{Freshness, TownCache};
use super::entity::{tenant, tenant_hostname};
use super::{HostLookup, Section, TenantDefinition, TenantScope, classify_host};

/// A town's id. Only this module makes one, from a row it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(i32);

impl TenantId {
    pub(super) fn new(id: i32) -> Self {
        Self(id)
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A town, as the rest of the application sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    id: TenantId,
    pub slug: String,
    pub display_name: String,
    pub theme: String,
    pub timezone: chrono_tz::Tz,
    pub definition: TenantDefinition,
}

impl Tenant {
    pub fn id(&self) -> TenantId {
        self.id
    }

    /// The path to this town's own rows.
    pub fn scope(&self) -> TenantScope {
        TenantScope::new(self.id)
    }

    /// A feature's section of the town's definition (see
    /// [`TenantDefinition::section`]): parsed once per town value.
    pub fn section<S: Section>(&self) -> &S {
        self.definition.section::<S>()
    }

    pub(super) fn from_row(row: tenant::Model) -> Result<Self, TenancyError> {
        let corrupt = |what: String| TenancyError::CorruptRow {
            slug: row.slug.clone(),
            what,
        };
        let definition: TenantDefinition = serde_json::from_str(&row.definition)
            .map_err(|error| corrupt(format!("definition: {error}")))?;
        let timezone = row
            .timezone
            .parse()
            .map_err(|_| corrupt(format!("timezone `{}`", row.timezone)))?;
        Ok(Self {
            id: TenantId::new(row.id),
            slug: row.slug,
            display_name: row.display_name,
            theme: row.theme,
            timezone,
            definition,
        })
    }
}

/// One line of `guichet tenant list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSummary {
    pub slug: String,
    pub display_name: String,
    pub theme: String,
    pub hostnames: Vec<String>,
}

/// What `apply` did to one town.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    Created(String),
    Updated(String),
    Unchanged(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    #[error("the host name {hostname} is already used by the town `{owner}`")]
    HostnameTaken { hostname: String, owner: String },
    #[error(
        "the host name {hostname} of town `{town}` is under the base domain; \
         towns answer on <slug>.{base_domain} without listing it"
    )]
    HostnameUnderBaseDomain {
        hostname: String,
        town: String,
        base_domain: String,
    },
    #[error("the same definition lists the town `{0}` twice")]
    DuplicateSlug(String),
    #[error("the stored row of town `{slug}` is unreadable ({what}); apply its tenant.toml again")]
    CorruptRow { slug: String, what: String },
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// How a town was served from memory or the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// As trusted now: read from the database or kept while fresh.
    Current,
    /// As last read, because the database did not answer in time.
    AsLastRead,
}

/// Reads and writes the towns. Cheap to clone: share one per process.
#[derive(Debug, Clone)]
pub struct TenantDirectory {
    db: DatabaseConnection,
    base_domain: Arc<str>,
    /// Towns recently resolved, by host (see `cache.rs`), kept in step with
    /// the database by [`Self::watch_changes`].
    resolved: Arc<TownCache>,
}

impl TenantDirectory {
    pub fn new(db: DatabaseConnection, base_domain: &str) -> Self {
        Self {
            db,
            base_domain: base_domain.into(),
            resolved: Arc::default(),
        }
    }

    /// The town of a request's host (see [`Self::resolve_host`]), kept in
    /// memory: until a change is announced while changes are watched, a
    /// moment otherwise (see [`Freshness`]). When the database does not
    /// answer, the town as last read, if any: its pages (and its 503 page)
    /// still show.
    pub async fn resolve_host_cached(
        &self,
        domain: &str,
    ) -> Result<Option<Arc<Tenant>>, TenancyError> {
        Ok(self
            .resolve_host_served(domain)
            .await?
            .map(|(tenant, _)| tenant))
    }

    /// Like [`Self::resolve_host_cached`], saying whether the town was
    /// served as last read because the database did not answer.
    pub async fn resolve_host_served(
        &self,
        domain: &str,
    ) -> Result<Option<(Arc<Tenant>, Served)>, TenancyError> {
        // One entry per town host, whatever the case a browser sent.
        let key = domain.trim_end_matches('.').to_ascii_lowercase();
        if let Some(tenant) = self.resolved.fresh(&key) {
            return Ok(Some((tenant, Served::Current)));
        }
        let generation = self.resolved.generation();
        match self.resolve_host(domain).await {
            Ok(Some(tenant)) => {
                // Read again unchanged (the safety net's re-read, once a
                // minute): the value kept goes on, so what is kept under
                // its identity (residents' home pages) stays valid.
                let tenant = match self.resolved.stale(&key) {
                    Some(kept) if *kept == tenant => kept,
                    _ => Arc::new(tenant),
                };
                self.resolved.keep(key, tenant.clone(), generation);
                Ok(Some((tenant, Served::Current)))
            }
            Ok(None) => Ok(None),
            Err(TenancyError::Database(error)) => match self.resolved.stale(&key) {
                Some(tenant) => {
                    tracing::warn!(%error, town = %tenant.slug, "cannot read the town again: served as last read");
                    Ok(Some((tenant, Served::AsLastRead)))
                }
                None => Err(TenancyError::Database(error)),
            },
            Err(error) => Err(error),
        }
    }

    /// Keeps the towns in memory in step with the database until `stop`
    /// resolves: a town changed by any process is served anew within a
    /// second (`LISTEN`/`NOTIFY` on PostgreSQL, a polled change stamp on
    /// SQLite; see `watch.rs`). Run once per serving process.
    pub async fn watch_changes(self, stop: impl Future<Output = ()> + Send) {
        super::watch::watch(self.db.clone(), self.resolved.clone(), stop).await;
    }

    /// Whether this process learns of other processes' changes now.
    pub fn freshness(&self) -> Freshness {
        self.resolved.freshness()
    }

    /// The town a request's host name belongs to, if any.
    pub async fn resolve_host(&self, domain: &str) -> Result<Option<Tenant>, TenancyError> {
        let row = match classify_host(domain, &self.base_domain) {
            None => None,
            Some(HostLookup::Slug(slug)) => {
                tenant::Entity::find()
                    .filter(tenant::Column::Slug.eq(slug))
                    .one(&self.db)
                    .await?
            }
            Some(HostLookup::CustomDomain(hostname)) => {
                tenant::Entity::find()
                    .inner_join(tenant_hostname::Entity)
                    .filter(tenant_hostname::Column::Hostname.eq(hostname))
                    .one(&self.db)
                    .await?
            }
        };
        row.map(Tenant::from_row).transpose()
    }

    /// The town of a row's `tenant_id` (background work that found the row
    /// before its town).
    pub async fn find_by_id(&self, id: i32) -> Result<Option<Tenant>, TenancyError> {
        tenant::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(Tenant::from_row)
            .transpose()
    }

    pub async fn find_by_slug(&self, slug: &str) -> Result<Option<Tenant>, TenancyError> {
        tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .map(Tenant::from_row)
            .transpose()
    }

    /// The town `slug` as stored, read in the caller's write transaction and
    /// locked until it ends (PostgreSQL `FOR UPDATE`; SQLite's write
    /// transaction already holds the lock): what a change of its definition
    /// reads before [`Self::apply_in`] writes it, so that two changes at
    /// once do not lose one another.
    pub async fn stored_in(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        slug: &str,
    ) -> Result<Option<Tenant>, TenancyError> {
        use sea_orm::{ConnectionTrait as _, DbBackend, QuerySelect as _};
        let mut query = tenant::Entity::find().filter(tenant::Column::Slug.eq(slug));
        if txn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        query.one(txn).await?.map(Tenant::from_row).transpose()
    }

    /// Every town with its custom domains, by slug. A platform-wide view for
    /// operators: the one place that reads host names across towns.
    pub async fn list(&self) -> Result<Vec<TenantSummary>, TenancyError> {
        let rows = tenant::Entity::find()
            .find_with_related(tenant_hostname::Entity)
            .order_by_asc(tenant::Column::Slug)
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(town, hostnames)| {
                let mut hostnames: Vec<String> =
                    hostnames.into_iter().map(|h| h.hostname).collect();
                hostnames.sort();
                TenantSummary {
                    slug: town.slug,
                    display_name: town.display_name,
                    theme: town.theme,
                    hostnames,
                }
            })
            .collect())
    }

    /// Checks a set of definitions before anything is written: each town
    /// once, and no custom domain under the base domain.
    pub fn check(&self, definitions: &[&TenantDefinition]) -> Result<(), TenancyError> {
        let mut seen = std::collections::HashSet::new();
        for definition in definitions {
            if !seen.insert(definition.slug.as_str()) {
                return Err(TenancyError::DuplicateSlug(definition.slug.clone()));
            }
            // Such a name would be looked up as a slug, never as this town's.
            for hostname in &definition.hostnames {
                if !matches!(
                    classify_host(hostname, &self.base_domain),
                    Some(HostLookup::CustomDomain(_))
                ) {
                    return Err(TenancyError::HostnameUnderBaseDomain {
                        hostname: hostname.clone(),
                        town: definition.slug.clone(),
                        base_domain: self.base_domain.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Creates or updates one town (its row and host names) in the caller's
    /// transaction, which also writes what the town's features derive from
    /// its definition: a town is applied all or nothing. Applying the same
    /// definition again changes nothing (definition hash). A change is
    /// announced to every instance in the same transaction (on PostgreSQL,
    /// `NOTIFY`, delivered only once it commits). Answers the town as it
    /// will be once committed. Call [`Self::forget_resolved`] after the
    /// commit.
    pub async fn apply_in(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        definition: &TenantDefinition,
    ) -> Result<(ApplyOutcome, Tenant), TenancyError> {
        let (outcome, row) = apply_one(txn, definition).await?;
        if !matches!(outcome, ApplyOutcome::Unchanged(_)) {
            super::watch::announce_change(txn, &definition.slug).await?;
        }
        Ok((outcome, Tenant::from_row(row)?))
    }

    /// Forgets the towns kept in memory, so that this process serves an
    /// applied change at once (others learn of it through
    /// [`Self::watch_changes`]).
    pub fn forget_resolved(&self) {
        self.resolved.flush();
    }
}

async fn apply_one(
    txn: &sea_orm::DatabaseTransaction,
    definition: &TenantDefinition,
) -> Result<(ApplyOutcome, tenant::Model), TenancyError> {
    let json = serde_json::to_string(definition)
        .map_err(|error| DbErr::Custom(format!("cannot serialise the definition: {error}")))?;
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    let now = Utc::now();

    let existing = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(&definition.slug))
        .one(txn)
        .await?;
    let (row, outcome) = match existing {
        Some(row) if row.definition_hash == hash => {
            return Ok((ApplyOutcome::Unchanged(definition.slug.clone()), row));
        }
        Some(row) => {
            let mut active: tenant::ActiveModel = row.into();
            active.display_name = Set(definition.display_name.clone());
            active.theme = Set(definition.theme.clone());
            active.timezone = Set(definition.timezone.clone());
            active.definition = Set(json);
            active.definition_hash = Set(hash);
            active.updated_at = Set(now);
            (
                active.update(txn).await?,
                ApplyOutcome::Updated(definition.slug.clone()),
            )
        }
        None => {
            let active = tenant::ActiveModel {
                slug: Set(definition.slug.clone()),
                display_name: Set(definition.display_name.clone()),
                theme: Set(definition.theme.clone()),
                timezone: Set(definition.timezone.clone()),
                definition: Set(json),
                definition_hash: Set(hash),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            };
            (
                active.insert(txn).await?,
                ApplyOutcome::Created(definition.slug.clone()),
            )
        }
    };

    // Host names: refuse those of another town, then replace this town's set.
    let taken = tenant_hostname::Entity::find()
        .find_also_related(tenant::Entity)
        .filter(tenant_hostname::Column::Hostname.is_in(definition.hostnames.clone()))
        .filter(tenant_hostname::Column::TenantId.ne(row.id))
        .one(txn)
        .await?;
    if let Some((hostname, owner)) = taken {
        return Err(TenancyError::HostnameTaken {
            hostname: hostname.hostname,
            owner: owner.map(|o| o.slug).unwrap_or_default(),
        });
    }
    let scope = TenantScope::new(TenantId::new(row.id));
    scope.delete::<tenant_hostname::Entity>().exec(txn).await?;
    if !definition.hostnames.is_empty() {
        tenant_hostname::Entity::insert_many(definition.hostnames.iter().map(|hostname| {
            tenant_hostname::ActiveModel {
                hostname: Set(hostname.clone()),
                tenant_id: Set(scope.tenant_id().get()),
            }
        }))
        .exec(txn)
        .await?;
    }
    Ok((outcome, row))
}
