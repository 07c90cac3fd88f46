//! Work every running `guichet serve` does on a schedule (the journal's
//! purge, the payments' reconciliation): a first round shortly after the
//! start (not at once: a start is busy enough), then one every interval,
//! until the server stops. A round under way when it stops is abandoned:
//! each round's changes are transactions of their own, none half done.

use std::time::Duration;

/// Runs `round` after `first`, then every `every`, until `stop` resolves.
pub async fn every<F, R>(first: Duration, every: Duration, stop: impl Future<Output = ()>, round: F)
where
    F: Fn() -> R,
    R: Future<Output = ()>,
{
    tokio::pin!(stop);
    let mut wait = first;
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(wait) => {}
        }
        tokio::select! {
            () = &mut stop => return,
            () = round() => {}
        }
        wait = every;
    }
}
