//! How much the engine runs at once and how it paces itself ([`Limits`]), the lease rule both
//! roles check their settings against, and a request to lease due work ([`Claim`]).

use std::time::Duration;

use time::OffsetDateTime;

/// A request to lease due work.
#[derive(Debug, Clone)]
pub struct Claim<K> {
    pub now: OffsetDateTime,
    pub lease_until: OffsetDateTime,
    pub limit: u32,
    /// Keys that already have as much work in flight as they may.
    pub exclude: Vec<K>,
}

/// How much the engine runs at once and how it paces itself.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_in_flight: usize,
    pub max_in_flight_per_key: usize,
    pub claim_batch: usize,
    pub lease: Duration,
    pub poll_interval: Duration,
}

/// A setting of [`Limits`] that cannot work, named by what it is for (each role names its keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitProblem {
    #[error("must be at least 1")]
    MaxInFlight,
    #[error("must be at least 1")]
    MaxInFlightPerKey,
    #[error("must be at least 1")]
    ClaimBatch,
    #[error("must be longer than zero")]
    PollInterval,
    #[error("must be longer than zero")]
    AttemptTimeout,
    /// The lease is shorter than [`Limits::lease_needed`].
    #[error(
        "must be at least {}, attempt_timeout times the rounds a claimed item may wait for its turn, or an item could run twice",
        humantime::format_duration(*needed)
    )]
    Lease { needed: Duration },
}

impl Limits {
    /// The shortest lease under which a claimed item cannot be claimed again while it waits:
    /// it may wait behind its key's full share (`share` at once) and a claim batch, a round
    /// of `attempt` each, and then run for one more.
    pub fn lease_needed(attempt: Duration, claim_batch: usize, share: usize) -> Duration {
        let share = share.max(1);
        let rounds = (claim_batch + share).div_ceil(share) + 1;
        attempt.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
    }

    /// Every setting that cannot work for items that run at most `attempt` each: the one
    /// check of the lease rule, which `serve` and `receive` both apply to their settings.
    pub fn check(&self, attempt: Duration) -> Vec<LimitProblem> {
        let mut problems = Vec::new();
        if self.max_in_flight == 0 {
            problems.push(LimitProblem::MaxInFlight);
        }
        if self.max_in_flight_per_key == 0 {
            problems.push(LimitProblem::MaxInFlightPerKey);
        }
        if self.claim_batch == 0 {
            problems.push(LimitProblem::ClaimBatch);
        }
        if attempt.is_zero() {
            problems.push(LimitProblem::AttemptTimeout);
        }
        if self.poll_interval.is_zero() {
            problems.push(LimitProblem::PollInterval);
        }
        let needed = Self::lease_needed(attempt, self.claim_batch, self.max_in_flight_per_key);
        if self.lease < needed {
            problems.push(LimitProblem::Lease { needed });
        }
        problems
    }
}
