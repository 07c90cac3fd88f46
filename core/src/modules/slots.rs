//! Module call slots, shared fairly between towns and between the modules
//! of a town.
//!
//! Every call holds three permits while it runs: one of its (town, module)
//! pair, one of its town, one of the server. The first two are a share of
//! the third (by default a quarter and a half), so one saturated module
//! leaves its town's other modules slots, and one saturated town — a storm
//! of residents, or a hostile module holding each slot until its timeout —
//! leaves every other town at least half of the server's. A call waits
//! for its own town's and module's permits first, without holding a
//! server permit meanwhile: the calls of a saturated town queue on their
//! own slots, never in front of their neighbours'. Waiting is bounded: a
//! call that has not got all three when its wait ends gives up (the tile
//! shows "indisponible"), so load never builds an endless queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many module calls may run at once, in all and per owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotShares {
    /// All towns together (`module_concurrency`).
    pub server: u32,
    /// One town (`module_concurrency_town_percent` of `server`).
    pub town: u32,
    /// One module of one town (`module_concurrency_module_percent`).
    pub module: u32,
}

impl SlotShares {
    /// Shares given as percentages of `server`, rounded up, at least one
    /// slot each, and a module's share never above its town's.
    pub fn from_percent(server: u32, town_percent: u32, module_percent: u32) -> Self {
        let share = |percent: u32| {
            let slots = (u64::from(server) * u64::from(percent)).div_ceil(100);
            u32::try_from(slots)
                .unwrap_or(server)
                .clamp(1, server.max(1))
        };
        let town = share(town_percent);
        Self {
            server: server.max(1),
            town,
            module: share(module_percent).min(town),
        }
    }
}

/// Which bound was full when a call gave up waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotLevel {
    /// The slots of the call's module in its town.
    Module,
    /// The slots of the call's town.
    Town,
    /// The slots of the whole server.
    Server,
}

impl std::fmt::Display for SlotLevel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Module => "of this module in this town",
            Self::Town => "of this town",
            Self::Server => "of the server",
        })
    }
}

/// Who a call runs for: its town (by id, with its slug for the metrics)
/// and module. Publication calls (`describe`) have no owner and take a
/// server slot only.
#[derive(Debug, Clone, Copy)]
pub struct SlotOwner<'a> {
    pub town_id: i32,
    pub town_slug: &'a str,
    pub module_id: &'a str,
}

/// The permits of one running call, given back when it ends.
#[derive(Debug)]
pub struct Slot {
    // Dropped in reverse order of acquisition: the server's first.
    _permits: Vec<OwnedSemaphorePermit>,
}

#[derive(Debug)]
struct TownSlots {
    slug: String,
    slots: Arc<Semaphore>,
}

/// The server's, each town's and each (town, module)'s semaphores.
#[derive(Debug)]
pub struct Slots {
    shares: SlotShares,
    server: Arc<Semaphore>,
    towns: Mutex<HashMap<i32, TownSlots>>,
    modules: Mutex<HashMap<(i32, String), Arc<Semaphore>>>,
}

impl Slots {
    pub fn new(shares: SlotShares) -> Self {
        Self {
            shares,
            server: Arc::new(Semaphore::new(shares.server as usize)),
            towns: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
        }
    }

    pub fn shares(&self) -> SlotShares {
        self.shares
    }

    /// Waits up to `wait` for the owner's module slot, then its town's,
    /// then the server's; gives up naming the first bound still full.
    pub async fn acquire(
        &self,
        owner: Option<SlotOwner<'_>>,
        wait: Duration,
    ) -> Result<Slot, SlotLevel> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut permits = Vec::with_capacity(3);
        if let Some(owner) = owner {
            let module = self.module_semaphore(owner.town_id, owner.module_id);
            permits.push(take(module, deadline, SlotLevel::Module).await?);
            let town = self.town_semaphore(owner.town_id, owner.town_slug);
            permits.push(take(town, deadline, SlotLevel::Town).await?);
        }
        permits.push(take(self.server.clone(), deadline, SlotLevel::Server).await?);
        // The server's permit goes back first, then the town's, then the
        // module's: a freed server slot is never held by a call that has
        // already finished.
        permits.reverse();
        Ok(Slot { _permits: permits })
    }

    fn town_semaphore(&self, town_id: i32, slug: &str) -> Arc<Semaphore> {
        let Ok(mut towns) = self.towns.lock() else {
            // A poisoned map (a panic while holding it, which nothing here
            // does) still bounds the call: by a semaphore of its own.
            return Arc::new(Semaphore::new(self.shares.town as usize));
        };
        towns
            .entry(town_id)
            .or_insert_with(|| TownSlots {
                slug: slug.to_owned(),
                slots: Arc::new(Semaphore::new(self.shares.town as usize)),
            })
            .slots
            .clone()
    }

    fn module_semaphore(&self, town_id: i32, module_id: &str) -> Arc<Semaphore> {
        let Ok(mut modules) = self.modules.lock() else {
            return Arc::new(Semaphore::new(self.shares.module as usize));
        };
        modules
            .entry((town_id, module_id.to_owned()))
            .or_insert_with(|| Arc::new(Semaphore::new(self.shares.module as usize)))
            .clone()
    }

    /// Calls of this town running now (or holding their town slot while
    /// they wait for a server slot).
    pub fn town_in_use(&self, town_id: i32) -> u32 {
        self.towns.lock().ok().map_or(0, |towns| {
            towns
                .get(&town_id)
                .map_or(0, |town| self.in_use(&town.slots, self.shares.town))
        })
    }

    /// Calls running now, all towns together.
    pub fn server_in_use(&self) -> u32 {
        self.in_use(&self.server, self.shares.server)
    }

    /// Each town that has made calls, by slug, with its slots in use.
    pub fn towns_in_use(&self) -> Vec<(String, u32)> {
        let mut usage: Vec<(String, u32)> = self.towns.lock().ok().map_or_else(Vec::new, |towns| {
            towns
                .values()
                .map(|town| {
                    (
                        town.slug.clone(),
                        self.in_use(&town.slots, self.shares.town),
                    )
                })
                .collect()
        });
        usage.sort();
        usage
    }

    fn in_use(&self, semaphore: &Semaphore, size: u32) -> u32 {
        let available = u32::try_from(semaphore.available_permits()).unwrap_or(size);
        size.saturating_sub(available)
    }
}

async fn take(
    semaphore: Arc<Semaphore>,
    deadline: tokio::time::Instant,
    level: SlotLevel,
) -> Result<OwnedSemaphorePermit, SlotLevel> {
    match tokio::time::timeout_at(deadline, semaphore.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        // Timed out, or closed (never: nothing closes them).
        _ => Err(level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_WAIT: Duration = Duration::from_millis(10);

    fn owner<'a>(town_id: i32, module_id: &'a str) -> Option<SlotOwner<'a>> {
        Some(SlotOwner {
            town_id,
            town_slug: "ville",
            module_id,
        })
    }

    #[test]
    fn shares_are_percentages_rounded_up_and_never_zero() {
        let shares = SlotShares::from_percent(32, 50, 25);
        assert_eq!((shares.server, shares.town, shares.module), (32, 16, 8));
        let shares = SlotShares::from_percent(1, 50, 25);
        assert_eq!((shares.server, shares.town, shares.module), (1, 1, 1));
        let shares = SlotShares::from_percent(5, 50, 100);
        assert_eq!((shares.server, shares.town, shares.module), (5, 3, 3));
    }

    #[tokio::test]
    async fn a_saturated_town_leaves_the_other_towns_their_slots() {
        let slots = Slots::new(SlotShares::from_percent(4, 50, 50));
        let held = [
            slots.acquire(owner(1, "a"), NO_WAIT).await.unwrap(),
            slots.acquire(owner(1, "b"), NO_WAIT).await.unwrap(),
        ];
        assert_eq!(slots.town_in_use(1), 2);
        assert_eq!(
            slots.acquire(owner(1, "c"), NO_WAIT).await.unwrap_err(),
            SlotLevel::Town
        );
        let neighbour = [
            slots.acquire(owner(2, "a"), NO_WAIT).await.unwrap(),
            slots.acquire(owner(2, "b"), NO_WAIT).await.unwrap(),
        ];
        assert_eq!(slots.server_in_use(), 4);
        assert_eq!(
            slots.acquire(owner(3, "a"), NO_WAIT).await.unwrap_err(),
            SlotLevel::Server
        );
        drop(held);
        assert_eq!((slots.town_in_use(1), slots.server_in_use()), (0, 2));
        assert!(slots.acquire(owner(3, "a"), NO_WAIT).await.is_ok());
        drop(neighbour);
    }

    #[tokio::test]
    async fn a_saturated_module_leaves_its_town_s_other_modules_their_slots() {
        let slots = Slots::new(SlotShares::from_percent(8, 50, 25));
        let _held = [
            slots.acquire(owner(1, "lent"), NO_WAIT).await.unwrap(),
            slots.acquire(owner(1, "lent"), NO_WAIT).await.unwrap(),
        ];
        assert_eq!(
            slots.acquire(owner(1, "lent"), NO_WAIT).await.unwrap_err(),
            SlotLevel::Module
        );
        assert!(slots.acquire(owner(1, "factures"), NO_WAIT).await.is_ok());
        assert_eq!(slots.towns_in_use(), vec![("ville".to_owned(), 2)]);
    }

    #[tokio::test]
    async fn a_waiting_call_holds_no_server_slot() {
        let slots = Slots::new(SlotShares::from_percent(2, 50, 50));
        let _held = slots.acquire(owner(1, "a"), NO_WAIT).await.unwrap();
        // Town 1 is full: its next call waits on its own slot, and the
        // server's other slot stays free for town 2 meanwhile.
        let waiting = slots.acquire(owner(1, "a"), Duration::from_secs(30));
        let neighbour = async {
            let slot = slots.acquire(owner(2, "a"), NO_WAIT).await;
            assert!(slot.is_ok(), "{slot:?}");
        };
        tokio::select! {
            _ = waiting => panic!("town 1 had no free slot"),
            () = neighbour => {}
        }
    }
}
