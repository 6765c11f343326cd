//! [`Progress`]: when an engine last finished a cycle with a store that answered, so that a
//! readiness check can tell a worker that is stalled (its store refuses writes, or a round
//! trip hangs) from one that merely has nothing to do.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use time::OffsetDateTime;

/// How long an engine may go without a good cycle, beyond twice its poll interval, before it
/// counts as stalled: an idle engine finishes a cycle at least every poll interval, and a busy
/// one every round trip.
pub const STALL_GRACE: Duration = Duration::from_secs(10);

/// When the engine last made progress. Cheap to clone: clones share one clock.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Unix milliseconds of the last good cycle, or of the clock's creation before the first.
    last: Arc<AtomicI64>,
    /// How long without a good cycle counts as stalled.
    limit: Duration,
}

impl Progress {
    /// A clock for an engine that polls every `poll_interval`.
    pub fn new(poll_interval: Duration) -> Self {
        Self::with_limit(STALL_GRACE.saturating_add(poll_interval.saturating_mul(2)))
    }

    /// A clock that counts as stalled after `limit` without progress.
    pub fn with_limit(limit: Duration) -> Self {
        Self {
            last: Arc::new(AtomicI64::new(now_millis())),
            limit,
        }
    }

    /// The engine finished a cycle and its store answered.
    pub fn beat(&self) {
        self.last.store(now_millis(), Ordering::Relaxed);
    }

    /// How long the engine has gone without progress, when that is longer than its limit;
    /// `None` while it is healthy. An engine that never started counts from the clock's
    /// creation.
    pub fn stalled(&self) -> Option<Duration> {
        let last = self.last.load(Ordering::Relaxed);
        let since = Duration::from_millis(u64::try_from(now_millis() - last).unwrap_or(0));
        (since > self.limit).then_some(since)
    }
}

fn now_millis() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_only_after_the_limit() {
        let progress = Progress::new(Duration::from_millis(10));
        assert_eq!(progress.stalled(), None, "just created");
        progress.beat();
        assert_eq!(progress.stalled(), None);
        progress
            .last
            .store(now_millis() - 60_000, Ordering::Relaxed);
        let stalled = progress.stalled().expect("a minute without progress");
        assert!(stalled >= Duration::from_secs(59), "{stalled:?}");
        progress.beat();
        assert_eq!(progress.stalled(), None);
    }
}
