//! Tableau's delivery policy as pure arithmetic: when to retry a failed attempt (sooner or
//! later when a rate-limited destination says so), and when repeated failed deliveries
//! disable a webhook.

use std::time::Duration;

/// Gaps between attempts of one delivery. Tableau retries "three times with diminishing
/// frequency", so the default has three growing gaps (four attempts in all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    gaps: Vec<Duration>,
}

impl RetrySchedule {
    pub fn new(gaps: Vec<Duration>) -> Self {
        Self { gaps }
    }

    /// The default: retry after 1 minute, then 5 minutes, then 15 minutes.
    pub fn tableau() -> Self {
        Self::new(vec![
            Duration::from_secs(60),
            Duration::from_secs(300),
            Duration::from_secs(900),
        ])
    }

    /// How many attempts a delivery gets in all.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.gaps.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1)
    }

    /// The wait after failed attempt number `failed_attempt` (1-based), or `None` when that
    /// was the last attempt.
    pub fn delay_after(&self, failed_attempt: u32) -> Option<Duration> {
        let index = usize::try_from(failed_attempt).ok()?.checked_sub(1)?;
        self.gaps.get(index).copied()
    }

    pub fn gaps(&self) -> &[Duration] {
        &self.gaps
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::tableau()
    }
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A 2xx answer: done.
    Delivered,
    /// Failed, with attempts left: try again after this long.
    RetryAfter(Duration),
    /// Failed, and that was the last attempt: one failed delivery.
    Exhausted,
}

/// Only a 2xx answer is a success; 3xx, 4xx, 5xx and no answer at all are failures.
pub const fn is_success(status: Option<u16>) -> bool {
    matches!(status, Some(200..=299))
}

/// How a destination that says "slow down" is waited for: `429 Too Many Requests`, or `503`
/// with `Retry-After`. Tableau documents no such rule; this is vizhook's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitPolicy {
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RateLimitPolicy {
    fn default() -> Self {
        Self {
            max_retry_after: Duration::from_secs(3600),
        }
    }
}

impl RateLimitPolicy {
    /// Whether an answer asks the sender to slow down.
    pub const fn is_rate_limited(status: Option<u16>, retry_after: Option<Duration>) -> bool {
        matches!(status, Some(429)) || (matches!(status, Some(503)) && retry_after.is_some())
    }

    /// How long a destination that answered `status` with `retry_after` is left alone, when it
    /// asked to slow down: its `Retry-After`, within the bound (zero without one: a 429 alone
    /// only slows the destination). `None` when it did not ask.
    pub fn pause(&self, status: Option<u16>, retry_after: Option<Duration>) -> Option<Duration> {
        Self::is_rate_limited(status, retry_after)
            .then(|| retry_after.map_or(Duration::ZERO, |asked| asked.min(self.max_retry_after)))
    }

    /// The wait before retrying work whose schedule gives `gap`: at least the destination's
    /// [`pause`](Self::pause), so it is waited for as asked, and never less than `gap`, so a
    /// short `Retry-After` cannot spend the schedule in seconds.
    pub fn retry_delay(
        &self,
        status: Option<u16>,
        retry_after: Option<Duration>,
        gap: Duration,
    ) -> Duration {
        self.pause(status, retry_after)
            .map_or(gap, |pause| pause.max(gap))
    }
}

/// When a webhook stops receiving deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    pub retry: RetrySchedule,
    /// Consecutive failed deliveries (each one after all its attempts) that disable a webhook.
    pub disable_after_failed_deliveries: u32,
    pub rate_limit: RateLimitPolicy,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            retry: RetrySchedule::tableau(),
            disable_after_failed_deliveries: 4,
            rate_limit: RateLimitPolicy::default(),
        }
    }
}

impl DeliveryPolicy {
    /// The fate of a delivery whose attempt number `round_attempt` (1-based, counted since the
    /// delivery was last (re)scheduled) got `status` (`None`: no HTTP answer) and, perhaps, a
    /// `Retry-After`. A rate-limited attempt uses up its place in the schedule like any
    /// failure, and waits at least as long as the destination asked and at least the
    /// schedule's gap ([`RateLimitPolicy::retry_delay`]), so a short `Retry-After`
    /// cannot spend the schedule in seconds: a delivery that is only ever rate limited fails,
    /// and counts towards disabling the webhook, once the schedule runs out, as any other.
    pub fn after_attempt(
        &self,
        round_attempt: u32,
        status: Option<u16>,
        retry_after: Option<Duration>,
    ) -> Next {
        if is_success(status) {
            return Next::Delivered;
        }
        match self.retry.delay_after(round_attempt) {
            Some(gap) => Next::RetryAfter(self.rate_limit.retry_delay(status, retry_after, gap)),
            None => Next::Exhausted,
        }
    }

    /// Whether `consecutive_failures` failed deliveries in a row disable the webhook.
    pub fn should_disable(&self, consecutive_failures: u32) -> bool {
        self.disable_after_failed_deliveries > 0
            && consecutive_failures >= self.disable_after_failed_deliveries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_gives_four_attempts_with_growing_gaps() {
        let schedule = RetrySchedule::tableau();
        assert_eq!(schedule.max_attempts(), 4);
        let gaps: Vec<_> = (1..=4)
            .map(|attempt| schedule.delay_after(attempt))
            .collect();
        assert_eq!(
            gaps,
            [
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(300)),
                Some(Duration::from_secs(900)),
                None
            ]
        );
        assert!(schedule.gaps().windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(schedule.delay_after(0), None);
    }

    #[test]
    fn rate_limited_attempts_wait_as_asked_within_the_bound_and_still_use_up_the_schedule() {
        let policy = DeliveryPolicy {
            rate_limit: RateLimitPolicy {
                max_retry_after: Duration::from_secs(120),
            },
            ..DeliveryPolicy::default()
        };
        let asked = Some(Duration::from_secs(90));
        assert_eq!(
            policy.after_attempt(1, Some(429), asked),
            Next::RetryAfter(Duration::from_secs(90)),
            "later than the schedule's minute, as asked"
        );
        assert_eq!(
            policy.after_attempt(1, Some(429), Some(Duration::from_secs(1))),
            Next::RetryAfter(Duration::from_secs(60)),
            "never sooner than the schedule, so a short Retry-After cannot spend it in seconds"
        );
        assert_eq!(
            policy.after_attempt(1, Some(503), Some(Duration::from_secs(7200))),
            Next::RetryAfter(Duration::from_secs(120)),
            "a long Retry-After is cut to the bound"
        );
        assert_eq!(
            policy
                .rate_limit
                .pause(Some(429), Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1)),
            "the destination itself is left alone only as long as it asked"
        );
        assert_eq!(
            policy.rate_limit.pause(Some(429), None),
            Some(Duration::ZERO)
        );
        assert_eq!(policy.rate_limit.pause(Some(500), None), None);
        assert_eq!(
            policy.after_attempt(1, Some(429), None),
            Next::RetryAfter(Duration::from_secs(60)),
            "a 429 without Retry-After follows the schedule"
        );
        assert_eq!(
            policy.after_attempt(1, Some(500), asked),
            Next::RetryAfter(Duration::from_secs(60)),
            "only 429 and 503 are read as rate limits"
        );
        assert_eq!(
            policy.after_attempt(1, Some(503), None),
            Next::RetryAfter(Duration::from_secs(60))
        );
        assert_eq!(policy.after_attempt(4, Some(429), asked), Next::Exhausted);
        assert!(RateLimitPolicy::is_rate_limited(Some(429), None));
        assert!(RateLimitPolicy::is_rate_limited(Some(503), asked));
        assert!(!RateLimitPolicy::is_rate_limited(Some(503), None));
        assert!(!RateLimitPolicy::is_rate_limited(None, asked));
    }

    #[test]
    fn only_2xx_delivers_and_the_fourth_failure_exhausts() {
        let policy = DeliveryPolicy::default();
        assert_eq!(policy.after_attempt(1, Some(204), None), Next::Delivered);
        assert_eq!(policy.after_attempt(4, Some(299), None), Next::Delivered);
        assert_eq!(
            policy.after_attempt(1, Some(302), None),
            Next::RetryAfter(Duration::from_secs(60))
        );
        assert_eq!(
            policy.after_attempt(2, None, None),
            Next::RetryAfter(Duration::from_secs(300))
        );
        assert_eq!(
            policy.after_attempt(3, Some(500), None),
            Next::RetryAfter(Duration::from_secs(900))
        );
        assert_eq!(policy.after_attempt(4, Some(500), None), Next::Exhausted);
        assert_eq!(policy.after_attempt(4, Some(199), None), Next::Exhausted);
    }

    #[test]
    fn four_failed_deliveries_disable() {
        let policy = DeliveryPolicy::default();
        assert!(!policy.should_disable(3));
        assert!(policy.should_disable(4));
        let never = DeliveryPolicy {
            disable_after_failed_deliveries: 0,
            ..policy
        };
        assert!(!never.should_disable(100));
    }
}
