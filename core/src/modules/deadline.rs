//! A call's wall-clock limit, watched by the engine's epoch thread.
//!
//! Each module call races its guest against its deadline
//! (`module_timeout_ms`). That deadline used to be a tokio timer. A timer
//! earlier than every other one the runtime holds — on a quiet server, each
//! call's — makes the thread that registers it wake the worker sleeping on
//! the timer driver, so that it sleeps again with the new deadline: a write
//! to an eventfd, a worker woken, and the workers waking one another, for a
//! limit that almost never fires: 0.8 eventfd writes and 1.3 context
//! switches a call, 39 µs of CPU and 30 µs of wall time a call of the
//! `tile/wasm` benchmark (docs/PERFORMANCE.md, seventh round).
//!
//! The epoch thread (host.rs) already wakes at every tick (5 ms) to move
//! the engine's epoch. Here it also wakes the calls whose deadline has
//! passed: registering a deadline takes a lock and wakes nobody, and a
//! deadline fires at most a tick late, which a limit counted in seconds
//! does not notice. At most one entry a running call is watched (the calls
//! are bounded by the server's slots), so the tick scans them all.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// The deadlines of the calls running now.
#[derive(Debug, Default)]
pub(super) struct Deadlines {
    watched: Mutex<Watched>,
}

#[derive(Debug, Default)]
struct Watched {
    next_id: u64,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    at: Instant,
    waker: Waker,
}

impl Deadlines {
    /// A future ready at `at`, within a tick.
    pub(super) fn sleep_until(self: &Arc<Self>, at: Instant) -> Sleep {
        Sleep {
            deadlines: self.clone(),
            at,
            id: None,
        }
    }

    /// Wakes the calls whose deadline is `now` or earlier: the epoch thread
    /// calls it at each tick.
    pub(super) fn wake_due(&self, now: Instant) {
        let due: Vec<Entry> = {
            let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
            watched
                .entries
                .extract_if(.., |entry| entry.at <= now)
                .collect()
        };
        // Outside the lock: a woken task may be polled at once, on another
        // thread, and look at its entry (and see `poll`).
        for entry in due {
            entry.waker.wake();
        }
    }

    /// How many deadlines are watched (for the tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}

/// See [`Deadlines::sleep_until`]. Dropping it stops the watch.
#[derive(Debug)]
pub(super) struct Sleep {
    deadlines: Arc<Deadlines>,
    at: Instant,
    /// The entry watched for this future, once it has been polled.
    id: Option<u64>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.at {
            this.unwatch();
            return Poll::Ready(());
        }
        // A waker replaced here is dropped after the lock is let go: dropping
        // a task's last reference drops its future, which may hold another
        // `Sleep` of this registry.
        let _replaced = this.watch(cx.waker());
        Poll::Pending
    }
}

impl Sleep {
    /// Watches this deadline with `waker`; gives back the waker it replaces.
    fn watch(&mut self, waker: &Waker) -> Option<Waker> {
        let mut watched = self
            .deadlines
            .watched
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let watched = &mut *watched;
        let entry = self
            .id
            .and_then(|id| watched.entries.iter_mut().find(|entry| entry.id == id));
        match entry {
            Some(entry) if entry.waker.will_wake(waker) => None,
            Some(entry) => Some(std::mem::replace(&mut entry.waker, waker.clone())),
            // First poll; or the tick took the entry away between the clock
            // read and this lock (its deadline passed meanwhile): it is
            // watched again, already due, and the next tick wakes it.
            None => {
                let id = watched.next_id;
                watched.next_id = watched.next_id.wrapping_add(1);
                watched.entries.push(Entry {
                    id,
                    at: self.at,
                    waker: waker.clone(),
                });
                self.id = Some(id);
                None
            }
        }
    }

    /// Stops watching this deadline.
    fn unwatch(&mut self) {
        if let Some(id) = self.id.take() {
            let removed = {
                let mut watched = self
                    .deadlines
                    .watched
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                watched
                    .entries
                    .iter()
                    .position(|entry| entry.id == id)
                    .map(|index| watched.entries.swap_remove(index))
            };
            // Dropped here, the lock let go (see `poll`).
            drop(removed);
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unwatch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;
    use std::time::Duration;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(sleep: &mut Sleep, waker: &Waker) -> Poll<()> {
        Pin::new(sleep).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_deadline_is_woken_by_the_tick_after_it_and_not_before() {
        let deadlines = Arc::new(Deadlines::default());
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let at = Instant::now() + Duration::from_millis(50);
        let mut sleep = deadlines.sleep_until(at);
        assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
        assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
        assert_eq!(deadlines.len(), 1, "polled twice, watched once");

        deadlines.wake_due(at - Duration::from_millis(1));
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "a tick before it");
        deadlines.wake_due(at);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the tick at it");
        assert_eq!(deadlines.len(), 0, "woken once, then no longer watched");

        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
    }

    #[test]
    fn the_last_waker_is_the_one_woken() {
        let deadlines = Arc::new(Deadlines::default());
        let first = Arc::new(Counter::default());
        let second = Arc::new(Counter::default());
        let at = Instant::now() + Duration::from_secs(60);
        let mut sleep = deadlines.sleep_until(at);
        assert_eq!(poll(&mut sleep, &Waker::from(first.clone())), Poll::Pending);
        // The call moved to another task's waker (another executor thread).
        assert_eq!(
            poll(&mut sleep, &Waker::from(second.clone())),
            Poll::Pending
        );
        deadlines.wake_due(at);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_deadline_taken_away_before_its_poll_registered_is_watched_again() {
        let deadlines = Arc::new(Deadlines::default());
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let at = Instant::now() + Duration::from_secs(60);
        let mut sleep = deadlines.sleep_until(at);
        assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
        // The tick removed the entry (its clock past the deadline) while the
        // call was being polled again, before the poll took the lock.
        deadlines.wake_due(at);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
        assert_eq!(deadlines.len(), 1, "watched again, not lost");
        deadlines.wake_due(at);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            2,
            "and woken at the next tick"
        );
    }

    #[test]
    fn a_deadline_seen_past_by_its_poll_is_no_longer_watched() {
        let deadlines = Arc::new(Deadlines::default());
        let waker = Waker::from(Arc::new(Counter::default()));
        let at = Instant::now() + Duration::from_millis(20);
        let mut sleep = deadlines.sleep_until(at);
        assert_eq!(poll(&mut sleep, &waker), Poll::Pending);
        assert_eq!(deadlines.len(), 1);
        // No tick came (a late epoch thread); the call's own poll sees it.
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(poll(&mut sleep, &waker), Poll::Ready(()));
        assert_eq!(deadlines.len(), 0, "ready, and no longer watched");
    }

    #[test]
    fn a_call_that_ends_first_leaves_nothing_watched() {
        let deadlines = Arc::new(Deadlines::default());
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(counter.clone());
        let at = Instant::now() + Duration::from_secs(60);
        let mut kept = deadlines.sleep_until(at);
        let mut dropped = deadlines.sleep_until(at);
        assert_eq!(poll(&mut kept, &waker), Poll::Pending);
        assert_eq!(poll(&mut dropped, &waker), Poll::Pending);
        assert_eq!(deadlines.len(), 2);
        drop(dropped);
        assert_eq!(deadlines.len(), 1, "only the dropped one is gone");
        deadlines.wake_due(at);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the kept one is woken");

        // A deadline already past is ready at once, and watched by no one.
        let mut past = deadlines.sleep_until(Instant::now());
        assert_eq!(poll(&mut past, &waker), Poll::Ready(()));
        assert_eq!(deadlines.len(), 0);
    }
}
