//! Counters of module calls by town, module, version and outcome, served in
//! Prometheus' text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

type Labels = (String, String, String, &'static str);

#[derive(Debug, Clone, Default)]
pub struct ModuleMetrics {
    calls: Arc<Mutex<BTreeMap<Labels, u64>>>,
}

impl ModuleMetrics {
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
        text
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
