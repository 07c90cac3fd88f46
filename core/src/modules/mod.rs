//! Service modules: sandboxed WebAssembly components, written by us or by
//! third parties, enabled per town.
//!
//! Lifecycle: **publish** (`guichet module publish`: the component is
//! compiled, its world checked, its manifest read and stored with its bytes)
//! → **enable** (`tenant.toml` `[[modules]]`, resolved and validated at
//! `tenant apply`) → **instantiate** (one `InstancePre` per release, shared by
//! every town; a fresh store per call) → **render / act** (the host builds
//! the context; the module answers data the theme renders).
//!
//! Error policy: a module's failure is never the page's. Calls return
//! [`CallFailure`], which the web layer shows as an "indisponible" tile for
//! that module only; it is logged with town, module and version and counted
//! in [`ModuleMetrics`]. Database errors are returned as `DbErr`.

mod cache;
pub mod entity;
mod host;
mod metrics;
pub mod registry;
mod sandbox;
mod slots;
pub mod storage;
pub mod towns;
mod views;
pub mod wit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    EntityTrait as _, QueryFilter as _, QueryOrder as _,
};

pub use cache::{ArtifactCache, CacheError};
pub use host::{
    ActResult, CallFailure, HostSetupError, LoadedRelease, MAX_INPUT_BYTES, MAX_OUTPUT_BYTES,
    ModuleHost, ModuleLimits,
};
pub use metrics::ModuleMetrics;
pub use registry::{PublishError, Published, ReleaseSummary};
pub use sandbox::{CallScope, Capabilities};
pub use slots::{SlotLevel, SlotShares};
pub use storage::ModuleData;
pub use towns::{ModuleEnablement, ResolvedModule};
pub use views::{ViewLimits, ViewMeasure, ViewPart};
pub use wit::v0_1::types::{
    Block, Context, DateTime, Field, FieldKind, Manifest, Notice, Outcome, Resident, Slot, Tone,
    Town, Value, View, ViewRequest,
};

use crate::accounts::{Civility, entity::account};
use crate::tenancy::Tenant;
use entity::town_module;

include!(concat!(env!("OUT_DIR"), "/first_party_modules.rs"));

/// A module as one town enabled it.
#[derive(Debug, Clone)]
pub struct EnabledModule {
    pub module_id: String,
    pub config: String,
    pub release: LoadedRelease,
    pub manifest: Arc<Manifest>,
    pub capabilities: Capabilities,
}

/// A release as the host knows it: its hash and its manifest.
type KnownRelease = (LoadedRelease, Arc<Manifest>);

/// What a successful `act` did.
#[derive(Debug)]
pub enum ActOutcome {
    /// Written: the notice (with the references of created requests) and
    /// where to show it.
    Done {
        notice: Notice,
        next: ViewRequest,
        references: Vec<String>,
    },
    /// Refused by the module: the view with the resident's input.
    Invalid(View),
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error(transparent)]
    Call(#[from] CallFailure),
    #[error("cannot record the module's writes: {0}")]
    Write(#[from] storage::StorageError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// The modules service: registry, towns' modules, calls.
#[derive(Debug, Clone)]
pub struct Modules {
    db: DatabaseConnection,
    host: ModuleHost,
    /// Releases by id (hash and manifest).
    releases: Arc<Mutex<HashMap<i32, KnownRelease>>>,
}

impl Modules {
    pub fn new(db: DatabaseConnection, host: ModuleHost) -> Self {
        Self {
            db,
            host,
            releases: Arc::default(),
        }
    }

    pub fn host(&self) -> &ModuleHost {
        &self.host
    }

    pub async fn publish(&self, bytes: &[u8]) -> Result<Published, PublishError> {
        registry::publish(&self.db, &self.host, bytes).await
    }

    pub async fn releases(&self) -> Result<Vec<ReleaseSummary>, DbErr> {
        registry::list(&self.db).await
    }

    /// Replaces a town's enabled modules, in the caller's transaction;
    /// false when they were already exactly these (nothing written).
    pub async fn set_town_modules(
        connection: &impl sea_orm::ConnectionTrait,
        tenant: &Tenant,
        resolved: &[ResolvedModule],
    ) -> Result<bool, DbErr> {
        let current: Vec<(String, i32, String)> = tenant
            .scope()
            .select::<town_module::Entity>()
            .order_by_asc(town_module::Column::Position)
            .all(connection)
            .await?
            .into_iter()
            .map(|row| (row.module_id, row.module_release_id, row.config))
            .collect();
        let wanted: Vec<(String, i32, String)> = resolved
            .iter()
            .map(|module| {
                (
                    module.module_id.clone(),
                    module.release_id,
                    module.config.clone(),
                )
            })
            .collect();
        if current == wanted {
            return Ok(false);
        }
        tenant
            .scope()
            .delete::<town_module::Entity>()
            .exec(connection)
            .await?;
        for (position, module) in (0_i32..).zip(resolved) {
            town_module::ActiveModel {
                tenant_id: Set(tenant.id().get()),
                module_id: Set(module.module_id.clone()),
                requirement: Set(module.requirement.clone()),
                module_release_id: Set(module.release_id),
                config: Set(module.config.clone()),
                position: Set(position),
                ..Default::default()
            }
            .insert(connection)
            .await?;
        }
        Ok(true)
    }

    /// The modules a town enabled, in its `tenant.toml` order.
    pub async fn enabled(&self, tenant: &Tenant) -> Result<Vec<EnabledModule>, DbErr> {
        let rows = tenant
            .scope()
            .select::<town_module::Entity>()
            .order_by_asc(town_module::Column::Position)
            .all(&self.db)
            .await?;
        let mut enabled = Vec::with_capacity(rows.len());
        for row in rows {
            let (release, manifest) = self.release(row.module_release_id).await?;
            enabled.push(EnabledModule {
                module_id: row.module_id,
                config: row.config,
                capabilities: capabilities(&manifest),
                release,
                manifest,
            });
        }
        Ok(enabled)
    }

    /// One module of a town, if the town enabled it.
    pub async fn enabled_module(
        &self,
        tenant: &Tenant,
        module_id: &str,
    ) -> Result<Option<EnabledModule>, DbErr> {
        let Some(row) = tenant
            .scope()
            .select::<town_module::Entity>()
            .filter(town_module::Column::ModuleId.eq(module_id))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let (release, manifest) = self.release(row.module_release_id).await?;
        Ok(Some(EnabledModule {
            module_id: row.module_id,
            config: row.config,
            capabilities: capabilities(&manifest),
            release,
            manifest,
        }))
    }

    /// A release's hash and manifest; releases are immutable, so they are
    /// read once.
    async fn release(&self, release_id: i32) -> Result<KnownRelease, DbErr> {
        let cached = self
            .releases
            .lock()
            .ok()
            .and_then(|releases| releases.get(&release_id).cloned());
        if let Some(release) = cached {
            return Ok(release);
        }
        let summary = registry::summary(&self.db, release_id)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("module release {release_id}")))?;
        let manifest: Manifest = serde_json::from_str(&summary.manifest)
            .map_err(|error| DbErr::Custom(format!("stored manifest: {error}")))?;
        let release = (
            LoadedRelease {
                sha256: summary.sha256,
                module_id: summary.module_id,
                version: summary.version,
            },
            Arc::new(manifest),
        );
        if let Ok(mut releases) = self.releases.lock() {
            releases.insert(release_id, release.clone());
        }
        Ok(release)
    }

    /// Compiles (or loads from the cache) every release some town uses, so
    /// the first resident does not wait for it.
    pub async fn prewarm(&self) -> Result<usize, DbErr> {
        let rows = town_module::Entity::find().all(&self.db).await?;
        let mut warmed = std::collections::BTreeSet::new();
        for row in rows {
            let (release, _) = self.release(row.module_release_id).await?;
            if warmed.insert(release.sha256.clone())
                && let Err(failure) = self.host.prepared(&release).await
            {
                tracing::error!(
                    module = %release.module_id,
                    version = %release.version,
                    "cannot prepare a module: {failure}"
                );
            }
        }
        Ok(warmed.len())
    }

    /// The context and scope of a call for a town and, if any, a resident.
    pub fn call(
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: Option<&account::Model>,
    ) -> (Context, CallScope) {
        let now = chrono::Utc::now()
            .with_timezone(&tenant.timezone)
            .naive_local();
        let context = Context {
            town: Town {
                slug: tenant.slug.clone(),
                name: tenant.display_name.clone(),
            },
            resident: resident.map(|account| Resident {
                display_name: crate::format::formal_name(
                    account.civility.map(Civility::title),
                    &account.first_name,
                    &account.last_name,
                ),
                first_name: account.first_name.clone(),
                last_name: account.last_name.clone(),
            }),
            config: module.config.clone(),
            now: DateTime {
                date: now.format("%Y-%m-%d").to_string(),
                time: now.format("%H:%M").to_string(),
            },
        };
        let scope = CallScope {
            tenant: tenant.clone(),
            module_id: module.module_id.clone(),
            version: module.release.version.clone(),
            capabilities: module.capabilities,
            account_id: resident.map(|account| account.id),
        };
        (context, scope)
    }

    pub async fn render(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: Option<&account::Model>,
        request: &ViewRequest,
    ) -> Result<View, CallFailure> {
        let (context, scope) = Self::call(tenant, module, resident);
        self.host
            .render(&module.release, scope, &context, request)
            .await
    }

    /// Runs an action and, when the module accepts it, writes its storage
    /// changes and requests in one transaction.
    pub async fn act(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: &account::Model,
        action: &str,
        fields: &[(String, String)],
    ) -> Result<ActOutcome, ActError> {
        let (context, scope) = Self::call(tenant, module, Some(resident));
        let result = self
            .host
            .act(&module.release, scope, &context, action, fields)
            .await?;
        let (notice, next) = match result.outcome {
            Outcome::Invalid(view) => return Ok(ActOutcome::Invalid(view)),
            Outcome::Done((notice, next)) => (notice, next),
        };
        let transaction = crate::db::begin_write(&self.db).await?;
        for ((resident_scope, key), value) in &result.writes.data {
            let scope = if *resident_scope {
                storage::DataScope::resident(tenant, &module.module_id, resident.id)
            } else {
                storage::DataScope::town(tenant, &module.module_id)
            };
            storage::write(&transaction, &scope, key, value.as_deref()).await?;
        }
        let mut references = Vec::new();
        for request in &result.writes.requests {
            references.push(
                crate::requests::create(&transaction, tenant.scope(), resident.id, request).await?,
            );
        }
        transaction.commit().await?;
        Ok(ActOutcome::Done {
            notice,
            next,
            references,
        })
    }
}

/// A capability as the WIT interface spells it.
pub fn capability_name(capability: &wit::v0_1::types::Capability) -> &'static str {
    use wit::v0_1::types::Capability;
    match capability {
        Capability::TownStorage => "town-storage",
        Capability::ResidentStorage => "resident-storage",
        Capability::Household => "household",
        Capability::Requests => "requests",
    }
}

fn capabilities(manifest: &Manifest) -> Capabilities {
    use wit::v0_1::types::Capability;
    let mut capabilities = Capabilities::default();
    for capability in &manifest.capabilities {
        match capability {
            Capability::TownStorage => capabilities.town_storage = true,
            Capability::ResidentStorage => capabilities.resident_storage = true,
            Capability::Household => capabilities.household = true,
            Capability::Requests => capabilities.requests = true,
        }
    }
    capabilities
}
