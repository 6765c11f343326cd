//! Recording attempts while other transactions hold the rows they need: lock orders that
//! must not deadlock (against the server named by `VIZHOOK_TEST_POSTGRES_URL`; skipped, by
//! name, when it is unset).

use std::time::Duration;

use futures_util::future::join_all;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;
use vizhook_core::{Event, EventId, EventKind};
use vizhook_store::{
    AttemptNext, AttemptRecord, ClaimRequest, ClaimedDelivery, FailurePolicy, Identity, Outbox,
    PublishEvent, Sites, Webhooks,
    testkit::{T0, project_for, seed, site, webhook},
};

use crate::{PgStore, testing};

/// A seeded store with one webhook on the Default site, `count` events published to it and
/// their deliveries claimed: (store, url, webhook, claimed).
async fn claimed_deliveries(
    test: &str,
    count: usize,
) -> Option<(PgStore, String, vizhook_core::Webhook, Vec<ClaimedDelivery>)> {
    let url = testing::fresh_url(test).await?;
    let store = PgStore::open(&url).await.expect("open store");
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let hook = webhook(seed.site.id, seed.user_id, "raced");
    store.create_webhook(&hook).await.unwrap();
    let events: Vec<PublishEvent> = (0..count)
        .map(|i| PublishEvent {
            event: Event {
                id: EventId::from_uuid(Uuid::new_v4()),
                kind: hook.event,
                resource: hook.event.default_resource(),
                resource_name: format!("e{i}"),
                site_id: seed.site.id,
                resource_luid: Uuid::new_v4().to_string(),
                created_at: T0,
            },
            payload: b"{}".to_vec(),
        })
        .collect();
    store.publish_events(&events).await.unwrap();
    let claimed = store
        .claim_deliveries(&ClaimRequest {
            now: T0,
            lease_until: T0 + time::Duration::seconds(30),
            limit: 1000,
            exclude: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), count);
    Some((store, url, hook, claimed))
}

fn outcome(claimed: &ClaimedDelivery, next: AttemptNext) -> AttemptRecord {
    AttemptRecord {
        delivery_id: claimed.id,
        webhook_id: claimed.webhook_id,
        number: claimed.attempt,
        started_at: T0,
        latency_ms: 5,
        status: Some(if next == AttemptNext::Delivered {
            200
        } else {
            500
        }),
        error: None,
        response_excerpt: None,
        next,
    }
}

fn never_disable() -> FailurePolicy {
    FailurePolicy {
        disable_after: 1000,
        reason: "failed".to_owned(),
        now: T0,
    }
}

/// Failed deliveries of one webhook recorded by eight recorders at once (eight nodes): each
/// counts, none is lost to another's write of the count.
#[tokio::test]
async fn concurrent_recorders_count_every_failure_of_a_webhook() {
    let test = "concurrent_recorders_count_every_failure_of_a_webhook";
    let Some((store, url, hook, claimed)) = claimed_deliveries(test, 64).await else {
        return;
    };
    let policy = never_disable();
    let batches: Vec<Vec<AttemptRecord>> = claimed
        .chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .map(|c| outcome(c, AttemptNext::Failed))
                .collect()
        })
        .collect();
    let results = join_all(batches.iter().map(|b| store.record_attempts(b, &policy))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let count: i32 = sqlx::query_scalar("SELECT consecutive_failures FROM webhooks WHERE id = $1")
        .bind(hook.id.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 64);
}

/// One attempt recorded by two nodes at once (the first lost its lease while sending, and
/// the second sent it again): it is recorded once, and counted once.
#[tokio::test]
async fn an_attempt_recorded_by_two_nodes_at_once_counts_once() {
    let test = "an_attempt_recorded_by_two_nodes_at_once_counts_once";
    let Some((store, url, hook, claimed)) = claimed_deliveries(test, 32).await else {
        return;
    };
    let policy = never_disable();
    let records: Vec<AttemptRecord> = claimed
        .iter()
        .map(|c| outcome(c, AttemptNext::Failed))
        .collect();
    let results = join_all([
        store.record_attempts(&records, &policy),
        store.record_attempts(&records, &policy),
    ])
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let count: i32 = sqlx::query_scalar("SELECT consecutive_failures FROM webhooks WHERE id = $1")
        .bind(hook.id.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 32);
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM attempts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(attempts, 32);
}

/// Deliveries of a healthy webhook recorded on several nodes at once, while one node records
/// a failure: the deliveries neither wait for nor undo each other, and the failure counts.
#[tokio::test]
async fn deliveries_recorded_beside_a_failure_leave_the_failure_counted() {
    let test = "deliveries_recorded_beside_a_failure_leave_the_failure_counted";
    let Some((store, url, hook, claimed)) = claimed_deliveries(test, 33).await else {
        return;
    };
    let policy = never_disable();
    let (failing, delivered) = claimed.split_at(1);
    let mut batches: Vec<Vec<AttemptRecord>> = delivered
        .chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .map(|c| outcome(c, AttemptNext::Delivered))
                .collect()
        })
        .collect();
    batches.push(vec![outcome(&failing[0], AttemptNext::Failed)]);
    let results = join_all(batches.iter().map(|b| store.record_attempts(b, &policy))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let (count, delivered): (i32, i64) = sqlx::query_as(
        "SELECT w.consecutive_failures, \
                (SELECT count(*) FROM deliveries WHERE state = 'delivered') \
         FROM webhooks w WHERE w.id = $1",
    )
    .bind(hook.id.to_string())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(delivered, 32);
    // The failure is ordered after every delivery its transaction saw, and before those it
    // did not: either way it was the last word on a webhook that was at 0.
    assert!(count == 1 || count == 0, "{count}");
    // A delivery recorded after the failure resets the count, under the webhook's lock.
    let more = claimed_more(&store, &hook).await;
    store
        .record_attempts(&[outcome(&more, AttemptNext::Delivered)], &policy)
        .await
        .unwrap();
    let count: i32 = sqlx::query_scalar("SELECT consecutive_failures FROM webhooks WHERE id = $1")
        .bind(hook.id.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

/// Publishes one more event to `hook` and claims its delivery.
async fn claimed_more(store: &PgStore, hook: &vizhook_core::Webhook) -> ClaimedDelivery {
    let event = Event {
        id: EventId::from_uuid(Uuid::new_v4()),
        kind: hook.event,
        resource: hook.event.default_resource(),
        resource_name: "more".to_owned(),
        site_id: hook.site_id,
        resource_luid: Uuid::new_v4().to_string(),
        created_at: T0,
    };
    store
        .publish_events(&[PublishEvent {
            event,
            payload: b"{}".to_vec(),
        }])
        .await
        .unwrap();
    let mut claimed = store
        .claim_deliveries(&ClaimRequest {
            now: T0,
            lease_until: T0 + time::Duration::seconds(30),
            limit: 10,
            exclude: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    claimed.remove(0)
}

/// Waits until some backend is blocked by `pid`'s locks, and returns the blocked one's pid.
async fn blocked_by(observer: &mut PgConnection, pid: i32) -> i32 {
    for _ in 0..200 {
        let blocked: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) LIMIT 1",
        )
        .bind(pid)
        .fetch_optional(&mut *observer)
        .await
        .unwrap();
        if let Some(blocked) = blocked {
            return blocked;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing waited for the locks of backend {pid}");
}

/// A site deleted while an attempt that disables its webhook is being recorded: the recorder
/// holds the webhook's row and then writes the notice; the deletion holds the site's row and
/// then cascades to the webhook. Both must finish (no deadlock, which PostgreSQL would end by
/// failing one of them after `deadlock_timeout`).
#[tokio::test]
async fn deleting_a_site_while_its_webhook_is_being_disabled_does_not_deadlock() {
    let test = "deleting_a_site_while_its_webhook_is_being_disabled_does_not_deadlock";
    let Some(url) = testing::fresh_url(test).await else {
        return;
    };
    let store = PgStore::open(&url).await.expect("open store");
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let doomed = site("Doomed", "doomed");
    store
        .create_site(&doomed, &project_for(&doomed), &[])
        .await
        .unwrap();
    let hook = webhook(doomed.id, seed.user_id, "failing");
    store.create_webhook(&hook).await.unwrap();
    let event = Event {
        id: EventId::from_uuid(Uuid::new_v4()),
        kind: EventKind::DatasourceRefreshFailed,
        resource: EventKind::DatasourceRefreshFailed.default_resource(),
        resource_name: "Sales".to_owned(),
        site_id: doomed.id,
        resource_luid: Uuid::new_v4().to_string(),
        created_at: T0,
    };
    let payload = b"{}".to_vec();
    store
        .publish_events(&[PublishEvent { event, payload }])
        .await
        .unwrap();
    let claimed = store
        .claim_deliveries(&ClaimRequest {
            now: T0,
            lease_until: T0 + time::Duration::seconds(30),
            limit: 10,
            exclude: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let record = AttemptRecord {
        delivery_id: claimed[0].id,
        webhook_id: hook.id,
        number: claimed[0].attempt,
        started_at: T0,
        latency_ms: 5,
        status: Some(500),
        error: None,
        response_excerpt: None,
        next: AttemptNext::Failed,
    };
    let policy = FailurePolicy {
        disable_after: 1,
        reason: "failed".to_owned(),
        now: T0,
    };

    // The delivery's row is held, so the recorder stops after locking the webhook.
    let mut holder = PgConnection::connect(&url).await.unwrap();
    let mut observer = PgConnection::connect(&url).await.unwrap();
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT id FROM deliveries FOR UPDATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let recording = tokio::spawn({
        let store = store.clone();
        async move { store.record_attempts(&[record], &policy).await }
    });
    let recorder_pid = blocked_by(&mut observer, holder_pid).await;
    // The deletion takes the site, then waits for the webhook the recorder holds.
    let deleting = tokio::spawn({
        let store = store.clone();
        async move { store.delete_site(doomed.id, &[]).await }
    });
    blocked_by(&mut observer, recorder_pid).await;
    sqlx::query("COMMIT").execute(&mut holder).await.unwrap();

    let disabled = tokio::time::timeout(Duration::from_secs(20), recording)
        .await
        .expect("recording finished")
        .unwrap()
        .expect("recording succeeded");
    assert_eq!(disabled.len(), 1, "the webhook was disabled");
    tokio::time::timeout(Duration::from_secs(20), deleting)
        .await
        .expect("deletion finished")
        .unwrap()
        .expect("deletion succeeded");
    assert!(store.site(doomed.id).await.unwrap().is_none());
    // The notice went with its site.
    assert!(store.notices(doomed.id, None).await.unwrap().is_empty());
    assert!(store.pending_notices(10).await.unwrap().is_empty());
}
