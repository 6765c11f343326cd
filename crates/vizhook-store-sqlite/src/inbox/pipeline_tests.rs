//! The pipelined intake against a log fsync that the test holds back: nothing is answered
//! stored before the fsync that covers it, a repeat of an event not yet durable is answered a
//! duplicate only once the original is, a second batch commits while the first waits, and a
//! failed fsync fails what it covered and stops the writer.

use std::{
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_store::{Inbound, Inbox, Received, StoreResult};

use crate::{Options, SqliteStore, writer::WalSync};

/// A log fsync that runs only when the test lets it: each call reports itself on `started` and
/// waits for one message on `release` (`Err` makes it fail).
struct Gate {
    started: mpsc::Receiver<()>,
    release: mpsc::Sender<std::io::Result<()>>,
}

fn gated() -> (WalSync, Gate) {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<std::io::Result<()>>();
    let release_rx = Mutex::new(release_rx);
    let sync: WalSync = Arc::new(move || {
        let _ = started_tx.send(());
        release_rx
            .lock()
            .unwrap()
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the test ended")))
    });
    (sync, Gate { started, release })
}

impl Gate {
    /// Waits until an fsync has started (the writer committed something and is syncing it).
    fn wait_started(&self) {
        self.started
            .recv_timeout(Duration::from_secs(10))
            .expect("an fsync starts");
    }
}

fn inbound(key: &str) -> Inbound {
    let now = OffsetDateTime::now_utc();
    Inbound {
        id: Uuid::new_v4().to_string(),
        source: "tableau".to_owned(),
        dedup_key: key.to_owned(),
        extra_dedup_keys: Vec::new(),
        dedup_until: now + time::Duration::hours(1),
        body: format!(r#"{{"key":"{key}"}}"#).into_bytes(),
        received_at: now,
        notifications: Vec::new(),
    }
}

async fn open(dir: &tempfile::TempDir, sync: WalSync) -> Arc<SqliteStore> {
    let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
    Arc::new(
        SqliteStore::open_syncing(&url, Options::default(), Some(sync))
            .await
            .unwrap(),
    )
}

fn spawn_receive(
    store: &Arc<SqliteStore>,
    inbound: Inbound,
) -> tokio::task::JoinHandle<StoreResult<Received>> {
    let store = store.clone();
    tokio::spawn(async move { store.receive(&inbound).await })
}

/// Gives the tasks time to run: whatever could answer has answered.
async fn settle_a_little() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_acknowledged_before_its_fsync_and_repeats_wait_for_their_original() {
    let dir = tempfile::tempdir().unwrap();
    let (sync, gate) = gated();
    let store = open(&dir, sync).await;

    let first = spawn_receive(&store, inbound("a"));
    gate.wait_started();
    // The first batch is committed and waits for its fsync: the second commits meanwhile.
    let repeat = spawn_receive(&store, inbound("a"));
    let second = spawn_receive(&store, inbound("b"));
    for _ in 0..100 {
        if store.inbox(10).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store.inbox(10).await.unwrap().len(),
        2,
        "the second batch committed while the first waited for its fsync"
    );
    settle_a_little().await;
    assert!(!first.is_finished(), "answered before its fsync");
    assert!(!second.is_finished(), "answered before its fsync");
    assert!(
        !repeat.is_finished(),
        "a repeat of an event not yet durable waits for it"
    );

    gate.release.send(Ok(())).unwrap();
    assert!(matches!(
        first.await.unwrap().unwrap(),
        Received::Stored { .. }
    ));
    assert!(
        matches!(repeat.await.unwrap().unwrap(), Received::Duplicate { .. }),
        "the repeat is a duplicate once its original is durable"
    );
    // The second batch's fsync starts only now, after the first's.
    gate.wait_started();
    settle_a_little().await;
    assert!(!second.is_finished(), "answered before its own fsync");
    gate.release.send(Ok(())).unwrap();
    assert!(matches!(
        second.await.unwrap().unwrap(),
        Received::Stored { .. }
    ));
    // A repeat of a durable event is answered at once, with no fsync.
    let again = store.receive(&inbound("a")).await.unwrap();
    assert!(matches!(again, Received::Duplicate { .. }), "{again:?}");
    let entries = store.inbox(10).await.unwrap();
    assert_eq!(entries.len(), 2, "two events stored, the repeats not");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_fails_its_events_and_their_repeats_and_stops_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let (sync, gate) = gated();
    let store = open(&dir, sync).await;

    let first = spawn_receive(&store, inbound("lost"));
    gate.wait_started();
    let repeat = spawn_receive(&store, inbound("lost"));
    settle_a_little().await;
    gate.release
        .send(Err(std::io::Error::other("disk gone")))
        .unwrap();
    assert!(first.await.unwrap().is_err(), "not durable: not stored");
    // The repeat's batch had nothing to store; its answer follows its original's.
    let answered = repeat.await.unwrap();
    assert!(
        answered.is_err(),
        "a repeat of an event that failed is not a duplicate: {answered:?}"
    );
    // The writer stops for good after a failed fsync (a later one could succeed over lost
    // pages): every write fails until the store is opened again.
    let refused = store.receive(&inbound("other")).await;
    assert!(refused.is_err(), "{refused:?}");
    drop(store);
    let (sync, gate) = gated();
    let store = open(&dir, sync).await;
    // Sent again, it is answered: stored, or a duplicate of the row the failed fsync may have
    // left (never lost, never answered before an fsync).
    let retried = spawn_receive(&store, inbound("lost"));
    let _ = gate.started.recv_timeout(Duration::from_secs(2));
    let _ = gate.release.send(Ok(()));
    let answered = retried.await.unwrap().unwrap();
    assert!(
        matches!(
            answered,
            Received::Stored { .. } | Received::Duplicate { .. }
        ),
        "{answered:?}"
    );
}
