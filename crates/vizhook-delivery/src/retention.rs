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

#[cfg(test)]
mod tests {
    use time::Duration as Span;
    use uuid::Uuid;
    use vizhook_core::{Event, EventId, EventKind};
    use vizhook_store::{
        AttemptNext, AttemptRecord, ClaimRequest, DeliveryQuery, FailurePolicy, Identity, Outbox,
        PublishEvent, Webhooks,
        testkit::{T0, seed, webhook},
    };
    use vizhook_store_sqlite::SqliteStore;

    use super::*;

    #[tokio::test]
    async fn a_sweep_takes_as_many_steps_as_the_rows_need() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("retention.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let seed = seed();
        store.bootstrap(&seed).await.unwrap();
        let mut hook = webhook(seed.site.id, seed.user_id, "old");
        hook.event = EventKind::ViewDeleted;
        store.create_webhook(&hook).await.unwrap();
        let rows = u64::from(PRUNE_STEP) * 2 + 100;
        let events: Vec<PublishEvent> = (0..rows)
            .map(|i| PublishEvent {
                event: Event {
                    id: EventId::from_uuid(Uuid::now_v7()),
                    kind: EventKind::ViewDeleted,
                    resource: EventKind::ViewDeleted.default_resource(),
                    resource_name: format!("view {i}"),
                    site_id: seed.site.id,
                    resource_luid: Uuid::new_v4().to_string(),
                    created_at: T0,
                },
                payload: b"{}".to_vec(),
            })
            .collect();
        for chunk in events.chunks(500) {
            store.publish_events(chunk).await.unwrap();
        }
        let claim = ClaimRequest {
            now: T0,
            lease_until: T0 + Span::seconds(30),
            limit: u32::try_from(rows).unwrap(),
            exclude: Vec::new(),
        };
        let claimed = store.claim_deliveries(&claim).await.unwrap();
        assert_eq!(claimed.len() as u64, rows);
        let records: Vec<AttemptRecord> = claimed
            .iter()
            .map(|c| AttemptRecord {
                delivery_id: c.id,
                webhook_id: c.webhook_id,
                number: 1,
                started_at: T0,
                latency_ms: 3,
                status: Some(200),
                error: None,
                response_excerpt: None,
                next: AttemptNext::Delivered,
            })
            .collect();
        let policy = FailurePolicy {
            disable_after: 4,
            reason: "failing".to_owned(),
            now: T0,
        };
        store.record_attempts(&records, &policy).await.unwrap();

        let Swept { total, steps, .. } =
            sweep(&store, T0 + Span::minutes(1), &CancellationToken::new()).await;
        assert_eq!(
            total,
            PruneStats {
                deliveries: rows,
                events: rows
            }
        );
        assert_eq!(steps, 3, "two full steps of {PRUNE_STEP}, then the rest");
        let query = DeliveryQuery {
            limit: 10,
            ..DeliveryQuery::default()
        };
        let left = store
            .deliveries(seed.site.id, hook.id, &query)
            .await
            .unwrap();
        assert!(left.is_empty(), "{} deliveries left", left.len());
    }
}
