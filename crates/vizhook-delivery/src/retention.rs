//! Retention: deletes finished deliveries, their attempts and their events once they are older
//! than `delivery.retention`, so that storage stays bounded. Pending deliveries are kept.

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use vizhook_store::Store;

use vizhook_runtime::ErrorChain;

pub(crate) async fn run(
    store: Arc<dyn Store>,
    retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) {
    vizhook_runtime::retention::every(interval, shutdown, || async {
        let before = OffsetDateTime::now_utc() - retention;
        match store.prune(before).await {
            Ok(stats) if stats.deliveries > 0 || stats.events > 0 => {
                tracing::info!(
                    deliveries = stats.deliveries,
                    events = stats.events,
                    "retention removed old deliveries"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %ErrorChain(&err), "retention failed"),
        }
    })
    .await;
}
