//! Service modules: sandboxed WebAssembly components, written by us or by
//! third parties, enabled per town.
//!
//! Lifecycle: **publish** (`guichet module publish`: the component is
//! compiled, its world checked, its manifest read and stored with its bytes;
//! Guichet's own ids only with the binary's own bytes) → **enable**
//! (`tenant.toml` `[[modules]]`, resolved, validated and pinned at `tenant
//! apply`; moved to a newer release only by `guichet module upgrade`, see
//! [`towns`]; or from the back-office, `/admin/modules`, see [`town_admin`]:
//! what it edits belongs to the database from then on) → **instantiate** (one `InstancePre` per release, shared by
//! every town; a fresh store per call) → **render / act** (the host builds
//! the context; the module answers data the theme renders).
//!
//! Error policy: a module's failure is never the page's. Calls return
//! [`CallFailure`], which the web layer shows as an "indisponible" tile for
//! that module only; it is logged with town, module and version and counted
//! in [`ModuleMetrics`]. An `act` whose writes break the module's storage
//! quota fails whole ([`ActError::Quota`], nothing written), shown the same
//! way. Publication and upgrades are operator commands: [`PublishError`]
//! and [`UpgradeError`] say what to fix in one sentence. Database errors are
//! returned as `DbErr`.

mod cache;
pub mod config_form;
pub mod entity;
mod host;
mod metrics;
pub mod registry;
mod sandbox;
mod slots;
pub mod storage;
pub mod town_admin;
pub mod towns;
mod views;
pub mod wit;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

pub use cache::{ArtifactCache, CacheError};
pub use host::{
    ActResult, CallFailure, HostSetupError, LoadedRelease, MAX_INPUT_BYTES, MAX_OUTPUT_BYTES,
    ModuleHost, ModuleLimits,
};
pub use metrics::{ModuleMetrics, StorageFigure, render_storage};
pub use registry::{PublishError, Published, Publisher, ReleaseSummary};
pub use sandbox::{CallScope, Capabilities};
pub use slots::{SlotLevel, SlotShares};
pub use storage::{
    ModuleData, QuotaExceeded, QuotaScope, StorageLimits, StorageQuota, StorageRefusal,
};
pub use towns::{ModuleEnablement, ReleaseChange, ResolvedModule, StorageSetting, Upgrade};
pub use views::{ViewLimits, ViewMeasure, ViewPart};
pub use wit::v0_1::types::{
    Block, Context, DateTime, Field, FieldKind, Manifest, Notice, Outcome, Resident, Slot, Tone,
    Town, Value, View, ViewRequest,
};

use crate::accounts::{Civility, entity::account};
use crate::tenancy::Tenant;
use entity::{module_resident_usage, module_usage, town_module};

include!(concat!(env!("OUT_DIR"), "/first_party_modules.rs"));

/// A module as one town enabled it.
#[derive(Debug, Clone)]
pub struct EnabledModule {
    pub module_id: String,
    pub config: String,
    pub release: LoadedRelease,
    pub manifest: Arc<Manifest>,
    pub capabilities: Capabilities,
    /// What it may write per call and store in this town.
    pub storage: StorageLimits,
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
    /// The writes would break the module's quota: none was recorded.
    #[error(transparent)]
    Quota(QuotaExceeded),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error("the town `{town}` does not enable the module `{module}` (see its tenant.toml)")]
    NotEnabled { town: String, module: String },
    #[error(
        "the module `{module}` of town `{town}` was changed in the back-office: it belongs to the database now; change its release at /admin/modules"
    )]
    EditedInBackOffice { town: String, module: String },
    #[error("town `{town}`: {message}")]
    Resolve { town: String, message: String },
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// What a module stores in a town, against its quotas (`guichet module
/// usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleStorage {
    pub module_id: String,
    pub bytes: u64,
    pub entries: u64,
    /// Residents who store something.
    pub residents: u64,
    pub largest_resident_bytes: u64,
    pub quota: StorageQuota,
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

    /// Publishes a component from outside (`guichet module publish`): a
    /// first-party id is refused unless the bytes are the binary's own.
    pub async fn publish(&self, bytes: &[u8]) -> Result<Published, PublishError> {
        registry::publish(&self.db, &self.host, bytes, Publisher::ThirdParty).await
    }

    /// Publishes a component as Guichet's own: for the modules built into
    /// the binary (`App::publish_first_party_modules`), and for tests that
    /// stand in for a later binary. Nothing an operator or a module author
    /// reaches calls it.
    pub async fn publish_first_party(&self, bytes: &[u8]) -> Result<Published, PublishError> {
        registry::publish(&self.db, &self.host, bytes, Publisher::Guichet).await
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
        type Row = (String, i32, String, Option<i64>, Option<i64>);
        let kib = |value: Option<u64>| value.map(|kib| i64::try_from(kib).unwrap_or(i64::MAX));
        let current: Vec<Row> = tenant
            .scope()
            .select::<town_module::Entity>()
            .order_by_asc(town_module::Column::Position)
            .all(connection)
            .await?
            .into_iter()
            .map(|row| {
                (
                    row.module_id,
                    row.module_release_id,
                    row.config,
                    row.resident_quota_kib,
                    row.town_quota_kib,
                )
            })
            .collect();
        let wanted: Vec<Row> = resolved
            .iter()
            .map(|module| {
                let storage = module.storage.unwrap_or_default();
                (
                    module.module_id.clone(),
                    module.release_id,
                    module.config.clone(),
                    kib(storage.resident_kib),
                    kib(storage.town_kib),
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
        for ((position, module), row) in (0_i32..).zip(resolved).zip(wanted) {
            town_module::ActiveModel {
                tenant_id: Set(tenant.id().get()),
                module_id: Set(module.module_id.clone()),
                requirement: Set(module.requirement.clone()),
                module_release_id: Set(module.release_id),
                config: Set(module.config.clone()),
                position: Set(position),
                resident_quota_kib: Set(row.3),
                town_quota_kib: Set(row.4),
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
            enabled.push(self.enabled_row(row).await?);
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
        Ok(Some(self.enabled_row(row).await?))
    }

    async fn enabled_row(&self, row: town_module::Model) -> Result<EnabledModule, DbErr> {
        let (release, manifest) = self.release(row.module_release_id).await?;
        Ok(EnabledModule {
            storage: self.storage_limits(&row),
            module_id: row.module_id,
            config: row.config,
            capabilities: capabilities(&manifest),
            release,
            manifest,
        })
    }

    /// The server's limits, with the town's own quotas where it set them.
    fn storage_limits(&self, row: &town_module::Model) -> StorageLimits {
        let kib = |value: Option<i64>| value.and_then(|kib| u64::try_from(kib).ok());
        let setting = StorageSetting {
            resident_kib: kib(row.resident_quota_kib),
            town_kib: kib(row.town_quota_kib),
        };
        let defaults = self.host.limits().storage;
        StorageLimits {
            quota: StorageSetting::quota(Some(&setting), defaults.quota),
            ..defaults
        }
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
            storage: module.storage,
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
        let committed = storage::commit(
            &transaction,
            &storage::DataScope::town(tenant, &module.module_id),
            Some(&storage::DataScope::resident(
                tenant,
                &module.module_id,
                resident.id,
            )),
            &result.writes.data,
            module.storage.quota,
        )
        .await;
        match committed {
            Ok(()) => {}
            // Dropping the transaction rolls back what was written.
            Err(storage::CommitError::Quota(exceeded)) => {
                tracing::warn!(
                    town = %tenant.slug,
                    module = %module.module_id,
                    version = %module.release.version,
                    "module writes refused, nothing written: {exceeded}"
                );
                self.host.metrics().count_refusal(
                    &tenant.slug,
                    &module.module_id,
                    &module.release.version,
                    exceeded.scope.into(),
                );
                return Err(ActError::Quota(exceeded));
            }
            Err(storage::CommitError::Write(error)) => return Err(error.into()),
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

impl Modules {
    /// Moves a town's modules (all, or `only` one) to the newest release
    /// their requirement allows, and tells what changes; `dry_run` writes
    /// nothing. The requirements are the town's as last applied.
    pub async fn upgrade(
        &self,
        tenant: &Tenant,
        only: Option<&str>,
        dry_run: bool,
    ) -> Result<Vec<ReleaseChange>, UpgradeError> {
        let upgrade = match only {
            Some(module) if !towns::enablements(tenant).iter().any(|m| m.id == module) => {
                return Err(UpgradeError::NotEnabled {
                    town: tenant.slug.clone(),
                    module: module.to_owned(),
                });
            }
            Some(module) if town_admin::is_edited(&self.db, tenant, module).await? => {
                return Err(UpgradeError::EditedInBackOffice {
                    town: tenant.slug.clone(),
                    module: module.to_owned(),
                });
            }
            Some(module) => Upgrade::Only(module.to_owned()),
            None => Upgrade::All,
        };
        if dry_run {
            return Ok(self.plan(&self.db, tenant, &upgrade).await?.1);
        }
        let transaction = crate::db::begin_write(&self.db).await?;
        let (resolved, changes) = self.plan(&transaction, tenant, &upgrade).await?;
        if !changes.is_empty() {
            Self::set_town_modules(&transaction, tenant, &resolved).await?;
            transaction.commit().await?;
        }
        Ok(changes)
    }

    /// The newer releases a town could move to (`guichet module upgrade`).
    pub async fn available_upgrades(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<ReleaseChange>, UpgradeError> {
        Ok(self.plan(&self.db, tenant, &Upgrade::All).await?.1)
    }

    async fn plan(
        &self,
        connection: &impl sea_orm::ConnectionTrait,
        tenant: &Tenant,
        upgrade: &Upgrade,
    ) -> Result<(Vec<ResolvedModule>, Vec<ReleaseChange>), UpgradeError> {
        let resolve_error = |message| UpgradeError::Resolve {
            town: tenant.slug.clone(),
            message,
        };
        let releases = registry::summaries().all(connection).await?;
        let pinned = towns::pinned(connection, Some(tenant)).await?;
        let resolved = towns::resolve(towns::enablements(tenant), &releases, &pinned, upgrade)
            .map_err(resolve_error)?;
        // What the back-office edited stays as it is (see town_admin.rs).
        let (resolved, _) = town_admin::keep_edited(
            connection,
            Some(tenant),
            towns::enablements(tenant),
            resolved,
            &releases,
        )
        .await?;
        let changes = towns::changes(&pinned, &resolved, &releases).map_err(resolve_error)?;
        Ok((resolved, changes))
    }

    /// What each module stores in a town, against its quotas.
    pub async fn storage_usage(&self, tenant: &Tenant) -> Result<Vec<ModuleStorage>, DbErr> {
        let scope = tenant.scope();
        let totals = scope
            .select::<module_usage::Entity>()
            .order_by_asc(module_usage::Column::ModuleId)
            .all(&self.db)
            .await?;
        let residents: Vec<(String, i64, Option<i64>)> = scope
            .select::<module_resident_usage::Entity>()
            .filter(module_resident_usage::Column::Entries.gt(0))
            .select_only()
            .column(module_resident_usage::Column::ModuleId)
            .column_as(module_resident_usage::Column::Id.count(), "residents")
            .column_as(module_resident_usage::Column::Bytes.max(), "largest")
            .group_by(module_resident_usage::Column::ModuleId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let towns_modules = scope.select::<town_module::Entity>().all(&self.db).await?;
        let defaults = self.host.limits().storage;
        Ok(totals
            .into_iter()
            .map(|total| {
                let (count, largest) = residents
                    .iter()
                    .find(|(module, _, _)| *module == total.module_id)
                    .map_or((0, 0), |(_, count, largest)| (*count, largest.unwrap_or(0)));
                let quota = towns_modules
                    .iter()
                    .find(|row| row.module_id == total.module_id)
                    .map_or(defaults.quota, |row| self.storage_limits(row).quota);
                ModuleStorage {
                    bytes: non_negative(total.bytes),
                    entries: non_negative(total.entries),
                    residents: non_negative(count),
                    largest_resident_bytes: non_negative(largest),
                    quota,
                    module_id: total.module_id,
                }
            })
            .collect())
    }

    /// What every module stores in every town: a platform-wide view for the
    /// operators' `/metrics`, like the town list. One row per (town,
    /// module) with something stored: nothing per resident, which would
    /// read every resident's counter at each scrape (the largest resident is
    /// in `guichet module usage`, one town at a time).
    pub async fn storage_figures(&self) -> Result<Vec<StorageFigure>, DbErr> {
        use crate::tenancy::entity::tenant;
        let slugs: HashMap<i32, String> = tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .column(tenant::Column::Slug)
            .into_tuple::<(i32, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let totals = module_usage::Entity::find()
            .order_by_asc(module_usage::Column::TenantId)
            .order_by_asc(module_usage::Column::ModuleId)
            .all(&self.db)
            .await?;
        let rows: HashMap<(i32, String), town_module::Model> = town_module::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| ((row.tenant_id, row.module_id.clone()), row))
            .collect();
        let defaults = self.host.limits().storage;
        Ok(totals
            .into_iter()
            .map(|total| {
                let key = (total.tenant_id, total.module_id);
                let quota = rows
                    .get(&key)
                    .map_or(defaults.quota, |row| self.storage_limits(row).quota);
                StorageFigure {
                    town: slugs.get(&key.0).cloned().unwrap_or_default(),
                    bytes: non_negative(total.bytes),
                    entries: non_negative(total.entries),
                    town_quota_bytes: quota.town_bytes,
                    resident_quota_bytes: quota.resident_bytes,
                    module: key.1,
                }
            })
            .collect())
    }
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
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
