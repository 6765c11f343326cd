//! The retention ticker both roles run: one pruning step at start and then every interval,
//! until shutdown. What a step prunes is the role's: finished deliveries for `serve`, handled
//! events for `receive`.

use std::{future::Future, time::Duration};

use tokio_util::sync::CancellationToken;

/// Runs `step` now and then every `interval` until `shutdown` is cancelled. A step that is
/// under way when shutdown comes is finished first.
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
}
