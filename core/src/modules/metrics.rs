//! Counters of module calls by town, module, version and outcome, of
//! refused storage writes, and the call slots in use by town, served in
//! Prometheus' text format at `/metrics` with the storage figures
//! ([`StorageFigure`]) read from the database.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use super::slots::Slots;
use super::storage::StorageRefusal;

type Labels = (String, String, String, &'static str);

#[derive(Debug, Clone, Default)]
pub struct ModuleMetrics {
    calls: Arc<Mutex<BTreeMap<Labels, u64>>>,
    refusals: Arc<Mutex<BTreeMap<Labels, u64>>>,
    slots: Option<Arc<Slots>>,
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

fn bump(counters: &Mutex<BTreeMap<Labels, u64>>, labels: Labels) {
    if let Ok(mut counters) = counters.lock() {
        *counters.entry(labels).or_default() += 1;
    }
}

impl ModuleMetrics {
    /// Counters, and gauges of these slots.
    pub(super) fn with_slots(slots: Arc<Slots>) -> Self {
        Self {
            calls: Arc::default(),
            refusals: Arc::default(),
            slots: Some(slots),
        }
    }

    pub fn count(&self, town: &str, module: &str, version: &str, outcome: &'static str) {
        bump(
            &self.calls,
            (
                town.to_owned(),
                module.to_owned(),
                version.to_owned(),
                outcome,
            ),
        );
    }

    /// A call whose writes the host refused (once per call).
    pub fn count_refusal(&self, town: &str, module: &str, version: &str, refusal: StorageRefusal) {
        bump(
            &self.refusals,
            (
                town.to_owned(),
                module.to_owned(),
                version.to_owned(),
                refusal.as_str(),
            ),
        );
    }

    /// How many calls ended with `outcome`, all towns and modules together.
    pub fn total(&self, outcome: &str) -> u64 {
        total(&self.calls, outcome)
    }

    /// How many calls had writes refused for `refusal`, all towns and
    /// modules together.
    pub fn refusals(&self, refusal: StorageRefusal) -> u64 {
        total(&self.refusals, refusal.as_str())
    }

    pub fn render(&self) -> String {
        let mut text = String::from(
            "# HELP guichet_module_calls_total Module calls, by outcome (ok or the failure).\n\
             # TYPE guichet_module_calls_total counter\n",
        );
        render_counters(
            &mut text,
            &self.calls,
            "guichet_module_calls_total",
            "outcome",
        );
        text.push_str(
            "# HELP guichet_module_storage_refusals_total Module calls whose storage writes were refused, by reason.\n\
             # TYPE guichet_module_storage_refusals_total counter\n",
        );
        render_counters(
            &mut text,
            &self.refusals,
            "guichet_module_storage_refusals_total",
            "reason",
        );
        if let Some(slots) = &self.slots {
            let shares = slots.shares();
            let _ = write!(
                text,
                "# HELP guichet_module_slots Module call slots: of the server, of each town, of each module of a town.\n\
                 # TYPE guichet_module_slots gauge\n\
                 guichet_module_slots{{scope=\"server\"}} {}\n\
                 guichet_module_slots{{scope=\"town\"}} {}\n\
                 guichet_module_slots{{scope=\"module\"}} {}\n\
                 # HELP guichet_module_slots_in_use Module calls holding a slot now, in all and by town.\n\
                 # TYPE guichet_module_slots_in_use gauge\n\
                 guichet_module_slots_in_use{{scope=\"server\"}} {}\n",
                shares.server,
                shares.town,
                shares.module,
                slots.server_in_use(),
            );
            for (town, in_use) in slots.towns_in_use() {
                let _ = writeln!(
                    text,
                    "guichet_module_slots_in_use{{scope=\"town\",town=\"{}\"}} {in_use}",
                    escape(&town)
                );
            }
        }
        text
    }
}

fn total(counters: &Mutex<BTreeMap<Labels, u64>>, last_label: &str) -> u64 {
    counters.lock().map_or(0, |counters| {
        counters
            .iter()
            .filter(|(labels, _)| labels.3 == last_label)
            .map(|(_, count)| count)
            .sum()
    })
}

fn render_counters(
    text: &mut String,
    counters: &Mutex<BTreeMap<Labels, u64>>,
    name: &str,
    last_label: &str,
) {
    if let Ok(counters) = counters.lock() {
        for ((town, module, version, last), count) in counters.iter() {
            let _ = writeln!(
                text,
                "{name}{{town=\"{}\",module=\"{}\",version=\"{}\",{last_label}=\"{last}\"}} {count}",
                escape(town),
                escape(module),
                escape(version),
            );
        }
    }
}

/// A gauge: its name, its help, and its value in a figure.
type Gauge = (&'static str, &'static str, fn(&StorageFigure) -> u64);

/// The storage gauges, one line per (town, module) and figure.
pub fn render_storage(figures: &[StorageFigure]) -> String {
    let gauges: [Gauge; 4] = [
        (
            "guichet_module_storage_bytes",
            "What a module stores in a town (keys, values and 64 bytes per entry).",
            |figure| figure.bytes,
        ),
        (
            "guichet_module_storage_entries",
            "Entries a module stores in a town.",
            |figure| figure.entries,
        ),
        (
            "guichet_module_storage_town_quota_bytes",
            "A module's storage quota in a town.",
            |figure| figure.town_quota_bytes,
        ),
        (
            "guichet_module_storage_resident_quota_bytes",
            "A module's storage quota per resident, in a town.",
            |figure| figure.resident_quota_bytes,
        ),
    ];
    let mut text = String::new();
    for (name, help, value) in gauges {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
        for figure in figures {
            let _ = writeln!(
                text,
                "{name}{{town=\"{}\",module=\"{}\"}} {}",
                escape(&figure.town),
                escape(&figure.module),
                value(figure)
            );
        }
    }
    text
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
