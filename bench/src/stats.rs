//! Latency percentiles: exact, from a sorted vector of nanosecond samples (nearest rank).

use serde::Serialize;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Latencies {
    pub(crate) samples: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
}

impl Latencies {
    /// From durations in nanoseconds (exact: a sorted vector, nearest rank).
    pub(crate) fn of(nanos: impl IntoIterator<Item = u64>) -> Self {
        let mut sorted: Vec<u64> = nanos.into_iter().collect();
        sorted.sort_unstable();
        let at = |q: f64| {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1] as f64 / 1e6
        };
        Self {
            samples: sorted.len() as u64,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
        }
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "p50 {:.2} / p90 {:.2} / p99 {:.2} / p99.9 {:.2} / max {:.2} ms (n={})",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms, self.samples
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Latencies;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latencies::of((1..=1000).map(|ms| ms * 1_000_000));
        assert_eq!(
            (l.samples, l.p50_ms, l.p99_ms, l.max_ms),
            (1000, 500.0, 990.0, 1000.0)
        );
        assert_eq!(Latencies::of([]).p99_ms, 0.0);
    }
}
