//! Residents' home pages shown again while nothing they show has changed.
//!
//! "Mon accueil" is a function of its inputs ([`PageInputs`]): the town as
//! loaded (its definition and content: one `Arc<Tenant>` per version), its
//! theme, the resident's account row (names, address, last login), the
//! session (its CSRF token, in the logout and tiles' forms), the town's and
//! the resident's version counters (terms, household, requests, enabled
//! modules and their configuration: the [`Stamp`], read with the session),
//! the minute (dates, the day's news, the modules' `now`), and the views
//! of its tiles — each an `Arc<View>` that the view cache
//! (modules/view_cache.rs) hands out again only while its own inputs are
//! unchanged. When every input is the same as for the page kept, its HTML
//! is the page: the handler still reads the session and the counters and
//! asks each tile for its view (all from memory when nothing moved), and
//! skips only building and rendering the page.
//!
//! Only whole successes are kept: not a page with a flash message (shown
//! once), nor one with a tile that failed, nor any when the theme reloads
//! its templates from disk (`dev_mode`). The key is the session: a page
//! is never shown to another session, even of the same resident. Bounded in
//! bytes (`page_cache_mib`), the least recently shown going first; a page
//! holds the town, theme and views it was built from weakly, so it keeps
//! nothing else alive. A closed session's page is never shown again and
//! leaves with the least recently shown.
//!
//! What it is worth depends on residents coming back within the minute (a
//! tile, then "Mon accueil" again): docs/PERFORMANCE.md gives the figures
//! with and without it.

use std::sync::{Arc, Mutex, Weak};

use hashlink::LruCache;
use prometheus_client::metrics::counter::Counter;

use super::Page;
use crate::accounts::entity::account;
use crate::modules::View;
use crate::tenancy::Tenant;
use crate::theme::Theme;
use crate::versions::Stamp;

/// Everything a page is computed from.
#[derive(Debug, Clone)]
pub struct PageInputs {
    pub tenant: Arc<Tenant>,
    pub theme: Arc<Theme>,
    pub account: account::Model,
    /// The session's CSRF token, in the page's forms: a session id can be
    /// given again (SQLite reuses the highest after a logout), a token
    /// cannot.
    pub csrf: String,
    pub stamp: Arc<Stamp>,
    /// Minutes since the epoch, read before anything else of the page.
    pub minute: i64,
    /// The tiles' views, in the page's order.
    pub tiles: Vec<Arc<View>>,
}

impl PageInputs {
    /// The minute now, as [`PageInputs::minute`] counts it.
    pub fn minute_now() -> i64 {
        chrono::Utc::now().timestamp().div_euclid(60)
    }
}

/// A kept page's inputs. The town, theme and views are held weakly and
/// compared by address: a weak reference keeps the allocation (so no other
/// value can take its address meanwhile) but not the value, so a kept page
/// does not keep a town's old definition or an evicted view alive, which
/// the bound in bytes would not count.
#[derive(Debug)]
struct KeptInputs {
    tenant: Weak<Tenant>,
    theme: Weak<Theme>,
    account: account::Model,
    csrf: String,
    stamp: Arc<Stamp>,
    minute: i64,
    tiles: Vec<Weak<View>>,
}

impl KeptInputs {
    fn of(inputs: &PageInputs) -> Self {
        Self {
            tenant: Arc::downgrade(&inputs.tenant),
            theme: Arc::downgrade(&inputs.theme),
            account: inputs.account.clone(),
            csrf: inputs.csrf.clone(),
            stamp: inputs.stamp.clone(),
            minute: inputs.minute,
            tiles: inputs.tiles.iter().map(Arc::downgrade).collect(),
        }
    }

    /// True when the page kept is the page of `now`.
    fn same(&self, now: &PageInputs) -> bool {
        self.tenant.as_ptr() == Arc::as_ptr(&now.tenant)
            && self.theme.as_ptr() == Arc::as_ptr(&now.theme)
            && self.minute == now.minute
            && self.account == now.account
            && self.csrf == now.csrf
            && *self.stamp == *now.stamp
            && self.tiles.len() == now.tiles.len()
            && self
                .tiles
                .iter()
                .zip(&now.tiles)
                .all(|(kept, shown)| kept.as_ptr() == Arc::as_ptr(shown))
    }
}

/// Which page: the town, the session, the path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub tenant_id: i32,
    pub session_id: i32,
    pub path: &'static str,
}

#[derive(Debug)]
struct Entry {
    inputs: KeptInputs,
    html: Arc<str>,
}

/// The pages kept, within a number of bytes.
#[derive(Debug)]
pub struct PageCache {
    max_bytes: usize,
    kept: Mutex<Kept>,
    reused: Counter,
}

#[derive(Debug)]
struct Kept {
    entries: LruCache<PageKey, Arc<Entry>>,
    bytes: usize,
}

/// What an entry costs besides its HTML: the key, the inputs (the account
/// row, the stamp's counters), the maps' bookkeeping.
const ENTRY_OVERHEAD: usize = 1024;

impl PageCache {
    /// `reused` counts the pages served from memory (the metrics' family).
    pub fn new(max_bytes: usize, reused: Counter) -> Self {
        Self {
            max_bytes,
            kept: Mutex::new(Kept {
                entries: LruCache::new_unbounded(),
                bytes: 0,
            }),
            reused,
        }
    }

    /// The page kept for `key`, if it was computed from the same inputs.
    pub fn get(&self, key: &PageKey, inputs: &PageInputs) -> Option<Page> {
        if self.max_bytes == 0 {
            return None;
        }
        let entry = self.kept.lock().ok()?.entries.get(key).cloned()?;
        if !entry.inputs.same(inputs) {
            return None;
        }
        self.reused.inc();
        Some(Page {
            status: rocket::http::Status::Ok,
            html: entry.html.to_string(),
        })
    }

    /// Keeps `page`, a success computed from `inputs`, unless the theme
    /// reloads its templates or the page would take over a sixteenth of
    /// the bound.
    pub fn put(&self, key: PageKey, inputs: PageInputs, page: &Page) {
        let bytes = page.html.len() + ENTRY_OVERHEAD;
        if page.status != rocket::http::Status::Ok
            || inputs.theme.reloads_templates()
            || bytes > self.max_bytes / 16
        {
            return;
        }
        let entry = Arc::new(Entry {
            inputs: KeptInputs::of(&inputs),
            html: page.html.as_str().into(),
        });
        // Dropped after the lock is released: the last reference to a
        // page may be freed here.
        let mut gone = Vec::new();
        {
            let Ok(mut kept) = self.kept.lock() else {
                return;
            };
            if let Some(old) = kept.entries.insert(key, entry) {
                kept.bytes -= old.html.len() + ENTRY_OVERHEAD;
                gone.push(old);
            }
            kept.bytes += bytes;
            while kept.bytes > self.max_bytes {
                match kept.entries.remove_lru() {
                    Some((_, old)) => {
                        kept.bytes -= old.html.len() + ENTRY_OVERHEAD;
                        gone.push(old);
                    }
                    None => break,
                }
            }
        }
        drop(gone);
    }

    /// Pages served from memory by this instance.
    pub fn reused(&self) -> u64 {
        self.reused.get()
    }
}
