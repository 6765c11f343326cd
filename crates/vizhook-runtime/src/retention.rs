//! The retention ticker both roles run: one sweep at start and then every interval, until
//! shutdown; and how a sweep goes, in short steps with a pause as long as the step after each.
//! What a step prunes is the role's: finished deliveries for `serve`, handled events for
//! `receive`.

use std::{future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

/// Runs `step` now and then every `interval` until `shutdown` is cancelled. A step that is
/// under way when shutdown comes is finished first (a sweep by [`in_steps`] ends after its
/// current database step).
pub async fn every<F, Fut>(interval: Duration, shutdown: CancellationToken, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        step().await;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// What a sweep removed in all, in how many steps, and how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept<S> {
    pub total: S,
    pub steps: u64,
    pub elapsed: Duration,
}

/// One sweep in steps: runs `step` again while it answers that it stopped at its limit (so
/// more may be left), with a pause after each step as long as the step took, so that a sweep
/// takes at most half of the database's time (pt-archiver's sleep coefficient of 1) and the
/// role's own writes never queue behind a run of steps. Ends early at `stop` or at the first
/// error, which it returns beside what the steps before it removed.
pub async fn in_steps<S, E, Fut>(
    stop: &CancellationToken,
    mut step: impl FnMut() -> Fut,
) -> (Swept<S>, Option<E>)
where
    S: Default + std::ops::AddAssign,
    Fut: Future<Output = Result<(S, bool), E>>,
{
    let started = tokio::time::Instant::now();
    let mut swept = Swept {
        total: S::default(),
        steps: 0,
        elapsed: Duration::ZERO,
    };
    let error = loop {
        let step_started = tokio::time::Instant::now();
        match step().await {
            Ok((removed, more)) => {
                swept.total += removed;
                swept.steps += 1;
                if !more {
                    break None;
                }
            }
            Err(error) => break Some(error),
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => break None,
            () = tokio::time::sleep(step_started.elapsed()) => {}
        }
    };
    swept.elapsed = started.elapsed();
    (swept, error)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steps_at_once_then_every_interval_until_shutdown() {
        let steps = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let counted = steps.clone();
        let ticker = tokio::spawn(every(
            Duration::from_secs(60),
            shutdown.clone(),
            move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            },
        ));
        tokio::time::sleep(Duration::from_secs(150)).await;
        assert_eq!(steps.load(Ordering::SeqCst), 3, "at 0 s, 60 s and 120 s");
        shutdown.cancel();
        ticker.await.unwrap();
        assert_eq!(steps.load(Ordering::SeqCst), 3);
    }

    /// A step that removes one row at once, answering `more` times that more is left.
    fn steps(more: u64) -> impl FnMut() -> std::future::Ready<Result<(u64, bool), ()>> {
        let mut left = more;
        move || {
            let more = left > 0;
            left = left.saturating_sub(1);
            std::future::ready(Ok((1, more)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn steps_pause_as_long_as_they_took_until_one_finds_no_more() {
        let stop = CancellationToken::new();
        let mut left = 2_u64;
        let (swept, error) = in_steps(&stop, || {
            let more = left > 0;
            left = left.saturating_sub(1);
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, ()>((1_u64, more))
            }
        })
        .await;
        assert_eq!(error, None);
        assert_eq!((swept.total, swept.steps), (3, 3));
        // Three steps of 10 ms and a pause of 10 ms after each of the first two.
        assert_eq!(swept.elapsed, Duration::from_millis(50));
        let (swept, _) = in_steps(&stop, steps(0)).await;
        assert_eq!((swept.total, swept.steps), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_step_or_shutdown_ends_the_sweep() {
        let stop = CancellationToken::new();
        let mut calls = 0;
        let (swept, error) = in_steps(&stop, || {
            calls += 1;
            std::future::ready(if calls < 3 {
                Ok((1_u64, true))
            } else {
                Err("the store is down")
            })
        })
        .await;
        assert_eq!(error, Some("the store is down"));
        assert_eq!(
            (swept.total, swept.steps),
            (2, 2),
            "what went before is kept"
        );
        stop.cancel();
        let (swept, error) = in_steps(&stop, steps(10)).await;
        assert_eq!(
            (swept.steps, error),
            (1, None),
            "shutdown ends it after a step"
        );
    }
}
