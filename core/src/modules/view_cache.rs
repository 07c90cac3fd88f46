//! A resident's views reused while nothing their render read has changed.
//!
//! `render` never writes (the host refuses `put`, `delete`, `lock` and
//! `notify` outside `act`), so its view is a function of its inputs: the
//! release, the call's context (town, resident, the module's own
//! configuration, the minute — `context.now`), the view asked for, and
//! what it read through the host. The sandbox records which of those it
//! read ([`Reads`]); each has a version counter kept by the database
//! (`crate::versions`): the module's town storage, its storage for this
//! resident, the resident's household, the town's modules (for another
//! module's configuration). A view is reused while the release and the
//! context are equal and the counters of what it read have not moved —
//! across instances, since every write bumps them in the writing
//! transaction.
//!
//! What is not reused: a failed render (tried again each time), a render
//! during which a host call found the database unavailable (the module
//! may have shown "nothing" for it), a view asked for with parameters other
//! than the tile's (residents choose those: they must not fill the cache),
//! a render asked for without a stamp (after a write in the same request),
//! staff views (they read what the back-office just changed; they are
//! rare). The cache is bounded in bytes (`module_view_cache_mib`), the least
//! recently shown going first. A reused view does not log again what the
//! module logged while rendering it; the WASI clock and random numbers are
//! not inputs (a module that shows seconds, or draws a nonce, in a view sees
//! them repeated within the minute: views show the host's `now`).

use std::sync::{Arc, Mutex};

use hashlink::LruCache;

use super::{Context, View, ViewRequest};
use crate::versions::{Stamp, Subject};

/// What a render read through the host, as recorded by its sandbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// `get`, `list`, `count` in the town's scope.
    pub town_storage: bool,
    /// `get`, `list`, `count` in the resident's scope.
    pub resident_storage: bool,
    pub household: bool,
    /// Another module's configuration (`module-config`).
    pub module_configs: bool,
    /// A host call found the database unavailable: the view may show less
    /// than there is, and is not kept.
    pub failed: bool,
}

impl Reads {
    /// The counters these reads depend on, in `stamp`: (town storage,
    /// resident storage, household, town's modules), 0 for what was not
    /// read. `None` when a personal read has no counter in the stamp (a
    /// stamp of another resident, or of none): nothing may be reused.
    fn seen(self, module_id: &str, account_id: Option<i32>, stamp: &Stamp) -> Option<[i64; 4]> {
        if stamp.account_id() != account_id {
            return None;
        }
        let personal = |read: bool, subject: Subject<'_>| {
            if read {
                stamp.resident(subject)
            } else {
                Some(0)
            }
        };
        Some([
            if self.town_storage {
                stamp.town(Subject::ModuleData(module_id))
            } else {
                0
            },
            personal(self.resident_storage, Subject::ModuleData(module_id))?,
            personal(self.household, Subject::Household)?,
            if self.module_configs {
                stamp.town(Subject::TownModules)
            } else {
                0
            },
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant_id: i32,
    account_id: Option<i32>,
    module_id: String,
    view: String,
    params: Vec<(String, String)>,
}

#[derive(Debug)]
struct Entry {
    /// The release that rendered it.
    sha256: String,
    context: Context,
    reads: Reads,
    seen: [i64; 4],
    view: Arc<View>,
    /// What it is counted for against the bound.
    bytes: usize,
}

/// The views kept, within a number of bytes (the least recently shown go
/// first).
#[derive(Debug)]
pub struct ViewCache {
    max_bytes: usize,
    kept: Mutex<Kept>,
}

#[derive(Debug)]
struct Kept {
    entries: LruCache<Key, Arc<Entry>>,
    bytes: usize,
}

/// What an entry costs besides its view and context: the key, the maps'
/// own bookkeeping.
const ENTRY_OVERHEAD: usize = 256;

/// One render's identity: who, which module, which view.
#[derive(Debug)]
pub struct Lookup<'a> {
    pub tenant_id: i32,
    pub account_id: Option<i32>,
    pub module_id: &'a str,
    pub sha256: &'a str,
    pub context: &'a Context,
    pub request: &'a ViewRequest,
}

impl Lookup<'_> {
    fn key(&self) -> Key {
        Key {
            tenant_id: self.tenant_id,
            account_id: self.account_id,
            module_id: self.module_id.to_owned(),
            view: self.request.view.clone(),
            params: self.request.params.clone(),
        }
    }
}

impl ViewCache {
    /// At most `max_bytes` of views (as their JSON measures them); 0 keeps
    /// nothing: every view is rendered.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            kept: Mutex::new(Kept {
                entries: LruCache::new_unbounded(),
                bytes: 0,
            }),
        }
    }

    /// Whether views of `request` may be kept: a tile, or a view without
    /// parameters. Other parameters are the resident's to choose; kept,
    /// they would let one resident push everyone's tiles out.
    pub fn keeps(request: &ViewRequest) -> bool {
        match request.params.as_slice() {
            [] => true,
            [(name, value)] => (name.as_str(), value.as_str()) == super::TILE_PARAM,
            _ => false,
        }
    }

    /// The view rendered for the same lookup, if nothing it read changed
    /// since, as `stamp` tells.
    pub fn get(&self, lookup: &Lookup<'_>, stamp: &Stamp) -> Option<Arc<View>> {
        if self.max_bytes == 0 {
            return None;
        }
        let key = lookup.key();
        let entry = self.kept.lock().ok()?.entries.get(&key)?.clone();
        let current = entry.sha256 == lookup.sha256
            && entry.context == *lookup.context
            && entry
                .reads
                .seen(lookup.module_id, lookup.account_id, stamp)
                .is_some_and(|seen| seen == entry.seen);
        current.then(|| entry.view.clone())
    }

    /// Keeps a view rendered after `stamp` was read, with what it read —
    /// unless a read failed, or the view alone would take more than a
    /// sixteenth of the bound.
    pub fn put(&self, lookup: &Lookup<'_>, stamp: &Stamp, reads: Reads, view: Arc<View>) {
        if self.max_bytes == 0 || reads.failed {
            return;
        }
        let Some(seen) = reads.seen(lookup.module_id, lookup.account_id, stamp) else {
            return;
        };
        let Ok(measured) = serde_json::to_vec(view.as_ref()) else {
            return;
        };
        let bytes = measured.len() + lookup.context.config.len() + ENTRY_OVERHEAD;
        if bytes > self.max_bytes / 16 {
            return;
        }
        let entry = Arc::new(Entry {
            sha256: lookup.sha256.to_owned(),
            context: lookup.context.clone(),
            reads,
            seen,
            view,
            bytes,
        });
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if let Some(replaced) = kept.entries.insert(lookup.key(), entry) {
            kept.bytes -= replaced.bytes;
        }
        kept.bytes += bytes;
        while kept.bytes > self.max_bytes {
            match kept.entries.remove_lru() {
                Some((_, oldest)) => kept.bytes -= oldest.bytes,
                None => break,
            }
        }
    }

    /// How many views are kept, and their bytes.
    #[cfg(test)]
    fn size(&self) -> (usize, usize) {
        self.kept
            .lock()
            .map_or((0, 0), |kept| (kept.entries.len(), kept.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DateTime, Town};
    use super::*;

    fn context(time: &str, config: &str) -> Context {
        Context {
            town: Town {
                slug: "villeneuve".to_owned(),
                name: "Villeneuve".to_owned(),
            },
            resident: None,
            staff: None,
            config: config.to_owned(),
            now: DateTime {
                date: "2026-12-03".to_owned(),
                time: time.to_owned(),
            },
        }
    }

    fn view(title: &str) -> Arc<View> {
        Arc::new(View {
            title: title.to_owned(),
            blocks: Vec::new(),
        })
    }

    fn request() -> ViewRequest {
        ViewRequest {
            view: "factures".to_owned(),
            params: vec![("affichage".to_owned(), "tuile".to_owned())],
        }
    }

    fn lookup<'a>(context: &'a Context, request: &'a ViewRequest, sha256: &'a str) -> Lookup<'a> {
        Lookup {
            tenant_id: 1,
            account_id: None,
            module_id: "invoices",
            sha256,
            context,
            request,
        }
    }

    #[test]
    fn a_view_is_reused_only_for_the_same_release_context_minute_and_request() {
        let cache = ViewCache::new(1 << 20);
        let stamp = Stamp::default();
        let request = request();
        let at_nine = context("09:00", "{}");
        cache.put(
            &lookup(&at_nine, &request, "abc"),
            &stamp,
            Reads::default(),
            view("A"),
        );
        assert_eq!(
            cache
                .get(&lookup(&at_nine, &request, "abc"), &stamp)
                .map(|view| view.title.clone()),
            Some("A".to_owned())
        );
        // The next minute (the clock is an input), another configuration,
        // another release, another view: rendered again.
        let next_minute = context("09:01", "{}");
        assert!(
            cache
                .get(&lookup(&next_minute, &request, "abc"), &stamp)
                .is_none()
        );
        let configured = context("09:00", "{\"shown\":1}");
        assert!(
            cache
                .get(&lookup(&configured, &request, "abc"), &stamp)
                .is_none()
        );
        assert!(
            cache
                .get(&lookup(&at_nine, &request, "def"), &stamp)
                .is_none()
        );
        let page = ViewRequest {
            params: Vec::new(),
            ..request.clone()
        };
        assert!(cache.get(&lookup(&at_nine, &page, "abc"), &stamp).is_none());
        let off = ViewCache::new(0);
        off.put(
            &lookup(&at_nine, &request, "abc"),
            &stamp,
            Reads::default(),
            view("A"),
        );
        assert!(
            off.get(&lookup(&at_nine, &request, "abc"), &stamp)
                .is_none()
        );
    }

    #[test]
    fn a_render_that_met_an_unavailable_database_is_not_kept() {
        let cache = ViewCache::new(1 << 20);
        let stamp = Stamp::default();
        let request = request();
        let at_nine = context("09:00", "{}");
        let failed = Reads {
            failed: true,
            ..Reads::default()
        };
        cache.put(
            &lookup(&at_nine, &request, "abc"),
            &stamp,
            failed,
            view("A"),
        );
        assert!(
            cache
                .get(&lookup(&at_nine, &request, "abc"), &stamp)
                .is_none()
        );
    }

    #[test]
    fn the_bound_is_in_bytes_and_residents_parameters_are_not_kept() {
        let one = serde_json::to_vec(view("A").as_ref()).unwrap().len() + 2 + ENTRY_OVERHEAD;
        let cache = ViewCache::new(one * 16 * 3);
        let stamp = Stamp::default();
        let at_nine = context("09:00", "{}");
        let requests: Vec<ViewRequest> = (0..100)
            .map(|index| ViewRequest {
                view: format!("vue-{index}"),
                params: Vec::new(),
            })
            .collect();
        for request in &requests {
            cache.put(
                &lookup(&at_nine, request, "abc"),
                &stamp,
                Reads::default(),
                view("A"),
            );
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= one * 16 * 3, "{bytes}");
        assert_eq!(entries, 48, "the least recently shown went first");
        assert!(
            cache
                .get(&lookup(&at_nine, &requests[99], "abc"), &stamp)
                .is_some()
        );
        assert!(
            cache
                .get(&lookup(&at_nine, &requests[0], "abc"), &stamp)
                .is_none()
        );
        // What may be kept: a tile, a view without parameters; not one
        // with parameters a resident chose.
        assert!(ViewCache::keeps(&request()));
        assert!(ViewCache::keeps(&requests[0]));
        let chosen = ViewRequest {
            view: "factures".to_owned(),
            params: vec![("x".to_owned(), "1".to_owned())],
        };
        assert!(!ViewCache::keeps(&chosen));
    }

    #[test]
    fn only_the_counters_of_what_was_read_matter() {
        let reads = Reads {
            town_storage: true,
            ..Reads::default()
        };
        let stamp = Stamp::default();
        assert_eq!(reads.seen("invoices", None, &stamp), Some([0; 4]));
        // A personal read needs the resident's counters in the stamp.
        let personal = Reads {
            resident_storage: true,
            ..Reads::default()
        };
        assert_eq!(
            personal.seen("invoices", None, &stamp),
            None,
            "no resident, no counter"
        );
        assert_eq!(
            personal.seen("invoices", Some(7), &stamp),
            None,
            "a stamp of nobody"
        );
    }
}
