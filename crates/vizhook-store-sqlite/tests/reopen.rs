//! De-duplication keys live in memory while the store is open and in an append-only table on
//! disk: a store opened again on the same file must hold the same keys, with the latest holder
//! of a key that was taken again.

use time::Duration;
use vizhook_store::{Inbound, Inbox, Received, testkit::T0};
use vizhook_store_sqlite::SqliteStore;

fn inbound(id: &str, key: &str, minutes: i64) -> Inbound {
    let at = T0 + Duration::minutes(minutes);
    Inbound {
        id: id.to_owned(),
        source: "tableau".to_owned(),
        dedup_key: key.to_owned(),
        extra_dedup_keys: vec![format!("{key}:extra")],
        dedup_until: at + Duration::minutes(10),
        body: format!(r#"{{"id":"{id}"}}"#).into_bytes(),
        received_at: at,
        notifications: Vec::new(),
    }
}

fn duplicate_of(id: &str) -> Received {
    Received::Duplicate {
        original: id.to_owned(),
    }
}

#[tokio::test]
async fn keys_survive_reopening_the_store() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    let stored = Received::Stored { tasks: Vec::new() };
    {
        let store = SqliteStore::open(&url).await.expect("open");
        assert_eq!(store.receive(&inbound("a", "k1", 0)).await.unwrap(), stored);
        assert_eq!(store.receive(&inbound("b", "k2", 0)).await.unwrap(), stored);
        // k2 expires at minute 10 and is taken again by c.
        assert_eq!(
            store.receive(&inbound("c", "k2", 10)).await.unwrap(),
            stored
        );
        store.close().await;
    }
    let store = SqliteStore::open(&url).await.expect("open again");
    assert_eq!(
        store.receive(&inbound("d", "k1", 5)).await.unwrap(),
        duplicate_of("a")
    );
    assert_eq!(
        store.receive(&inbound("e", "k2", 15)).await.unwrap(),
        duplicate_of("c"),
        "the latest holder of a key taken again"
    );
    let mut by_extra = inbound("f", "new", 16);
    by_extra.extra_dedup_keys = vec!["k2:extra".to_owned()];
    assert_eq!(
        store.receive(&by_extra).await.unwrap(),
        duplicate_of("c"),
        "extra keys are kept too"
    );
    assert_eq!(
        store.receive(&inbound("g", "k1", 10)).await.unwrap(),
        stored,
        "a key is free at its expiry after reopening as before"
    );
}
