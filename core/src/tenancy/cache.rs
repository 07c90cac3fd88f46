//! Towns kept in memory by host, and how far they can be trusted.
//!
//! Each request needs its town; reading it means a query and parsing its
//! whole definition, so found towns are kept (unknown hosts are not: a
//! flood of made-up hosts cannot grow the cache). How long an entry is
//! trusted depends on whether changes are watched (see `watch.rs`): a
//! watched change flushes the cache at once, on every instance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::Tenant;

/// How long a resolved town is trusted while changes are watched: a
/// change flushes it within a second anyway; this is the safety net for a
/// notification that never came.
pub const TOWN_CACHE_WATCHED: Duration = Duration::from_secs(60);
/// How long a resolved town is trusted while nothing watches changes (no
/// watcher running, or it cannot listen): another process's change is
/// seen within this delay.
pub const TOWN_CACHE_UNWATCHED: Duration = Duration::from_millis(500);
/// An entry is dropped this long after it was read. Until then it can
/// still serve, however stale, when the database does not answer: the
/// town's own pages (and its 503 page) rather than a neutral one.
const TOWN_CACHE_KEPT: Duration = Duration::from_secs(600);

/// Whether this process learns of towns changed elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Nothing tells this process about changes: towns are read again
    /// after [`TOWN_CACHE_UNWATCHED`].
    Unwatched,
    /// Changes are watched (`LISTEN` on PostgreSQL, a polled change stamp
    /// on SQLite): a change flushes the cache within a second.
    Watched,
    /// The database does not answer: towns in memory are served as they
    /// are (a query would only wait for the acquire timeout) until it
    /// answers again, when the cache is flushed.
    DatabaseDown,
}

impl Freshness {
    fn code(self) -> u8 {
        match self {
            Self::Unwatched => 0,
            Self::Watched => 1,
            Self::DatabaseDown => 2,
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Watched,
            2 => Self::DatabaseDown,
            _ => Self::Unwatched,
        }
    }
}

#[derive(Debug)]
struct Entry {
    tenant: Arc<Tenant>,
    read_at: Instant,
    generation: u64,
}

#[derive(Debug, Default)]
struct Entries {
    /// Bumped by every flush: entries of an older generation are stale.
    generation: u64,
    by_host: HashMap<String, Entry>,
}

/// The towns of one process, by host (lowercase, no trailing dot).
#[derive(Debug, Default)]
pub(super) struct TownCache {
    entries: RwLock<Entries>,
    freshness: AtomicU8,
}

impl TownCache {
    /// The town kept for `host`, if it may be served without a query.
    pub(super) fn fresh(&self, host: &str) -> Option<Arc<Tenant>> {
        let entries = self.entries.read().ok()?;
        let entry = entries.by_host.get(host)?;
        if entry.generation != entries.generation {
            return None;
        }
        let trusted = match self.freshness() {
            Freshness::Watched => entry.read_at.elapsed() < TOWN_CACHE_WATCHED,
            Freshness::Unwatched => entry.read_at.elapsed() < TOWN_CACHE_UNWATCHED,
            Freshness::DatabaseDown => true,
        };
        trusted.then(|| entry.tenant.clone())
    }

    /// The town kept for `host`, however old: for when the database does
    /// not answer.
    pub(super) fn stale(&self, host: &str) -> Option<Arc<Tenant>> {
        let entries = self.entries.read().ok()?;
        entries.by_host.get(host).map(|entry| entry.tenant.clone())
    }

    /// The generation to give [`Self::keep`] with what is read now.
    pub(super) fn generation(&self) -> u64 {
        self.entries.read().map_or(0, |entries| entries.generation)
    }

    /// Keeps a town read at `generation`, unless the cache was flushed
    /// since: a read that began before a change and ended after its flush
    /// must not put the old town back.
    pub(super) fn keep(&self, host: String, tenant: Arc<Tenant>, generation: u64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.generation != generation {
            return;
        }
        entries
            .by_host
            .retain(|_, entry| entry.read_at.elapsed() < TOWN_CACHE_KEPT);
        entries.by_host.insert(
            host,
            Entry {
                tenant,
                read_at: Instant::now(),
                generation,
            },
        );
    }

    /// Makes every town kept stale: the next request of each reads it.
    pub(super) fn flush(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.generation = entries.generation.wrapping_add(1);
        }
    }

    pub(super) fn freshness(&self) -> Freshness {
        Freshness::from_code(self.freshness.load(Ordering::Acquire))
    }

    /// Sets the freshness; answers the previous one.
    pub(super) fn set_freshness(&self, freshness: Freshness) -> Freshness {
        Freshness::from_code(self.freshness.swap(freshness.code(), Ordering::AcqRel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::TenantDefinition;
    use crate::tenancy::entity::tenant;

    fn town(name: &str) -> Arc<Tenant> {
        let toml = format!(
            "display_name = \"{name}\"\n[mail]\nsender_name = \"Mairie\"\n\
             sender_address = \"mairie@test.example.fr\"\n"
        );
        let definition = TenantDefinition::from_toml(&toml, "test", "t").unwrap();
        let row = tenant::Model {
            id: 1,
            slug: "test".to_owned(),
            display_name: name.to_owned(),
            theme: "default".to_owned(),
            timezone: "Europe/Paris".to_owned(),
            definition: serde_json::to_string(&definition).unwrap(),
            definition_hash: String::new(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        Arc::new(Tenant::from_row(row).unwrap())
    }

    #[test]
    fn a_flush_makes_towns_stale_but_keeps_them_for_outages() {
        let cache = TownCache::default();
        cache.set_freshness(Freshness::Watched);
        cache.keep(
            "test.localhost".to_owned(),
            town("Avant"),
            cache.generation(),
        );
        assert!(cache.fresh("test.localhost").is_some());
        cache.flush();
        assert!(cache.fresh("test.localhost").is_none());
        assert_eq!(cache.stale("test.localhost").unwrap().display_name, "Avant");
    }

    #[test]
    fn a_read_that_began_before_a_flush_is_not_kept() {
        let cache = TownCache::default();
        cache.set_freshness(Freshness::Watched);
        let before = cache.generation();
        // The town changes (and is announced) while the old row is read.
        cache.flush();
        cache.keep("test.localhost".to_owned(), town("Avant"), before);
        assert!(cache.fresh("test.localhost").is_none());
        cache.keep(
            "test.localhost".to_owned(),
            town("Après"),
            cache.generation(),
        );
        assert_eq!(cache.fresh("test.localhost").unwrap().display_name, "Après");
    }

    #[test]
    fn unwatched_towns_are_trusted_briefly_and_down_ones_as_they_are() {
        let cache = TownCache::default();
        assert_eq!(cache.freshness(), Freshness::Unwatched);
        let generation = cache.generation();
        cache.keep("test.localhost".to_owned(), town("Ville"), generation);
        assert!(cache.fresh("test.localhost").is_some());
        std::thread::sleep(TOWN_CACHE_UNWATCHED);
        assert!(cache.fresh("test.localhost").is_none());
        assert_eq!(
            cache.set_freshness(Freshness::DatabaseDown),
            Freshness::Unwatched
        );
        assert!(cache.fresh("test.localhost").is_some());
    }
}
