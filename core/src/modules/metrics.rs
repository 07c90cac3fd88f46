//! Module calls by town, module, version and outcome, with their
//! durations; the CPU time they spent, by town and module; refused storage
//! writes; the call slots in use by town; and
//! what each module stores in each town against its quotas
//! ([`StorageFigure`], read from the database when scraped); and the
//! pooling allocator's instances and the memory its idle linear memories
//! and tables keep resident (read from wasmtime when scraped). Families of
//! the `prometheus-client` crate, registered in the server's registry
//! (`crate::metrics`), served at `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use wasmtime::PoolingAllocatorMetrics;

use super::slots::Slots;
use super::storage::StorageRefusal;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    town: String,
    module: String,
    version: String,
    outcome: &'static str,
}

/// Durations are by module, version and outcome, not by town: a thousand
/// towns would make a thousand histograms of each.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    module: String,
    version: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    town: String,
    module: String,
    version: String,
    reason: &'static str,
}

/// `scope` ("server", "town", "module"), and `town` where it has one: a
/// list rather than a struct, so that the server's line has no empty
/// `town` label.
type SlotLabels = Vec<(&'static str, String)>;

fn slot_labels(scope: &'static str, town: Option<String>) -> SlotLabels {
    let mut labels = vec![("scope", scope.to_owned())];
    labels.extend(town.map(|town| ("town", town)));
    labels
}

/// A town and a module: what it stores there, its quotas, its CPU time.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TownModuleLabels {
    town: String,
    module: String,
}

/// A refusal's key among the totals, apart from the calls' outcomes.
fn refusal_key(refusal: StorageRefusal) -> &'static str {
    match refusal {
        StorageRefusal::WritesPerCall => "refusal/writes_per_call",
        StorageRefusal::BytesPerCall => "refusal/bytes_per_call",
        StorageRefusal::ResidentQuota => "refusal/resident_quota",
        StorageRefusal::TownQuota => "refusal/town_quota",
    }
}

/// What idle pool slots keep resident: `kind` is "memories" or "tables".
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    kind: &'static str,
}

/// wasmtime's handle on the pooling allocator's counters (it has no
/// `Debug` of its own).
#[derive(Clone)]
struct Pool(PoolingAllocatorMetrics);

impl std::fmt::Debug for Pool {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("PoolingAllocatorMetrics")
    }
}

type Durations = Family<DurationLabels, Histogram, fn() -> Histogram>;

/// A module call's duration: 100 µs to about 6.5 s.
fn call_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_1, 2.0, 17,
    ))
}

#[derive(Debug, Clone)]
pub struct ModuleMetrics {
    calls: Family<CallLabels, Counter>,
    durations: Durations,
    cpu: Family<TownModuleLabels, Counter<f64, AtomicU64>>,
    refusals: Family<RefusalLabels, Counter>,
    slots_total: Family<SlotLabels, Gauge>,
    slots_in_use: Family<SlotLabels, Gauge>,
    storage_bytes: Family<TownModuleLabels, Gauge>,
    storage_entries: Family<TownModuleLabels, Gauge>,
    town_quota: Family<TownModuleLabels, Gauge>,
    resident_quota: Family<TownModuleLabels, Gauge>,
    pool_instances: Gauge,
    pool_resident: Family<PoolLabels, Gauge>,
    slots: Option<Arc<Slots>>,
    /// None when instances are allocated on demand (no pool, no figures).
    pool: Option<Pool>,
    /// Calls by outcome and refusals by reason, all towns together: what
    /// the tests and the host's own checks ask (a family cannot be summed).
    totals: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

/// What one module stores in one town, against its quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFigure {
    pub town: String,
    pub module: String,
    pub bytes: u64,
    pub entries: u64,
    pub town_quota_bytes: u64,
    pub resident_quota_bytes: u64,
}

impl Default for ModuleMetrics {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            durations: Family::new_with_constructor(call_histogram),
            cpu: Family::default(),
            refusals: Family::default(),
            slots_total: Family::default(),
            slots_in_use: Family::default(),
            storage_bytes: Family::default(),
            storage_entries: Family::default(),
            town_quota: Family::default(),
            resident_quota: Family::default(),
            pool_instances: Gauge::default(),
            pool_resident: Family::default(),
            slots: None,
            pool: None,
            totals: Arc::default(),
        }
    }
}

fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl ModuleMetrics {
    /// Counters, and gauges of these slots and of this pool.
    pub(super) fn with_slots(slots: Arc<Slots>, pool: Option<PoolingAllocatorMetrics>) -> Self {
        Self {
            slots: Some(slots),
            pool: pool.map(Pool),
            ..Self::default()
        }
    }

    /// Adds the families to the server's registry.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "guichet_module_calls",
            "Module calls, by town, module, version and outcome (ok or the failure)",
            self.calls.clone(),
        );
        registry.register_with_unit(
            "guichet_module_call_duration",
            "How long module calls took, by module, version and outcome",
            Unit::Seconds,
            self.durations.clone(),
        );
        registry.register_with_unit(
            "guichet_module_cpu",
            "CPU time module calls spent (the guest and the host's work for it, on the \
             executor's threads; not waiting), by town and module",
            Unit::Seconds,
            self.cpu.clone(),
        );
        registry.register(
            "guichet_module_storage_refusals",
            "Module calls whose storage writes were refused, by reason",
            self.refusals.clone(),
        );
        registry.register(
            "guichet_module_slots",
            "Module call slots: of the server, of each town, of each module of a town",
            self.slots_total.clone(),
        );
        registry.register(
            "guichet_module_slots_in_use",
            "Module calls holding a slot now, in all and by town",
            self.slots_in_use.clone(),
        );
        registry.register(
            "guichet_module_storage_bytes",
            "What a module stores in a town (keys, values and 64 bytes per entry)",
            self.storage_bytes.clone(),
        );
        registry.register(
            "guichet_module_storage_entries",
            "Entries a module stores in a town",
            self.storage_entries.clone(),
        );
        registry.register(
            "guichet_module_storage_town_quota_bytes",
            "A module's storage quota in a town",
            self.town_quota.clone(),
        );
        registry.register(
            "guichet_module_storage_resident_quota_bytes",
            "A module's storage quota per resident, in a town",
            self.resident_quota.clone(),
        );
        // Without a pool (instances allocated on demand) there is nothing
        // to show: absent, not zero.
        if self.pool.is_some() {
            registry.register(
                "guichet_module_pool_instances",
                "Module instances alive now in the pooling allocator (one per running call)",
                self.pool_instances.clone(),
            );
            registry.register_with_unit(
                "guichet_module_pool_idle_resident",
                "Memory the pooling allocator's idle linear memories and tables keep resident \
                 for the next call (fiber stacks not counted)",
                Unit::Bytes,
                self.pool_resident.clone(),
            );
        }
    }

    /// A call ended with `outcome` after `took`.
    pub fn count(
        &self,
        town: &str,
        module: &str,
        version: &str,
        outcome: &'static str,
        took: Duration,
    ) {
        self.calls
            .get_or_create(&CallLabels {
                town: town.to_owned(),
                module: module.to_owned(),
                version: version.to_owned(),
                outcome,
            })
            .inc();
        self.durations
            .get_or_create(&DurationLabels {
                module: module.to_owned(),
                version: version.to_owned(),
                outcome,
            })
            .observe(took.as_secs_f64());
        self.bump(outcome);
    }

    /// A call of `module` in `town` spent `cpu` (whatever its outcome).
    pub fn charge_cpu(&self, town: &str, module: &str, cpu: Duration) {
        self.cpu
            .get_or_create(&TownModuleLabels {
                town: town.to_owned(),
                module: module.to_owned(),
            })
            .inc_by(cpu.as_secs_f64());
    }

    fn bump(&self, key: &'static str) {
        if let Ok(mut totals) = self.totals.lock() {
            *totals.entry(key).or_default() += 1;
        }
    }

    fn sum(&self, key: &str) -> u64 {
        self.totals
            .lock()
            .map_or(0, |totals| totals.get(key).copied().unwrap_or(0))
    }

    /// A call whose writes the host refused (once per call).
    pub fn count_refusal(&self, town: &str, module: &str, version: &str, refusal: StorageRefusal) {
        self.refusals
            .get_or_create(&RefusalLabels {
                town: town.to_owned(),
                module: module.to_owned(),
                version: version.to_owned(),
                reason: refusal.as_str(),
            })
            .inc();
        self.bump(refusal_key(refusal));
    }

    /// How many calls ended with `outcome`, all towns and modules together.
    pub fn total(&self, outcome: &str) -> u64 {
        self.sum(outcome)
    }

    /// How many calls had writes refused for `refusal`, all towns and
    /// modules together.
    pub fn refusals(&self, refusal: StorageRefusal) -> u64 {
        self.sum(refusal_key(refusal))
    }

    /// Sets the gauges read when scraped: the slots now, and the storage
    /// figures just read (towns and modules gone since are dropped).
    pub fn refresh(&self, figures: Option<&[StorageFigure]>) {
        if let Some(slots) = &self.slots {
            let shares = slots.shares();
            for (scope, value) in [
                ("server", shares.server),
                ("town", shares.town),
                ("module", shares.module),
            ] {
                self.slots_total
                    .get_or_create(&slot_labels(scope, None))
                    .set(i64::from(value));
            }
            self.slots_in_use.clear();
            self.slots_in_use
                .get_or_create(&slot_labels("server", None))
                .set(i64::from(slots.server_in_use()));
            for (town, in_use) in slots.towns_in_use() {
                self.slots_in_use
                    .get_or_create(&slot_labels("town", Some(town)))
                    .set(i64::from(in_use));
            }
        }
        if let Some(Pool(pool)) = &self.pool {
            self.pool_instances
                .set(gauge_value(pool.component_instances()));
            // Fiber stacks are left out: wasmtime counts what they keep
            // only when it zeroes them (`async_stack_zeroing`, off here: a
            // guest cannot address the host's stack), and otherwise keeps
            // every page a call touched, up to `async_stack_size` a stack.
            for (kind, bytes) in [
                ("memories", pool.unused_memory_bytes_resident()),
                ("tables", pool.unused_table_bytes_resident()),
            ] {
                self.pool_resident
                    .get_or_create(&PoolLabels { kind })
                    .set(gauge_value(u64::try_from(bytes).unwrap_or(u64::MAX)));
            }
        }
        // The figures are worth nothing stale: without new ones (the
        // database does not answer), the old ones stay as they were.
        let Some(figures) = figures else {
            return;
        };
        let families = [
            &self.storage_bytes,
            &self.storage_entries,
            &self.town_quota,
            &self.resident_quota,
        ];
        for family in families {
            family.clear();
        }
        for figure in figures {
            let labels = TownModuleLabels {
                town: figure.town.clone(),
                module: figure.module.clone(),
            };
            self.storage_bytes
                .get_or_create(&labels)
                .set(gauge_value(figure.bytes));
            self.storage_entries
                .get_or_create(&labels)
                .set(gauge_value(figure.entries));
            self.town_quota
                .get_or_create(&labels)
                .set(gauge_value(figure.town_quota_bytes));
            self.resident_quota
                .get_or_create(&labels)
                .set(gauge_value(figure.resident_quota_bytes));
        }
    }
}
