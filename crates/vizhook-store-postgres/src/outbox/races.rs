//! Recording attempts while other transactions hold the rows they need: lock orders that
//! must not deadlock (against the server named by `VIZHOOK_TEST_POSTGRES_URL`; skipped, by
//! name, when it is unset).

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use uuid::Uuid;
use vizhook_core::{Event, EventId, EventKind};
use vizhook_store::{
    AttemptNext, AttemptRecord, ClaimRequest, FailurePolicy, Identity, Outbox, PublishEvent, Sites,
    Webhooks,
    testkit::{T0, project_for, seed, site, webhook},
};

use crate::{PgStore, testing};

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
