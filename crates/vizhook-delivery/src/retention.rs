//! Retention: deletes finished deliveries, their attempts and their events once they are older
//! than `delivery.retention`, so that storage stays bounded. Pending deliveries are kept. A
//! sweep goes in short steps with pauses between them, so that pruning a day's rows never
//! holds the database (on SQLite, its one writer) for longer than a step while deliveries are
//! being written.

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use vizhook_store::{PruneStats, Store, StoreError};

use vizhook_runtime::{
    ErrorChain,
    retention::{Swept, in_steps},
};

/// Rows a step deletes at most in each table. On SQLite a step is one job of the writer, in
/// the same group commit as the deliveries' own writes: 200 deliveries with their attempts and
/// events take it a few milliseconds, which is what a delivery committed beside them waits.
pub(crate) const PRUNE_STEP: u32 = 200;

pub(crate) async fn run(
    store: Arc<dyn Store>,
    retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let stop = shutdown.clone();
    vizhook_runtime::retention::every(interval, shutdown, || async {
        let before = OffsetDateTime::now_utc() - retention;
        let Swept {
            total,
            steps,
            elapsed,
        } = sweep(&*store, before, &stop).await;
        if total.deliveries > 0 || total.events > 0 {
            tracing::info!(
                deliveries = total.deliveries,
                events = total.events,
                steps,
                elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                "retention removed old deliveries"
            );
        }
    })
    .await;
}

/// Prunes everything finished before `before`, in steps (see
/// [`vizhook_runtime::retention::in_steps`]), logging a step's failure.
async fn sweep(
    store: &dyn Store,
    before: OffsetDateTime,
    stop: &CancellationToken,
) -> Swept<PruneStats> {
    let (swept, error) = in_steps(stop, || async move {
        let step = store.prune(before, PRUNE_STEP).await?;
        Ok::<_, StoreError>((step, step.reached(PRUNE_STEP)))
    })
    .await;
    if let Some(err) = error {
        tracing::error!(error = %ErrorChain(&err), "retention failed");
    }
    swept
}
