//! [`DeliveryConfig`]: `[delivery]`, how webhooks are delivered: Tableau's retry and
//! auto-disable rules, the engine's limits and lease, signing, the delivery log's excerpts and
//! retention; and the check that every setting can work.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vizhook_core::{DeliveryPolicy, RateLimitPolicy, RetrySchedule};
use vizhook_runtime::engine::{LimitProblem, Limits as EngineLimits};
use vizhook_tableau::signing::Signer;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    pub retry_schedule: Vec<humantime_serde::Serde<Duration>>,
    pub disable_after_failed_deliveries: u32,
    /// The longest `Retry-After` a rate-limited destination is waited for.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    pub max_in_flight: usize,
    pub max_in_flight_per_webhook: usize,
    pub claim_batch: usize,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How often the notice worker looks for unsent notices when nothing woke it (a node wakes
    /// its own when it writes one; this is how a notice another node left unsent goes out).
    #[serde(with = "humantime_serde")]
    pub notice_poll_interval: Duration,
    pub signing_secret: String,
    pub response_excerpt_bytes: usize,
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

impl DeliveryConfig {
    pub fn policy(&self) -> DeliveryPolicy {
        DeliveryPolicy {
            retry: RetrySchedule::new(self.retry_schedule.iter().map(|gap| **gap).collect()),
            disable_after_failed_deliveries: self.disable_after_failed_deliveries,
            rate_limit: RateLimitPolicy {
                max_retry_after: self.max_retry_after,
            },
        }
    }

    /// The delivery engine's limits, a webhook being its key.
    pub fn limits(&self) -> EngineLimits {
        EngineLimits {
            max_in_flight: self.max_in_flight,
            max_in_flight_per_key: self.max_in_flight_per_webhook,
            claim_batch: self.claim_batch,
            lease: self.lease,
            poll_interval: self.poll_interval,
        }
    }

    /// The first setting that cannot work, as a sentence naming its key.
    pub fn validate(&self) -> Result<(), String> {
        let rule = |message: String| Err(message);
        if self.prune_interval.is_zero() {
            return rule("delivery.prune_interval must be longer than zero".into());
        }
        if self.max_retry_after.is_zero() || self.max_retry_after > Duration::from_secs(86_400) {
            return rule("delivery.max_retry_after must be longer than zero and at most 1d".into());
        }
        if self.notice_poll_interval.is_zero() {
            return rule("delivery.notice_poll_interval must be longer than zero".into());
        }
        if let Some(problem) = self.limits().check(self.attempt_timeout).first() {
            let key = match problem {
                LimitProblem::MaxInFlight => "max_in_flight",
                LimitProblem::MaxInFlightPerKey => "max_in_flight_per_webhook",
                LimitProblem::ClaimBatch => "claim_batch",
                LimitProblem::AttemptTimeout => "attempt_timeout",
                LimitProblem::PollInterval => "poll_interval",
                LimitProblem::Lease { .. } => "lease",
            };
            return rule(format!("delivery.{key} {problem}"));
        }
        if !self.signing_secret.is_empty()
            && let Err(err) = Signer::new(&self.signing_secret)
        {
            return rule(format!("delivery.signing_secret: {err}"));
        }
        Ok(())
    }
}
