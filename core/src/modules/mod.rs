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
mod compat;
pub mod config_form;
mod cpu;
mod deadline;
pub mod entity;
mod host;
pub mod lock;
mod metrics;
pub mod minisign;
mod notify;
pub mod personal_data;
pub mod registry;
mod sandbox;
mod slots;
pub mod storage;
pub mod town_admin;
pub mod towns;
pub mod trust;
mod view_cache;
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
    ActResult, Audience, CallFailure, EventResult, HostSetupError, LoadedRelease, MAX_INPUT_BYTES,
    MAX_OUTPUT_BYTES, ModuleHost, ModuleLimits, Prepared,
};
pub use metrics::{ModuleMetrics, StorageFigure};
pub use registry::{PublishError, Published, Publisher, ReleaseSummary};
pub use sandbox::{CallScope, Capabilities, PendingNotification};
pub use slots::{SlotLevel, SlotShares};
pub use storage::{
    DataScope, ModuleData, QuotaExceeded, QuotaScope, StorageLimits, StorageQuota, StorageRefusal,
};
pub use towns::{ModuleEnablement, ReleaseChange, ResolvedModule, StorageSetting, Upgrade};
pub use views::{ViewLimits, ViewMeasure, ViewPart};
pub use wit::Interface;
pub use wit::v0_2::types::{
    Block, Capability, Choice, Context, DateTime, Document, DocumentDeclaration, Done, Event,
    Field, FieldGroup, FieldKind, Form, KeyValue, Manifest, Notice, Outcome, Payable, Payment,
    Resident, Slot, StaffActionDeclaration, StaffMember, StaffRole as DeclaredRole,
    StaffViewDeclaration, Tone, Town, Value, View, ViewRequest,
};

use crate::accounts::{Civility, entity::account};
use crate::tenancy::Tenant;
use crate::versions::{Memo, Stamp, Subject};
use entity::{module_resident_usage, module_usage, town_module};
use view_cache::{Lookup, ViewCache};

/// A module built into the binary, signed at build time with Guichet's key
/// (`core/build.rs`; its public half is [`trust::guichet_key`]).
#[derive(Debug)]
pub struct FirstPartyModule {
    pub id: &'static str,
    pub bytes: &'static [u8],
    /// The minisign signature file of `bytes`.
    pub signature: &'static str,
}

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

/// A town's enabled modules, with the counter they were read under.
type KeptModules = (i64, Arc<[EnabledModule]>);

/// What a successful `act` did.
#[derive(Debug)]
pub enum ActOutcome {
    /// Written: the notice (with the references of created requests), what
    /// was done item by item, and where to show it.
    Done {
        notice: Notice,
        details: Vec<String>,
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
    /// The call's lock transaction cannot commit: nothing was recorded.
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("cannot queue the module's notifications: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// The caller's seal refused to commit (what the call answered was
    /// recorded by another instance meanwhile): nothing was written.
    #[error("the call's writes were superseded: nothing was written")]
    Superseded,
}

/// What a caller writes in the transaction of a call's writes, last
/// before the commit; `false` rolls everything back
/// ([`ActError::Superseded`]). The payments mark an event delivered in it,
/// so that the module's writes and the delivery are one.
pub type Seal = Box<
    dyn for<'t> FnOnce(
            &'t sea_orm::DatabaseTransaction,
        )
            -> std::pin::Pin<Box<dyn Future<Output = Result<bool, DbErr>> + Send + 't>>
        + Send,
>;

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
    /// Composes the modules' notifications (`notify`).
    mailer: crate::mail::Mailer,
    /// Releases by id (hash and manifest).
    releases: Arc<Mutex<HashMap<i32, KnownRelease>>>,
    /// `guichet module preview`: pages say what a failed call hit.
    failures_shown: bool,
    /// Each town's enabled modules, with the town's modules counter.
    enabled: Arc<Memo<i32, KeptModules>>,
    /// Residents' views reused while nothing they read changed.
    views: Arc<ViewCache>,
}

impl Modules {
    pub fn new(db: DatabaseConnection, host: ModuleHost, mailer: crate::mail::Mailer) -> Self {
        Self {
            db,
            mailer,
            releases: Arc::default(),
            failures_shown: false,
            enabled: Arc::new(Memo::new(crate::versions::TOWNS_MEMO_ENTRIES)),
            views: Arc::new(ViewCache::new(host.limits().view_cache_bytes)),
            host,
        }
    }

    /// Pages will say what a failed call hit ([`Modules::failure_for_author`]):
    /// for the author's preview only.
    #[must_use]
    pub fn showing_failures(mut self) -> Self {
        self.failures_shown = true;
        self
    }

    /// What a failed call hit, for the page — only in the author's
    /// preview; residents read "indisponible" and nothing of the host.
    pub fn failure_for_author(&self, failure: &CallFailure) -> Option<String> {
        self.failures_shown
            .then(|| failure.for_author(self.host.limits()))
    }

    /// The same, for a submitted form: a quota broken by the call's writes
    /// is a limit too.
    pub fn act_failure_for_author(&self, error: &ActError) -> Option<String> {
        match error {
            ActError::Call(failure) => self.failure_for_author(failure),
            ActError::Quota(quota) => self
                .failures_shown
                .then(|| format!("Limite atteinte : quota de stockage ({quota}).")),
            other => self
                .failures_shown
                .then(|| format!("L'appel n'a rien enregistré : {other}")),
        }
    }

    pub fn host(&self) -> &ModuleHost {
        &self.host
    }

    /// Publishes a component from outside (`guichet module publish`): its
    /// signature file (if any) judged by the keys the operator trusts
    /// ([`trust`]), then the component checked and stored under the id's
    /// rule ([`registry`]).
    pub async fn publish_signed(
        &self,
        bytes: &[u8],
        signature: Option<&str>,
        trust: &trust::PublisherTrust,
    ) -> Result<Published, PublishError> {
        // The binary's own bytes are Guichet's, whatever signs them.
        let provenance = if registry::is_built_in(&registry::sha256_hex(bytes)) {
            trust::Provenance::Guichet
        } else {
            trust.judge(bytes, signature)?
        };
        registry::publish(&self.db, &self.host, bytes, &provenance).await
    }

    /// Publishes a component as an unsigned release: what
    /// [`Modules::publish_signed`] does where the operator allows unsigned
    /// modules (tests, which stand for such an operator).
    pub async fn publish(&self, bytes: &[u8]) -> Result<Published, PublishError> {
        registry::publish(&self.db, &self.host, bytes, &trust::Provenance::Unsigned).await
    }

    /// Publishes a component as Guichet's own: for the modules built into
    /// the binary (`App::publish_first_party_modules`), and for tests that
    /// stand in for a later binary. Nothing an operator or a module author
    /// reaches calls it.
    pub async fn publish_first_party(&self, bytes: &[u8]) -> Result<Published, PublishError> {
        registry::publish(&self.db, &self.host, bytes, &trust::Provenance::Guichet).await
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

    /// [`Self::enabled`], reused while the town's modules counter in
    /// `stamp` has not moved (a module enabled, removed, reordered,
    /// configured, upgraded — on any instance).
    pub async fn enabled_at(
        &self,
        tenant: &Tenant,
        stamp: &Stamp,
    ) -> Result<Arc<[EnabledModule]>, DbErr> {
        self.enabled
            .get_or_read(tenant.id().get(), stamp.town(Subject::TownModules), async {
                Ok(self.enabled(tenant).await?.into())
            })
            .await
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
        let mut storage = self.storage_limits(&row);
        if release.interface >= Interface::V0_2 {
            storage.town_entries = storage::MAX_ENTRIES_PER_TOWN_SCOPE;
        }
        Ok(EnabledModule {
            storage,
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
        let manifest = summary.manifest().map_err(DbErr::Custom)?;
        let interface = summary.interface().map_err(DbErr::Custom)?;
        let release = (
            LoadedRelease {
                sha256: summary.sha256,
                module_id: summary.module_id,
                version: summary.version,
                interface,
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
        Self::call_as(tenant, module, resident, None)
    }

    /// The context and scope of a staff call: `context.staff` set, no
    /// resident.
    pub fn staff_call(
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        staff: &crate::staff::entity::staff_member::Model,
    ) -> (Context, CallScope) {
        let member = StaffMember {
            display_name: staff.display_name(),
            role: declared_role(staff.role),
        };
        Self::call_as(tenant, module, None, Some(member))
    }

    fn call_as(
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: Option<&account::Model>,
        staff: Option<StaffMember>,
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
                reference: resident_reference(account),
                display_name: crate::format::formal_name(
                    account.civility.map(Civility::title),
                    &account.first_name,
                    &account.last_name,
                ),
                first_name: account.first_name.clone(),
                last_name: account.last_name.clone(),
            }),
            staff,
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
            capabilities: module.capabilities.clone(),
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
            .render(
                &module.release,
                scope,
                &context,
                request,
                Audience::Resident,
            )
            .await
    }

    /// [`Self::render`] for a resident, the view reused while nothing it
    /// read has changed since `stamp`'s counters (view_cache.rs). `stamp`
    /// must have been read in this request before anything it wrote: a
    /// handler that writes renders with [`Self::render`].
    pub async fn render_at(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: &account::Model,
        request: &ViewRequest,
        stamp: &Stamp,
    ) -> Result<Arc<View>, CallFailure> {
        let started = std::time::Instant::now();
        let (context, scope) = Self::call(tenant, module, Some(resident));
        let lookup = Lookup {
            tenant_id: tenant.id().get(),
            account_id: Some(resident.id),
            module_id: &module.module_id,
            sha256: &module.release.sha256,
            context: &context,
            request,
        };
        let keeps = ViewCache::keeps(request);
        if let Some(view) = keeps.then(|| self.views.get(&lookup, stamp)).flatten() {
            self.host
                .record_reused(&module.release, &context, started.elapsed());
            return Ok(view);
        }
        let (view, reads) = self
            .host
            .render_reading(
                &module.release,
                scope,
                &context,
                request,
                Audience::Resident,
            )
            .await?;
        let view = Arc::new(view);
        if keeps {
            self.views.put(&lookup, stamp, reads, view.clone());
        }
        Ok(view)
    }

    /// Renders one of the module's staff views for a member of the town's
    /// staff. [`CallFailure::NotFound`] when the manifest declares no such
    /// view; the caller checks the member's role first
    /// ([`EnabledModule::staff_view`]).
    pub async fn render_staff(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        staff: &crate::staff::entity::staff_member::Model,
        request: &ViewRequest,
    ) -> Result<View, CallFailure> {
        if module.staff_view(&request.view).is_none() {
            return Err(CallFailure::NotFound(request.view.clone()));
        }
        let (context, scope) = Self::staff_call(tenant, module, staff);
        self.host
            .render(&module.release, scope, &context, request, Audience::Staff)
            .await
    }

    /// Produces one of the module's documents for a resident (the caller
    /// checked the parameters against the declaration:
    /// [`EnabledModule::document`]). [`CallFailure::NotFound`] carries the
    /// module's sentence when it has nothing to certify.
    pub async fn document(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: &account::Model,
        id: &str,
        params: &[(String, String)],
    ) -> Result<Document, CallFailure> {
        if module.document(id).is_none() {
            return Err(CallFailure::NotFound(id.to_owned()));
        }
        let (context, scope) = Self::call(tenant, module, Some(resident));
        self.host
            .document(&module.release, scope, &context, id, params)
            .await
    }

    /// Runs an action and, when the module accepts it, writes its storage
    /// changes, requests and notifications in one transaction (the call's
    /// lock transaction, if its locks opened one), then releases its locks.
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
            .act(
                &module.release,
                scope,
                &context,
                action,
                fields,
                Audience::Resident,
            )
            .await?;
        self.commit(tenant, module, Some(resident), result, None)
            .await
    }

    /// Delivers an event to a module for a resident (a payment they made)
    /// and writes what it wrote, its notifications included, in one
    /// transaction that `seal` ends (see [`Seal`]).
    pub async fn handle_event(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: &account::Model,
        event: &Event,
        seal: Seal,
    ) -> Result<(), ActError> {
        let (context, scope) = Self::call(tenant, module, Some(resident));
        let EventResult { writes, locks } = self
            .host
            .handle_event(&module.release, scope, &context, event)
            .await?;
        self.write(
            tenant,
            module,
            Some(resident),
            writes,
            locks,
            None,
            Some(seal),
        )
        .await?;
        Ok(())
    }

    /// Runs one of the module's staff actions for a member of the town's
    /// staff (the caller checked the member's role:
    /// [`EnabledModule::staff_action`]); what it writes is journaled as the
    /// member's, in the same transaction.
    pub async fn act_staff(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        staff: &crate::staff::entity::staff_member::Model,
        action: &str,
        fields: &[(String, String)],
        origin: &crate::audit::Origin,
    ) -> Result<ActOutcome, ActError> {
        if module.staff_action(action).is_none() {
            return Err(CallFailure::NotFound(action.to_owned()).into());
        }
        let (context, scope) = Self::staff_call(tenant, module, staff);
        let result = self
            .host
            .act(
                &module.release,
                scope,
                &context,
                action,
                fields,
                Audience::Staff,
            )
            .await?;
        let label = module
            .staff_action(action)
            .map_or_else(|| action.to_owned(), |declared| declared.label.clone());
        let journal = StaffJournal {
            actor: crate::staff::actor(staff),
            origin: origin.clone(),
            action: action.to_owned(),
            label,
        };
        self.commit(tenant, module, None, result, Some(journal))
            .await
    }

    async fn commit(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: Option<&account::Model>,
        result: ActResult,
        journal: Option<StaffJournal>,
    ) -> Result<ActOutcome, ActError> {
        let ActResult {
            outcome,
            writes,
            locks,
        } = result;
        let done = match outcome {
            // Nothing is written: dropping the locks rolls their
            // transaction back.
            Outcome::Invalid(view) => return Ok(ActOutcome::Invalid(view)),
            Outcome::Done(done) => done,
        };
        let references = self
            .write(tenant, module, resident, writes, locks, journal, None)
            .await?;
        Ok(ActOutcome::Done {
            notice: done.notice,
            details: done.details,
            next: done.then,
            references,
        })
    }

    /// Writes what a call left (storage, requests, notifications, the
    /// staff's journal entry, the caller's seal) in one transaction — the
    /// call's lock transaction if its locks opened one — then releases its
    /// locks; the references of the requests created.
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        resident: Option<&account::Model>,
        writes: sandbox::PendingWrites,
        mut locks: lock::HeldLocks,
        journal: Option<StaffJournal>,
        seal: Option<Seal>,
    ) -> Result<Vec<String>, ActError> {
        let account_id = resident.map(|resident| resident.id);
        let transaction = match locks.take_transaction()? {
            Some(transaction) => transaction,
            None => crate::db::begin_write(&self.db).await?,
        };
        let town_scope = DataScope::town(tenant, &module.module_id)
            .with_max_entries(module.storage.town_entries);
        let resident_scope =
            account_id.map(|account_id| DataScope::resident(tenant, &module.module_id, account_id));
        let committed = storage::commit(
            &transaction,
            &town_scope,
            resident_scope.as_ref(),
            &writes.data,
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
        if let Some(account_id) = account_id {
            for request in &writes.requests {
                references.push(
                    crate::requests::create(&transaction, tenant.scope(), account_id, request)
                        .await?,
                );
            }
        }
        let mails = notify::queue(
            &self.mailer,
            &transaction,
            tenant,
            module,
            resident,
            &writes.notifications,
        )
        .await?;
        if let Some(journal) = journal
            && (!writes.data.is_empty() || !writes.notifications.is_empty())
        {
            crate::audit::record_event(
                &transaction,
                tenant.scope(),
                crate::audit::Event {
                    kind: crate::audit::AuditKind::ModuleStaffAction,
                    actor: journal.actor,
                    subject: None,
                    origin: &journal.origin,
                    detail: Some(format!(
                        "{} : {} ({})",
                        module.manifest.name, journal.label, journal.action
                    )),
                },
            )
            .await?;
        }
        if let Some(seal) = seal
            && !seal(&transaction).await?
        {
            // Dropping the transaction rolls back what was written.
            return Err(ActError::Superseded);
        }
        transaction.commit().await?;
        // Committed: the next call waiting for one of these keys reads what
        // this one wrote.
        drop(locks);
        if mails > 0 {
            self.mailer.wake();
        }
        Ok(references)
    }
}

/// Who to journal a staff action for.
#[derive(Debug)]
struct StaffJournal {
    actor: crate::audit::Actor,
    origin: crate::audit::Origin,
    action: String,
    label: String,
}

/// The parameter of a tile's rendering on "Mon accueil" (the interface's
/// `view-request` says so): the module answers a summary, its page the
/// full view.
pub const TILE_PARAM: (&str, &str) = ("affichage", "tuile");

/// `/services/<module>/<view>?<params>` (a resident's view), when both
/// names are plain: a module's links only ever reach its own views.
pub fn view_path(module_id: &str, view: &str, params: &[(String, String)]) -> Option<String> {
    prefixed_view_path("/services", module_id, view, params)
}

/// `/admin/services/<module>/<view>?<params>`: a staff view.
pub fn staff_view_path(module_id: &str, view: &str, params: &[(String, String)]) -> Option<String> {
    prefixed_view_path("/admin/services", module_id, view, params)
}

fn prefixed_view_path(
    base: &str,
    module_id: &str,
    view: &str,
    params: &[(String, String)],
) -> Option<String> {
    if !registry::is_valid_module_id(module_id) || !registry::is_valid_module_id(view) {
        return None;
    }
    let mut href = format!("{base}/{module_id}/{view}");
    if !params.is_empty() {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        href.push('?');
        href.push_str(&query);
    }
    Some(href)
}

/// What a module knows a resident by (`resident.reference`): the account's
/// public identifier, the one the data API names residents by — stable,
/// unique in the town, never the e-mail address.
pub fn resident_reference(account: &account::Model) -> String {
    account.identifier.clone()
}

/// The WIT's staff role of a member's role.
pub fn declared_role(role: crate::staff::StaffRole) -> DeclaredRole {
    match role {
        crate::staff::StaffRole::Agent => DeclaredRole::Agent,
        crate::staff::StaffRole::Gestionnaire => DeclaredRole::Gestionnaire,
        crate::staff::StaffRole::Administrateur => DeclaredRole::Administrateur,
    }
}

/// The least role a module declared for a staff view or action.
pub fn least_role(role: DeclaredRole) -> crate::staff::StaffRole {
    match role {
        DeclaredRole::Agent => crate::staff::StaffRole::Agent,
        DeclaredRole::Gestionnaire => crate::staff::StaffRole::Gestionnaire,
        DeclaredRole::Administrateur => crate::staff::StaffRole::Administrateur,
    }
}

impl EnabledModule {
    /// A document the manifest declares.
    pub fn document(&self, id: &str) -> Option<&DocumentDeclaration> {
        self.manifest
            .documents
            .iter()
            .find(|document| document.id == id)
    }

    /// A staff view the manifest declares.
    pub fn staff_view(&self, id: &str) -> Option<&StaffViewDeclaration> {
        self.manifest.staff_views.iter().find(|view| view.id == id)
    }

    /// A staff action the manifest declares.
    pub fn staff_action(&self, id: &str) -> Option<&StaffActionDeclaration> {
        self.manifest
            .staff_actions
            .iter()
            .find(|action| action.id == id)
    }

    /// Whether a member of the staff with `role` may use a view or action
    /// declared for `least`.
    pub fn staff_may(role: crate::staff::StaffRole, least: DeclaredRole) -> bool {
        role >= least_role(least)
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

/// A capability as the WIT interface spells it, e.g. "resident-storage",
/// "module-config(tariffs)".
pub fn capability_name(capability: &Capability) -> String {
    match capability {
        Capability::TownStorage => "town-storage".to_owned(),
        Capability::ResidentStorage => "resident-storage".to_owned(),
        Capability::Household => "household".to_owned(),
        Capability::Requests => "requests".to_owned(),
        Capability::Notifications => "notifications".to_owned(),
        Capability::ModuleConfig(module) => format!("module-config({module})"),
    }
}

fn capabilities(manifest: &Manifest) -> Capabilities {
    let mut capabilities = Capabilities::default();
    for capability in &manifest.capabilities {
        match capability {
            Capability::TownStorage => capabilities.town_storage = true,
            Capability::ResidentStorage => capabilities.resident_storage = true,
            Capability::Household => capabilities.household = true,
            Capability::Requests => capabilities.requests = true,
            Capability::Notifications => capabilities.notifications = true,
            Capability::ModuleConfig(module) => capabilities.module_configs.push(module.clone()),
        }
    }
    capabilities
}
