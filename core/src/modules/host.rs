//! The wasmtime host: one engine, one linker, one `InstancePre` per published
//! component (shared by every town using it), and a fresh store per call with
//! a CPU budget (the threads' CPU time, looked at each epoch tick: cpu.rs), a
//! memory cap, a wall-clock timeout,
//! bounds on what its answer may hold (text, and the elements of a view:
//! see views.rs) and a slot shared fairly between towns (see slots.rs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use wasmtime::component::{Component, Linker};
use wasmtime::{Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

use super::cache::ArtifactCache;
use super::compat;
use super::cpu::{CpuMeter, Metered};
use super::deadline::Deadlines;
use super::lock::{HeldLocks, LockTable};
use super::metrics::ModuleMetrics;
use super::sandbox::{CallScope, MemoryLimitExceeded, Phase, Sandbox, SandboxShared};
use super::slots::{SlotLevel, SlotOwner, SlotShares, Slots};
use super::storage::{StorageLimits, StorageQuota};
use super::view_cache::Reads;
use super::views::{ViewLimits, ViewPart};
use super::wit::v0_2::types::{
    Context, Document, Event, Manifest, ModuleError, Outcome, View, ViewRequest,
};
use super::wit::{Interface, v0_1, v0_2};
use crate::config::Config;

/// How often the engine's epoch advances: how often a running guest's CPU
/// time is looked at, and how long it holds its thread before yielding.
const EPOCH_TICK: Duration = Duration::from_millis(5);
/// How long a render waits for a free slot before giving up (a tile shows
/// "indisponible" rather than hold the page); an `act` waits
/// [`ModuleLimits::act_wait`]: a resident submitting a form waits rather
/// than loses it.
const SLOT_WAIT: Duration = Duration::from_secs(1);
/// A document reads up to a year of a resident's data (a year of bookings:
/// hundreds of storage reads) and is asked for a few times a year: its call
/// may use this many times a render's CPU budget and wall-clock time.
pub const DOCUMENT_BUDGET_FACTOR: u32 = 5;
/// Size of the text a module may answer (every string of a view, summed);
/// what the view would become once rendered is bounded by [`ViewLimits`].
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// Size of what a call may be given (configuration and form fields).
pub const MAX_INPUT_BYTES: usize = 128 * 1024;

/// The per-call limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleLimits {
    pub memory_bytes: usize,
    pub cpu: Duration,
    pub timeout: Duration,
    /// Calls running at once: in all, per town, per module of a town.
    pub slots: SlotShares,
    /// What one view may hold.
    pub view: ViewLimits,
    /// Writes per `act` call, and the default quotas (a town's `tenant.toml`
    /// may set its own).
    pub storage: StorageLimits,
    /// How long an `act` (resident's or staff's) waits for a free slot.
    pub act_wait: Duration,
    /// Bytes of residents' views kept (view_cache.rs); 0: none.
    pub view_cache_bytes: usize,
}

impl ModuleLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            memory_bytes: config.module_memory_mib as usize * 1024 * 1024,
            cpu: Duration::from_millis(u64::from(config.module_cpu_ms)),
            timeout: Duration::from_millis(u64::from(config.module_timeout_ms)),
            slots: SlotShares::from_percent(
                config.module_concurrency,
                config.module_concurrency_town_percent,
                config.module_concurrency_module_percent,
            ),
            view: ViewLimits::DEFAULT,
            storage: StorageLimits {
                quota: StorageQuota::from_kib(
                    u64::from(config.module_storage_resident_kib),
                    u64::from(config.module_storage_town_kib),
                ),
                ..StorageLimits::default()
            },
            act_wait: Duration::from_millis(u64::from(config.module_act_wait_ms)),
            view_cache_bytes: config.module_view_cache_mib as usize * 1024 * 1024,
        }
    }
}

/// Why a call gave no answer. Every variant shows the tile as
/// "indisponible"; the kind goes to the logs and the metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    #[error("the module exceeded its CPU deadline")]
    CpuDeadline,
    #[error("the module call exceeded its time limit")]
    Timeout,
    #[error("the module exceeded its memory limit")]
    Memory,
    #[error("the module trapped: {0}")]
    Trap(String),
    #[error("the module's answer holds more than {MAX_OUTPUT_BYTES} bytes of text")]
    OutputTooLarge,
    #[error("the module's view holds too many {what}")]
    ViewTooLarge { what: ViewPart },
    #[error("the call's input is larger than {MAX_INPUT_BYTES} bytes")]
    InputTooLarge,
    #[error("every module slot {0} is busy")]
    Busy(SlotLevel),
    #[error("the module cannot be loaded: {0}")]
    Load(String),
    #[error("the module answered an error: {0}")]
    Module(String),
    #[error("no such view or action: {0}")]
    NotFound(String),
}

impl CallFailure {
    /// What happened, in French, with the limit that was hit: what the
    /// preview shows an author in place of "indisponible" (never shown to
    /// residents: it names the host's internals).
    pub fn for_author(&self, limits: &ModuleLimits) -> String {
        let view = &limits.view;
        match self {
            Self::CpuDeadline => format!(
                "Limite atteinte : temps de calcul, {} ms par appel (module_cpu_ms).",
                limits.cpu.as_millis()
            ),
            Self::Timeout => format!(
                "Limite atteinte : durée de l'appel, {} ms appels à l'hôte compris (module_timeout_ms).",
                limits.timeout.as_millis()
            ),
            Self::Memory => format!(
                "Limite atteinte : mémoire, {} Mio par appel (module_memory_mib).",
                limits.memory_bytes / (1024 * 1024)
            ),
            Self::Trap(message) => {
                // Rust compiles a panic to `unreachable`.
                let hint = if message.contains("unreachable") {
                    " (en Rust, une panique : unwrap, expect, indice hors bornes…)"
                } else {
                    ""
                };
                format!("Le module s'est arrêté (trap) : {message}{hint}")
            }
            Self::OutputTooLarge => format!(
                "Limite atteinte : la réponse contient plus de {} Kio de texte.",
                MAX_OUTPUT_BYTES / 1024
            ),
            Self::ViewTooLarge { what } => {
                let (bound, name) = match what {
                    ViewPart::Blocks => (view.blocks, "blocs"),
                    ViewPart::Rows => (view.rows, "lignes (tableaux et listes)"),
                    ViewPart::Cells => (view.cells, "cellules"),
                    ViewPart::Fields => (view.fields, "champs de formulaire"),
                    ViewPart::Choices => (view.choices, "choix de listes"),
                    ViewPart::RenderedBytes => (view.rendered_bytes, "octets une fois affichée"),
                };
                format!("Limite atteinte : la vue dépasse {bound} {name}.")
            }
            Self::InputTooLarge => format!(
                "Limite atteinte : l'entrée de l'appel dépasse {} Kio.",
                MAX_INPUT_BYTES / 1024
            ),
            Self::Busy(level) => {
                format!("Limite atteinte : tous les créneaux d'appel sont occupés ({level}).")
            }
            Self::Load(message) => format!("Le module ne peut pas être chargé : {message}"),
            Self::Module(message) => format!("Le module a répondu une erreur : {message}"),
            Self::NotFound(what) => format!("Le module ne connaît pas « {what} »."),
        }
    }

    /// The metric label of the failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CpuDeadline => "cpu_deadline",
            Self::Timeout => "timeout",
            Self::Memory => "memory",
            Self::Trap(_) => "trap",
            Self::OutputTooLarge => "output_too_large",
            Self::ViewTooLarge { .. } => "view_too_large",
            Self::InputTooLarge => "input_too_large",
            Self::Busy(_) => "busy",
            Self::Load(_) => "load",
            Self::Module(_) => "module_error",
            Self::NotFound(_) => "not_found",
        }
    }
}

/// What a successful `act` left to write, and the locks to release once
/// it is written.
#[derive(Debug)]
pub struct ActResult {
    pub outcome: Outcome,
    pub writes: super::sandbox::PendingWrites,
    /// Held until the writes are committed (in their transaction, on
    /// PostgreSQL): drop it after the commit.
    pub locks: HeldLocks,
}

/// What a successful `handle-event` left to write, and its locks.
#[derive(Debug)]
pub struct EventResult {
    pub writes: super::sandbox::PendingWrites,
    pub locks: HeldLocks,
}

/// The component of a release, as the host runs it.
#[derive(Debug, Clone)]
pub struct LoadedRelease {
    pub sha256: String,
    pub module_id: String,
    pub version: String,
    pub interface: Interface,
}

/// A compiled component, ready to instantiate, by the world it implements.
#[derive(Clone)]
pub enum Prepared {
    V0_1(v0_1::ModulePre<Sandbox>),
    V0_2(v0_2::ModulePre<Sandbox>),
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_tuple("Prepared")
            .field(&self.interface())
            .finish()
    }
}

impl Prepared {
    pub fn interface(&self) -> Interface {
        match self {
            Self::V0_1(_) => Interface::V0_1,
            Self::V0_2(_) => Interface::V0_2,
        }
    }
}

/// Which export a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// `render` / `act`.
    Resident,
    /// `render-staff` / `act-staff` (0.2.0 only).
    Staff,
}

#[derive(Clone)]
pub struct ModuleHost {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<Sandbox>,
    limits: ModuleLimits,
    slots: Arc<Slots>,
    cache: ArtifactCache,
    prepared: Mutex<HashMap<String, Prepared>>,
    /// The calls' wall-clock limits, watched by the epoch thread.
    deadlines: Arc<Deadlines>,
    shared: SandboxShared,
    pooling: bool,
}

impl std::fmt::Debug for ModuleHost {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ModuleHost")
            .field("limits", &self.inner.limits)
            .field("pooling", &self.inner.pooling)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostSetupError {
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    #[error(transparent)]
    Cache(#[from] super::cache::CacheError),
}

impl ModuleHost {
    pub fn new(
        db: DatabaseConnection,
        limits: ModuleLimits,
        cache: ArtifactCache,
    ) -> Result<Self, HostSetupError> {
        let (engine, pooling) = build_engine(&limits)?;
        let mut linker = Linker::new(&engine);
        link_wasi(&mut linker).map_err(|error| HostSetupError::Engine(format!("{error:#}")))?;
        v0_1::Module::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |sandbox| {
            sandbox
        })
        .map_err(|error| HostSetupError::Engine(format!("{error:#}")))?;
        v0_2::Module::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |sandbox| {
            sandbox
        })
        .map_err(|error| HostSetupError::Engine(format!("{error:#}")))?;
        let deadlines = Arc::new(Deadlines::default());
        spawn_epoch_ticker(&engine, &deadlines)?;
        tracing::debug!(
            pooling,
            slots = limits.slots.server,
            town_slots = limits.slots.town,
            module_slots = limits.slots.module,
            memory_bytes = limits.memory_bytes,
            "module host ready"
        );
        let slots = Arc::new(Slots::new(limits.slots));
        let pool_metrics = engine.pooling_allocator_metrics();
        Ok(Self {
            inner: Arc::new(Inner {
                cache: cache.for_engine(&engine),
                engine,
                linker,
                slots: slots.clone(),
                limits,
                prepared: Mutex::new(HashMap::new()),
                deadlines,
                shared: SandboxShared {
                    db,
                    metrics: ModuleMetrics::with_slots(slots, pool_metrics),
                    lock_table: Arc::new(LockTable::default()),
                },
                pooling,
            }),
        })
    }

    pub fn metrics(&self) -> &ModuleMetrics {
        &self.inner.shared.metrics
    }

    /// The module calls of a town running now.
    pub fn town_slots_in_use(&self, tenant: &crate::tenancy::Tenant) -> u32 {
        self.inner.slots.town_in_use(tenant.id().get())
    }

    pub fn limits(&self) -> &ModuleLimits {
        &self.inner.limits
    }

    /// Compiles a component (or loads it from the artifact cache) and checks
    /// that it implements a supported world: 0.2.0 first, then 0.1.0. Used
    /// at publication and on first use of a release.
    pub async fn prepare(&self, sha256: &str, bytes: &[u8]) -> Result<Prepared, String> {
        if let Some(pre) = self.cached(sha256) {
            return Ok(pre);
        }
        let component: Component = self.inner.cache.load_or_compile(sha256, bytes).await?;
        // Named first: a module built for a newer interface also imports
        // functions this host lacks, and "needs imports Guichet does not
        // give" would hide that the versions differ.
        let component_type = component.component_type();
        let versions = Interface::named_in(
            component_type
                .imports(&self.inner.engine)
                .map(|(name, _)| name),
        );
        if let Some(refusal) = versions.iter().rev().find_map(Interface::refusal) {
            return Err(refusal);
        }
        let instance_pre = self.inner.linker.instantiate_pre(&component).map_err(|error| {
            format!("the component needs imports Guichet does not give (supported interfaces: guichet:module@0.2.0 and @0.1.0, WASI 0.2 without files, network or environment): {error:#}")
        })?;
        let pre = match v0_2::ModulePre::new(instance_pre.clone()) {
            Ok(pre) => Prepared::V0_2(pre),
            Err(newest) => Prepared::V0_1(v0_1::ModulePre::new(instance_pre).map_err(|error| {
                format!(
                    "the component exports neither the world guichet:module/module@0.2.0 ({newest:#}) nor guichet:module/module@0.1.0 ({error:#})"
                )
            })?),
        };
        if let Ok(mut prepared) = self.inner.prepared.lock() {
            prepared.insert(sha256.to_owned(), pre.clone());
        }
        Ok(pre)
    }

    fn cached(&self, sha256: &str) -> Option<Prepared> {
        self.inner
            .prepared
            .lock()
            .ok()
            .and_then(|prepared| prepared.get(sha256).cloned())
    }

    /// The prepared component of a release, loading its bytes on first use.
    pub async fn prepared(&self, release: &LoadedRelease) -> Result<Prepared, CallFailure> {
        if let Some(pre) = self.cached(&release.sha256) {
            return Ok(pre);
        }
        let bytes = super::registry::component_bytes(&self.inner.shared.db, &release.sha256)
            .await
            .map_err(|error| CallFailure::Load(error.to_string()))?;
        self.prepare(&release.sha256, &bytes)
            .await
            .map_err(CallFailure::Load)
    }

    /// Reads the manifest of a component being published, as 0.2.0.
    pub async fn describe(&self, pre: &Prepared) -> Result<Manifest, CallFailure> {
        let sandbox = self.sandbox(Phase::Describe, None);
        let (manifest, _) = match pre {
            Prepared::V0_1(pre) => {
                self.run(sandbox, SLOT_WAIT, async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    Ok(compat::manifest(instance.call_describe(&mut *store).await?))
                })
                .await?
            }
            Prepared::V0_2(pre) => {
                self.run(sandbox, SLOT_WAIT, async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    instance.call_describe(&mut *store).await
                })
                .await?
            }
        };
        Ok(manifest)
    }

    /// Instantiates a release in a fresh store, within every limit, and
    /// calls nothing: what each call pays before its export is type-checked
    /// and the guest runs (measured by the `modules` benchmark).
    pub async fn instantiate(&self, pre: &Prepared) -> Result<(), CallFailure> {
        let sandbox = self.sandbox(Phase::Describe, None);
        match pre {
            Prepared::V0_1(pre) => {
                self.run(sandbox, SLOT_WAIT, async |store: &mut Store<Sandbox>| {
                    pre.instantiate_lean(&mut *store).await.map(|_| ())
                })
                .await?
            }
            Prepared::V0_2(pre) => {
                self.run(sandbox, SLOT_WAIT, async |store: &mut Store<Sandbox>| {
                    pre.instantiate_lean(&mut *store).await.map(|_| ())
                })
                .await?
            }
        };
        Ok(())
    }

    /// Renders a view: a resident's (a tile or a page of the module), or a
    /// staff view (`context.staff` set; 0.2.0 modules only).
    pub async fn render(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        request: &ViewRequest,
        audience: Audience,
    ) -> Result<View, CallFailure> {
        self.render_reading(release, scope, context, request, audience)
            .await
            .map(|(view, _)| view)
    }

    /// [`Self::render`], with what the render read through the host.
    pub async fn render_reading(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        request: &ViewRequest,
        audience: Audience,
    ) -> Result<(View, Reads), CallFailure> {
        let started = std::time::Instant::now();
        let outcome = self
            .render_inner(release, scope, context, request, audience)
            .await;
        self.record(release, context, &outcome, started.elapsed());
        outcome
    }

    /// A view reused from the cache: counted as a call whose outcome is
    /// `reused`, so that the calls' figures stay whole.
    pub fn record_reused(&self, release: &LoadedRelease, context: &Context, took: Duration) {
        self.inner.shared.metrics.count(
            &context.town.slug,
            &release.module_id,
            &release.version,
            "reused",
            took,
        );
    }

    async fn render_inner(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        request: &ViewRequest,
        audience: Audience,
    ) -> Result<(View, Reads), CallFailure> {
        check_input(context, request.params.iter())?;
        let pre = self.prepared(release).await?;
        let phase = match audience {
            Audience::Resident => Phase::Render,
            Audience::Staff => Phase::RenderStaff,
        };
        let sandbox = self.sandbox(phase, Some(scope));
        let (answer, sandbox) = match (&pre, audience) {
            (Prepared::V0_1(pre), Audience::Resident) => {
                let context = compat::context(context);
                let request = compat::request(request);
                self.run(sandbox, SLOT_WAIT, async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    Ok(instance
                        .call_render(&mut *store, &context, &request)
                        .await?
                        .map(compat::view)
                        .map_err(compat::error))
                })
                .await?
            }
            (Prepared::V0_1(_), Audience::Staff) => {
                return Err(CallFailure::NotFound(request.view.clone()));
            }
            (Prepared::V0_2(pre), audience) => {
                self.run(sandbox, SLOT_WAIT, async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    match audience {
                        Audience::Resident => {
                            instance.call_render(&mut *store, context, request).await
                        }
                        Audience::Staff => {
                            instance
                                .call_render_staff(&mut *store, context, request)
                                .await
                        }
                    }
                })
                .await?
            }
        };
        let view = answer.map_err(module_failure)?;
        self.inner.limits.view.check(&view, &release.module_id)?;
        Ok((view, sandbox.reads))
    }

    /// Produces one of the module's documents for the resident of the call
    /// (0.2.0 modules only: 0.1.0 declares none). Reads only; the content is
    /// bounded as a view is, before anything lays it out.
    pub async fn document(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        id: &str,
        params: &[(String, String)],
    ) -> Result<Document, CallFailure> {
        let started = std::time::Instant::now();
        let outcome = self
            .document_inner(release, scope, context, id, params)
            .await;
        self.record(release, context, &outcome, started.elapsed());
        outcome
    }

    async fn document_inner(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        id: &str,
        params: &[(String, String)],
    ) -> Result<Document, CallFailure> {
        check_input(context, params.iter())?;
        let pre = self.prepared(release).await?;
        let Prepared::V0_2(pre) = &pre else {
            return Err(CallFailure::NotFound(id.to_owned()));
        };
        let sandbox = self.sandbox(Phase::Document, Some(scope));
        let budget = Budget::scaled(&self.inner, DOCUMENT_BUDGET_FACTOR);
        let (answer, _) = self
            .run_within(
                sandbox,
                SLOT_WAIT,
                budget,
                async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    instance
                        .call_document(&mut *store, context, id, params)
                        .await
                },
            )
            .await?;
        let document = answer.map_err(module_failure)?;
        // The same bounds as a view: a document is blocks too.
        let view = View {
            title: document.title,
            blocks: document.blocks,
        };
        self.inner.limits.view.check(&view, &release.module_id)?;
        Ok(Document {
            title: view.title,
            blocks: view.blocks,
        })
    }

    /// Handles a submitted form (a resident's, or a staff action); the
    /// caller writes [`ActResult::writes`], then drops its locks.
    pub async fn act(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        action: &str,
        fields: &[(String, String)],
        audience: Audience,
    ) -> Result<ActResult, CallFailure> {
        let started = std::time::Instant::now();
        let outcome = self
            .act_inner(release, scope, context, action, fields, audience)
            .await;
        self.record(release, context, &outcome, started.elapsed());
        outcome
    }

    async fn act_inner(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        action: &str,
        fields: &[(String, String)],
        audience: Audience,
    ) -> Result<ActResult, CallFailure> {
        check_input(context, fields.iter())?;
        let pre = self.prepared(release).await?;
        let phase = match audience {
            Audience::Resident => Phase::Act,
            Audience::Staff => Phase::ActStaff,
        };
        let sandbox = self.sandbox(phase, Some(scope));
        let wait = self.inner.limits.act_wait;
        let (answer, sandbox) = match (&pre, audience) {
            (Prepared::V0_1(pre), Audience::Resident) => {
                let context = compat::context(context);
                self.run(sandbox, wait, async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    Ok(instance
                        .call_act(&mut *store, &context, action, fields)
                        .await?
                        .map(compat::outcome)
                        .map_err(compat::error))
                })
                .await?
            }
            (Prepared::V0_1(_), Audience::Staff) => {
                return Err(CallFailure::NotFound(action.to_owned()));
            }
            (Prepared::V0_2(pre), audience) => {
                self.run(sandbox, wait, async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    match audience {
                        Audience::Resident => {
                            instance
                                .call_act(&mut *store, context, action, fields)
                                .await
                        }
                        Audience::Staff => {
                            instance
                                .call_act_staff(&mut *store, context, action, fields)
                                .await
                        }
                    }
                })
                .await?
            }
        };
        let outcome = answer.map_err(module_failure)?;
        match &outcome {
            Outcome::Done(done) => check_output(
                done.notice.text.len()
                    + done.details.iter().map(String::len).sum::<usize>()
                    + done.then.view.len()
                    + params_size(done.then.params.iter()),
            )?,
            Outcome::Invalid(view) => {
                self.inner.limits.view.check(view, &release.module_id)?;
            }
        }
        if let Outcome::Done(done) = &outcome
            && done.details.len() > MAX_DETAILS
        {
            return Err(CallFailure::ViewTooLarge {
                what: ViewPart::Rows,
            });
        }
        Ok(ActResult {
            outcome,
            writes: sandbox.writes,
            locks: sandbox.locks,
        })
    }

    /// Delivers an event to a module (0.2.0 only: 0.1.0 has no events);
    /// what it wrote is returned for the caller to commit, as for `act`.
    /// It waits for a slot as an `act` does: an event is not to be lost
    /// to a busy town.
    pub async fn handle_event(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        event: &Event,
    ) -> Result<EventResult, CallFailure> {
        let started = std::time::Instant::now();
        let outcome = self
            .handle_event_inner(release, scope, context, event)
            .await;
        self.record(release, context, &outcome, started.elapsed());
        outcome
    }

    async fn handle_event_inner(
        &self,
        release: &LoadedRelease,
        scope: CallScope,
        context: &Context,
        event: &Event,
    ) -> Result<EventResult, CallFailure> {
        check_input(context, std::iter::empty())?;
        let pre = self.prepared(release).await?;
        let Prepared::V0_2(pre) = &pre else {
            return Err(CallFailure::NotFound("handle-event".to_owned()));
        };
        let sandbox = self.sandbox(Phase::HandleEvent, Some(scope));
        let (answer, sandbox) = self
            .run(
                sandbox,
                self.inner.limits.act_wait,
                async |store: &mut Store<Sandbox>| {
                    let instance = pre.instantiate_lean(&mut *store).await?;
                    instance
                        .call_handle_event(&mut *store, context, event)
                        .await
                },
            )
            .await?;
        answer.map_err(module_failure)?;
        Ok(EventResult {
            writes: sandbox.writes,
            locks: sandbox.locks,
        })
    }

    fn record<T>(
        &self,
        release: &LoadedRelease,
        context: &Context,
        outcome: &Result<T, CallFailure>,
        took: Duration,
    ) {
        let kind = match outcome {
            Ok(_) => "ok",
            Err(failure) => {
                if !matches!(failure, CallFailure::NotFound(_)) {
                    tracing::warn!(
                        town = %context.town.slug,
                        module = %release.module_id,
                        version = %release.version,
                        failure = failure.kind(),
                        "module call failed: {failure}"
                    );
                }
                failure.kind()
            }
        };
        self.inner.shared.metrics.count(
            &context.town.slug,
            &release.module_id,
            &release.version,
            kind,
            took,
        );
    }

    fn sandbox(&self, phase: Phase, scope: Option<CallScope>) -> Sandbox {
        Sandbox::new(
            &self.inner.shared,
            self.inner.limits.memory_bytes,
            phase,
            scope,
        )
    }

    /// Runs one export in a fresh store, within every limit; `slot_wait` is
    /// how long it may wait for a slot.
    async fn run<T>(
        &self,
        sandbox: Sandbox,
        slot_wait: Duration,
        call: impl AsyncFnOnce(&mut Store<Sandbox>) -> wasmtime::Result<T>,
    ) -> Result<(T, Sandbox), CallFailure> {
        self.run_within(sandbox, slot_wait, Budget::scaled(&self.inner, 1), call)
            .await
    }

    /// [`Self::run`] with a CPU budget and a wall-clock limit of its own.
    async fn run_within<T>(
        &self,
        sandbox: Sandbox,
        slot_wait: Duration,
        budget: Budget,
        call: impl AsyncFnOnce(&mut Store<Sandbox>) -> wasmtime::Result<T>,
    ) -> Result<(T, Sandbox), CallFailure> {
        let owner = sandbox.scope.as_ref().map(|scope| SlotOwner {
            town_id: scope.tenant.id().get(),
            town_slug: &scope.tenant.slug,
            module_id: &scope.module_id,
        });
        let slot = self
            .inner
            .slots
            .acquire(owner, slot_wait)
            .await
            .map_err(CallFailure::Busy)?;
        let clock = sandbox.clock.clone();
        let mut store = Store::new(&self.inner.engine, sandbox);
        store.limiter(|sandbox| &mut sandbox.memory);
        // The CPU budget counts the CPU time of the call's polls, not wall
        // time nor ticks: time spent waiting (for the database, for a core,
        // for its turn on the executor, for a lock) is not charged (cpu.rs).
        // At each epoch tick the guest is interrupted past its budget, or
        // yields once it has held its thread for a tick.
        let Budget { cpu, timeout } = budget;
        let meter = CpuMeter::new(cpu, EPOCH_TICK);
        let _charge = CpuCharge {
            metrics: &self.inner.shared.metrics,
            owner: store
                .data()
                .scope
                .as_ref()
                .map(|scope| (scope.tenant.clone(), scope.module_id.clone())),
            meter: meter.clone(),
        };
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback({
            let meter = meter.clone();
            move |_| Ok(meter.at_tick())
        });
        // The wall-clock limit, minus the time spent waiting for locks
        // (bounded on its own: lock.rs), watched by the epoch thread rather
        // than a timer of the runtime's (deadline.rs).
        let started = std::time::Instant::now();
        let answer = {
            let running = call(&mut store);
            tokio::pin!(running);
            let mut running = Metered::new(running, meter);
            loop {
                let (waited, waiting) = clock.waited();
                let deadline = started + timeout + waited;
                let now = std::time::Instant::now();
                if !waiting && now >= deadline {
                    return Err(CallFailure::Timeout);
                }
                // While a lock is awaited, look again a little later.
                let next = if waiting {
                    now + timeout.min(Duration::from_millis(100))
                } else {
                    deadline
                };
                tokio::select! {
                    answer = &mut running => break answer,
                    () = self.inner.deadlines.sleep_until(next) => {}
                }
            }
        }
        .map_err(classify)?;
        // The slot is given back once the store (and its pooled instance)
        // is gone, before the caller checks and renders the answer: the
        // host's own work holds no module capacity.
        let sandbox = store.into_data();
        drop(slot);
        Ok((answer, sandbox))
    }
}

/// Charges a call's CPU time to its town and module when the call ends,
/// however it ends: answered, failed, timed out, or dropped with the
/// request that awaited it.
struct CpuCharge<'a> {
    metrics: &'a ModuleMetrics,
    /// None for calls of no town (a release's manifest read at publication).
    owner: Option<(Arc<crate::tenancy::Tenant>, String)>,
    meter: Arc<CpuMeter>,
}

impl Drop for CpuCharge<'_> {
    fn drop(&mut self) {
        if let Some((town, module)) = &self.owner {
            self.metrics
                .charge_cpu(&town.slug, module, self.meter.spent());
        }
    }
}

/// What one call may spend: CPU time, and wall-clock time.
#[derive(Debug, Clone, Copy)]
struct Budget {
    cpu: Duration,
    timeout: Duration,
}

impl Budget {
    /// The configured limits, `factor` times.
    fn scaled(inner: &Inner, factor: u32) -> Self {
        Self {
            cpu: inner.limits.cpu.saturating_mul(factor),
            timeout: inner.limits.timeout.saturating_mul(factor),
        }
    }
}

/// Items of a `done` outcome's details, at most.
const MAX_DETAILS: usize = 200;

fn classify(error: wasmtime::Error) -> CallFailure {
    if error.downcast_ref::<MemoryLimitExceeded>().is_some() {
        return CallFailure::Memory;
    }
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return CallFailure::CpuDeadline;
    }
    // A trap says what stopped the guest ("wasm `unreachable` instruction
    // executed": a panic); its backtrace of unnamed addresses says
    // nothing and would push that out of the 500 characters kept.
    let message: String = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    CallFailure::Trap(message.chars().take(500).collect())
}

fn module_failure(error: ModuleError) -> CallFailure {
    match error {
        ModuleError::NotFound(what) => CallFailure::NotFound(what),
        ModuleError::InvalidConfig(message) => {
            CallFailure::Module(format!("invalid configuration: {message}"))
        }
        ModuleError::Failed(message) => CallFailure::Module(message),
    }
}

fn params_size<'a>(params: impl Iterator<Item = &'a (String, String)>) -> usize {
    params.map(|(key, value)| key.len() + value.len()).sum()
}

fn check_input<'a>(
    context: &Context,
    params: impl Iterator<Item = &'a (String, String)>,
) -> Result<(), CallFailure> {
    if context.config.len() + params_size(params) > MAX_INPUT_BYTES {
        return Err(CallFailure::InputTooLarge);
    }
    Ok(())
}

fn check_output(size: usize) -> Result<(), CallFailure> {
    if size > MAX_OUTPUT_BYTES {
        return Err(CallFailure::OutputTooLarge);
    }
    Ok(())
}

/// What a pooled memory keeps resident between calls, at most (what the
/// guest dirtied past this goes back to the kernel). The pool holds
/// `2 × module_concurrency` memories, so at most twice as many MiB stay
/// resident, whichever modules ran last.
const KEEP_RESIDENT_BYTES: usize = 1024 * 1024;

/// The same for a table: more than a table's slot in the pool (some 160
/// KiB), so a table is reset in place whole.
const TABLE_KEEP_RESIDENT_BYTES: usize = 256 * 1024;

/// The engine: the pooling allocator when the address space allows it,
/// on-demand allocation otherwise (with a warning).
fn build_engine(limits: &ModuleLimits) -> Result<(Engine, bool), HostSetupError> {
    let mut config = wasmtime::Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(1024 * 1024)
        .async_stack_size(2 * 1024 * 1024)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Every running call holds a server slot: the pool never needs more.
    let slots = limits.slots.server;
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        .max_memories_per_component(2)
        .max_memory_size(limits.memory_bytes);
    // A slot given back keeps the pages its guest wrote, reset to the
    // component's initial image in place (the PAGEMAP_SCAN ioctl finds
    // which), instead of handing them back to the kernel: the next call of
    // the same module in the slot (wasmtime gives a module the slot it used
    // last when one is free) takes no page faults, and the reset costs only
    // what the guest dirtied. Without the ioctl (Linux before 6.7) a reset
    // would copy the first bytes blindly, whatever was written: pages go
    // back to the kernel as before.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pooling
            .pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
    }
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    match Engine::new(&config) {
        Ok(engine) => Ok((engine, true)),
        Err(error) => {
            tracing::warn!(
                "the pooling allocator cannot reserve its address space ({error:#}); \
                 module instances are allocated on demand instead"
            );
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
                .map(|engine| (engine, false))
                .map_err(|error| HostSetupError::Engine(format!("{error:#}")))
        }
    }
}

/// Advances the engine's epoch and wakes the calls past their wall-clock
/// limit, every tick, for as long as the engine lives. Without it no limit
/// would hold: the host does not start.
fn spawn_epoch_ticker(engine: &Engine, deadlines: &Arc<Deadlines>) -> Result<(), HostSetupError> {
    let weak = engine.weak();
    let deadlines = deadlines.clone();
    std::thread::Builder::new()
        .name("guichet-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                // A waker is the executor's code: should one panic, the
                // thread goes on, or no limit would hold from then on.
                let woken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    deadlines.wake_due(std::time::Instant::now());
                }));
                if woken.is_err() {
                    tracing::error!("waking the module calls past their deadline panicked");
                }
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
        .map_err(|error| {
            HostSetupError::Engine(format!("cannot start the module deadline thread: {error}"))
        })
}

/// The WASI 0.2 interfaces a Rust `wasm32-wasip2` guest may import (std
/// links streams, stdio, environment and exit; clocks, random and the file
/// system come with their std APIs), backed by an empty context (see
/// [`Sandbox::new`]). Sockets and name lookup are not linked at all: a
/// component importing them is refused at publication.
fn link_wasi(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, io, random};
    use wasmtime_wasi::random::WasiRandom;

    let l = linker;
    io::error::add_to_linker::<Sandbox, IoTable>(l, Sandbox::io_table)?;
    io::poll::add_to_linker::<Sandbox, IoTable>(l, Sandbox::io_table)?;
    io::streams::add_to_linker::<Sandbox, IoTable>(l, Sandbox::io_table)?;
    cli::environment::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::exit::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::stdin::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::stdout::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::stderr::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::terminal_input::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::terminal_output::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::terminal_stdin::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::terminal_stdout::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    cli::terminal_stderr::add_to_linker::<Sandbox, WasiCli>(l, Sandbox::cli)?;
    clocks::wall_clock::add_to_linker::<Sandbox, WasiClocks>(l, Sandbox::clocks)?;
    clocks::monotonic_clock::add_to_linker::<Sandbox, WasiClocks>(l, Sandbox::clocks)?;
    random::random::add_to_linker::<Sandbox, WasiRandom>(l, Sandbox::random)?;
    random::insecure::add_to_linker::<Sandbox, WasiRandom>(l, Sandbox::random)?;
    random::insecure_seed::add_to_linker::<Sandbox, WasiRandom>(l, Sandbox::random)?;
    filesystem::types::add_to_linker::<Sandbox, WasiFilesystem>(l, Sandbox::filesystem)?;
    filesystem::preopens::add_to_linker::<Sandbox, WasiFilesystem>(l, Sandbox::filesystem)?;
    Ok(())
}

/// The resource table, as the `wasi:io` host functions see the store.
struct IoTable;

impl wasmtime::component::HasData for IoTable {
    type Data<'a> = &'a mut wasmtime::component::ResourceTable;
}
