//! Counters of module calls by town, module, version and outcome, and the
//! call slots in use by town, served in Prometheus' text format at
//! `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use super::slots::Slots;

type Labels = (String, String, String, &'static str);

#[derive(Debug, Clone, Default)]
pub struct ModuleMetrics {
    calls: Arc<Mutex<BTreeMap<Labels, u64>>>,
    slots: Option<Arc<Slots>>,
}

impl ModuleMetrics {
    /// Counters, and gauges of these slots.
    pub(super) fn with_slots(slots: Arc<Slots>) -> Self {
        Self {
            calls: Arc::default(),
            slots: Some(slots),
        }
    }

    pub fn count(&self, town: &str, module: &str, version: &str, outcome: &'static str) {
        if let Ok(mut calls) = self.calls.lock() {
            *calls
                .entry((
                    town.to_owned(),
                    module.to_owned(),
                    version.to_owned(),
                    outcome,
                ))
                .or_default() += 1;
        }
    }

    /// How many calls ended with `outcome`, all towns and modules together.
    pub fn total(&self, outcome: &str) -> u64 {
        self.calls.lock().map_or(0, |calls| {
            calls
                .iter()
                .filter(|(labels, _)| labels.3 == outcome)
                .map(|(_, count)| count)
                .sum()
        })
    }

    pub fn render(&self) -> String {
        let mut text = String::from(
            "# HELP guichet_module_calls_total Module calls, by outcome (ok or the failure).\n\
             # TYPE guichet_module_calls_total counter\n",
        );
        if let Ok(calls) = self.calls.lock() {
            for ((town, module, version, outcome), count) in calls.iter() {
                let _ = writeln!(
                    text,
                    "guichet_module_calls_total{{town=\"{}\",module=\"{}\",version=\"{}\",outcome=\"{outcome}\"}} {count}",
                    escape(town),
                    escape(module),
                    escape(version),
                );
            }
        }
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

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
