//! A call's CPU budget, counted in the CPU time of the threads that ran it.
//!
//! The budget used to be counted in the engine's epoch ticks: one was
//! charged at each tick the guest ran into, whole. A tick is 5 ms of wall
//! time, not of the guest's running: a guest whose thread waited for a core
//! through most of a tick (the kernel running another thread), or that was
//! resumed in the middle of one (after yielding to the executor, or after a
//! host call that waited), was charged the tick all the same. On a loaded
//! server, the peaks the budget must hold through, guests were stopped
//! having run for a fraction of their budget: about half of it in the test
//! that checks this (tests/integration/modules.rs); most likely also why a
//! storage-heavy `act` of the integration suite failed once with four
//! tests at a time on two cores.
//!
//! Now each poll of the call's future reads the CPU clock of its thread
//! (`CLOCK_THREAD_CPUTIME_ID`) when it begins and when it ends: a call may
//! move between executor threads between polls, never within one, and the
//! guest runs on its fiber inside a poll. The epoch ticks only decide when
//! the sum is looked at. At each tick the guest reaches, it is interrupted
//! once it has spent its budget, and it yields to the executor once the
//! current poll has held the thread for a tick (the other tiles of the page
//! and the other requests go on meanwhile).
//!
//! What it costs: two reads of the clock a poll (a system call each, 0.44
//! µs on the machine measured): with the meter and the counter by town and
//! module, 1.2–1.8 µs a call (docs/PERFORMANCE.md, sixth round).
//!
//! What is charged: everything the call's polls do on the executor's
//! thread — the guest, instantiation, the host functions' own work (with
//! PostgreSQL, decoding the database's answers). Not charged: waiting, and
//! the database's own work (SQLite's worker threads, the PostgreSQL server).
//! What a module makes the database do is bounded by the call's wall-clock
//! limit (`module_timeout_ms`, host calls included), its writes per call,
//! its storage quotas and the call slots a town and a module may hold.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::UpdateDeadline;

/// What one call has spent of its CPU budget, shared by the call's future
/// ([`Metered`]) and the store's epoch deadline callback ([`Self::at_tick`]).
#[derive(Debug)]
pub(super) struct CpuMeter {
    budget: Duration,
    /// How long a poll may hold its thread before the guest yields.
    turn: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// CPU time of the polls that ended.
    spent: Duration,
    /// The poll running now, if any.
    poll: Option<PollStart>,
}

#[derive(Debug, Clone, Copy)]
struct PollStart {
    cpu: Duration,
    at: Instant,
}

impl CpuMeter {
    /// A meter for one call: `turn` is how long the guest holds its thread
    /// before giving it back to the executor.
    pub(super) fn new(budget: Duration, turn: Duration) -> Arc<Self> {
        Arc::new(Self {
            budget,
            turn,
            state: Mutex::new(State::default()),
        })
    }

    /// What to do at an epoch tick the guest reached: interrupt it past its
    /// budget, yield after a turn, go on otherwise. Runs inside a poll of
    /// the call's future, on its thread.
    pub(super) fn at_tick(&self) -> UpdateDeadline {
        let state = self.lock();
        let Some(poll) = state.poll else {
            // Outside a metered poll (never, with `Metered` around the
            // call): nothing to measure against; let the executor decide.
            return yield_now();
        };
        if state.spent + thread_cpu().saturating_sub(poll.cpu) >= self.budget {
            return UpdateDeadline::Interrupt;
        }
        if poll.at.elapsed() >= self.turn {
            return yield_now();
        }
        // Resumed since the last tick (after a yield, or a host call that
        // waited): the guest has not had its turn yet.
        UpdateDeadline::Continue(1)
    }

    /// CPU time spent so far, by the polls that ended.
    pub(super) fn spent(&self) -> Duration {
        self.lock().spent
    }

    fn begin_poll(&self) {
        let start = PollStart {
            cpu: thread_cpu(),
            at: Instant::now(),
        };
        self.lock().poll = Some(start);
    }

    fn end_poll(&self) {
        let now = thread_cpu();
        let mut state = self.lock();
        if let Some(poll) = state.poll.take() {
            state.spent += now.saturating_sub(poll.cpu);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain numbers: a panic while it was held leaves
        // nothing half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Yields to the executor, then gives the guest one more tick.
fn yield_now() -> UpdateDeadline {
    UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
}

/// The CPU time of the calling thread (zero if the clock cannot be read,
/// which Linux never refuses for the calling thread's own clock).
fn thread_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

/// A call's future, its polls counted by a [`CpuMeter`].
pub(super) struct Metered<F> {
    inner: F,
    meter: Arc<CpuMeter>,
}

impl<F> Metered<F> {
    pub(super) fn new(inner: F, meter: Arc<CpuMeter>) -> Self {
        Self { inner, meter }
    }
}

impl<F: Future + Unpin> Future for Metered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<F::Output> {
        self.meter.begin_poll();
        let answer = Pin::new(&mut self.inner).poll(context);
        self.meter.end_poll();
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns about `cpu` of this thread's CPU time.
    fn burn(cpu: Duration) {
        let start = thread_cpu();
        let mut turns: u64 = 0;
        while thread_cpu().saturating_sub(start) < cpu {
            turns = std::hint::black_box(turns.wrapping_add(1));
        }
    }

    struct Work {
        steps: Vec<Step>,
    }

    enum Step {
        Burn(Duration),
        Sleep(Duration),
    }

    /// A future that burns or sleeps (blocking its thread: not CPU) at
    /// each poll, then asks to be polled again.
    impl Future for Work {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
            if self.steps.is_empty() {
                return Poll::Ready(());
            }
            match self.steps.remove(0) {
                Step::Burn(cpu) => burn(cpu),
                Step::Sleep(wall) => std::thread::sleep(wall),
            }
            context.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn only_the_polls_cpu_is_charged_not_the_time_between_nor_sleeping() {
        let meter = CpuMeter::new(Duration::from_secs(10), Duration::from_millis(5));
        let work = Work {
            steps: vec![
                Step::Burn(Duration::from_millis(20)),
                Step::Sleep(Duration::from_millis(50)),
                Step::Burn(Duration::from_millis(20)),
            ],
        };
        let between = tokio::spawn(async {
            // Another task working on the thread between the polls.
            burn(Duration::from_millis(30));
        });
        Metered::new(work, meter.clone()).await;
        between.await.ok();
        let spent = meter.spent();
        assert!(
            spent >= Duration::from_millis(40) && spent < Duration::from_millis(60),
            "{spent:?}"
        );
    }

    #[test]
    fn a_tick_interrupts_past_the_budget_yields_after_a_turn_and_goes_on_otherwise() {
        let meter = CpuMeter::new(Duration::from_millis(30), Duration::from_millis(50));
        // Outside a poll: yield, charge nothing.
        assert!(matches!(meter.at_tick(), UpdateDeadline::YieldCustom(1, _)));

        meter.begin_poll();
        assert!(matches!(meter.at_tick(), UpdateDeadline::Continue(1)));
        // A turn of the wall clock, not of CPU: yield, still in budget.
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(meter.at_tick(), UpdateDeadline::YieldCustom(1, _)));
        meter.end_poll();

        meter.begin_poll();
        burn(Duration::from_millis(31));
        assert!(matches!(meter.at_tick(), UpdateDeadline::Interrupt));
        meter.end_poll();
        assert!(meter.spent() >= Duration::from_millis(31));
    }
}
