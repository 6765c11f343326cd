//! Times the outbox's phases on a fresh database: publishing events, claiming their deliveries
//! and recording their attempts, in batches as the server does. For finding where store time
//! goes; `bench/` measures the whole server.
//!
//! Run: `cargo run --profile profiling -p vizhook-store-sqlite --example outbox_profile`

use std::time::Instant;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use vizhook_core::*;
use vizhook_store::*;
use vizhook_store_sqlite::SqliteStore;

const EVENTS: usize = 50_000;
const BATCH: usize = 500;
const CLAIM: u32 = 256;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let site = Site {
        id: SiteId::from_uuid(Uuid::now_v7()),
        name: "Default".into(),
        content_url: ContentUrl::default_site(),
        admin_mode: "ContentAndUsers".into(),
        state: "Active".into(),
        created_at: now,
        updated_at: now,
    };
    let user = UserId::from_uuid(Uuid::now_v7());
    let seed = BootstrapSeed {
        default_project: Project {
            id: ProjectId::from_uuid(Uuid::now_v7()),
            site_id: site.id,
            name: "Default".into(),
            description: String::new(),
            parent_id: None,
            owner_id: user,
            created_at: now,
            updated_at: now,
        },
        site: site.clone(),
        account: Account {
            id: AccountId::from_uuid(Uuid::now_v7()),
            name: "a".into(),
            password_hash: None,
            server_admin: true,
        },
        user_id: user,
        access_token: None,
        now,
    };
    store.bootstrap(&seed).await.unwrap();
    let webhook = Webhook::create(
        NewWebhookContext {
            id: WebhookId::from_uuid(Uuid::now_v7()),
            site_id: site.id,
            owner_id: user,
            now,
        },
        WebhookName::parse("w").unwrap(),
        EventKind::ViewDeleted,
        DestinationUrl::parse("https://example.com/x", UrlPolicy::default()).unwrap(),
        StatusPatch::default(),
    )
    .unwrap();
    store.create_webhook(&webhook).await.unwrap();

    let started = Instant::now();
    for batch in 0..EVENTS / BATCH {
        let events: Vec<PublishEvent> = (0..BATCH)
            .map(|i| {
                let event = Event {
                    id: EventId::from_uuid(Uuid::now_v7()),
                    kind: EventKind::ViewDeleted,
                    resource: Resource::View,
                    resource_name: format!("{batch}-{i}"),
                    site_id: site.id,
                    resource_luid: format!("{i}"),
                    created_at: now,
                };
                let payload = format!(r#"{{"resource":"VIEW","event_type":"ViewDeleted","resource_name":"{batch}-{i}","site_luid":"{}","resource_luid":"{i}","created_at":"2026-11-23T00:00:00Z"}}"#, site.id).into_bytes();
                PublishEvent { event, payload }
            })
            .collect();
        store.publish_events(&events).await.unwrap();
    }
    let publish = started.elapsed();

    let (mut claim_time, mut record_time, mut total) =
        (std::time::Duration::ZERO, std::time::Duration::ZERO, 0);
    loop {
        let t = Instant::now();
        let now = OffsetDateTime::now_utc();
        let claimed = store
            .claim_deliveries(&ClaimRequest {
                now,
                lease_until: now + Duration::seconds(60),
                limit: CLAIM,
                exclude: vec![],
            })
            .await
            .unwrap();
        claim_time += t.elapsed();
        if claimed.is_empty() {
            break;
        }
        total += claimed.len();
        let records: Vec<AttemptRecord> = claimed
            .iter()
            .map(|c| AttemptRecord {
                delivery_id: c.id,
                webhook_id: c.webhook_id,
                number: c.attempt,
                started_at: now,
                latency_ms: 1,
                status: Some(200),
                error: None,
                response_excerpt: Some("ok".into()),
                next: AttemptNext::Delivered,
            })
            .collect();
        let t = Instant::now();
        store
            .record_attempts(
                &records,
                &FailurePolicy {
                    disable_after: 4,
                    reason: "x".into(),
                    now,
                },
            )
            .await
            .unwrap();
        record_time += t.elapsed();
    }
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / EVENTS as f64;
    eprintln!(
        "{EVENTS} events, 1 webhook, batches of {BATCH} / claims of {CLAIM}; {total} delivered"
    );
    eprintln!(
        "publish  {:>8.1} ms  {:>6.1} us/event",
        publish.as_secs_f64() * 1e3,
        per(publish)
    );
    eprintln!(
        "claim    {:>8.1} ms  {:>6.1} us/delivery",
        claim_time.as_secs_f64() * 1e3,
        per(claim_time)
    );
    eprintln!(
        "record   {:>8.1} ms  {:>6.1} us/delivery",
        record_time.as_secs_f64() * 1e3,
        per(record_time)
    );
}
