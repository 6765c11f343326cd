//! The write-ahead log is copied into the database file in the background, soon after a
//! commit, long before the writer's own checkpoint at 16 MiB of log would do it.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use vizhook_store::{Inbound, Inbox};
use vizhook_store_sqlite::SqliteStore;

#[tokio::test]
async fn commits_reach_the_database_file_without_closing_the_store() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("checkpoint.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let before = std::fs::metadata(&path).expect("database file").len();
    let now = OffsetDateTime::now_utc();
    // About 1 MiB of events: far below the writer's own checkpoint threshold.
    for n in 0..256 {
        let inbound = Inbound {
            id: format!("event-{n}"),
            source: "tableau".to_owned(),
            dedup_key: format!("key-{n}"),
            extra_dedup_keys: Vec::new(),
            dedup_until: now + time::Duration::minutes(10),
            body: vec![b'x'; 4096],
            received_at: now,
            notifications: Vec::new(),
        };
        store.receive(&inbound).await.expect("receive");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let size = std::fs::metadata(&path).expect("database file").len();
        if size >= before + 1024 * 1024 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the database file stayed at {size} bytes (was {before}): nothing was checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
