//! Times the inbox on a fresh database: distinct events stored by 64 concurrent callers, as
//! `vizhook receive` does under load, with or without one planned notification each. For
//! finding where store time goes; `bench/ --scenario receive` measures the whole receiver.
//!
//! Run: `cargo run --profile profiling -p vizhook-store-sqlite --example inbox_profile [-- EVENTS PLANS CALLERS]`

use std::{sync::Arc, time::Instant};

use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use vizhook_core::notify::Intent;
use vizhook_store::*;
use vizhook_store_sqlite::SqliteStore;

const CALLERS_DEFAULT: usize = 64;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let plans: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let callers: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(CALLERS_DEFAULT);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
            .await
            .unwrap(),
    );
    let started = Instant::now();
    let callers: Vec<_> = (0..callers)
        .map(|caller| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (caller..events).step_by(callers) {
                    let now = OffsetDateTime::now_utc();
                    let body = format!(
                        r#"{{"resource":"DATASOURCE","event_type":"DatasourceRefreshFailed","resource_name":"{now}","site_luid":"{}","resource_luid":"{n}","created_at":"{now}"}}"#,
                        Uuid::nil()
                    );
                    let inbound = Inbound {
                        id: Uuid::now_v7().to_string(),
                        source: "tableau".into(),
                        dedup_key: format!("tableau:sha256:{}", Uuid::new_v4().simple()),
                        extra_dedup_keys: Vec::new(),
                        dedup_until: now + Duration::minutes(10),
                        body: body.into_bytes(),
                        received_at: now,
                        notifications: (0..plans)
                            .map(|_| PlannedNotification {
                                receiver: "bench/0".into(),
                                group_key: String::new(),
                                intent: Intent::Fire,
                                repeat_interval: std::time::Duration::from_secs(3600),
                                spec: "{\"event\":{}}".into(),
                            })
                            .collect(),
                    };
                    store.receive(&inbound).await.unwrap();
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.unwrap();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{events} events, {plans} plans each: {:.2} s = {:.0}/s",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
}
