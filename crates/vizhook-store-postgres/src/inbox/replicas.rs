//! Tests of the inbox with two replicas: two stores opened on one schema (each with its own
//! pool, so nothing of the process orders their receives), receiving the same events, firing
//! and recovering the same groups and claiming the same tasks at the same moment, on the
//! server named by `VIZHOOK_TEST_POSTGRES_URL` (skipped by name when it is unset).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration as StdDuration,
};

use futures_util::future::join_all;
use time::{Duration, OffsetDateTime, macros::datetime};
use vizhook_core::notify::{Intent, Notice};
use vizhook_store::{
    Inbound, Inbox, PlannedNotification, Received, TaskClaimRequest, TaskNext, TaskRecord,
};

use crate::{Options, PgStore, testing};

const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);
const HOUR: StdDuration = StdDuration::from_secs(3600);

async fn replicas(test: &str) -> Option<(PgStore, PgStore)> {
    let url = testing::fresh_url(test).await?;
    let options = || Options {
        pool_size: 8,
        ..Options::default()
    };
    let a = PgStore::open_with(&url, options()).await.expect("open a");
    let b = PgStore::open_with(&url, options()).await.expect("open b");
    Some((a, b))
}

fn event(keys: &[&str], at: OffsetDateTime, plans: Vec<PlannedNotification>) -> Inbound {
    Inbound {
        id: uuid::Uuid::now_v7().to_string(),
        source: "tableau".to_owned(),
        dedup_key: keys[0].to_owned(),
        extra_dedup_keys: keys[1..].iter().map(|k| (*k).to_owned()).collect(),
        dedup_until: at + Duration::minutes(10),
        body: b"{}".to_vec(),
        received_at: at,
        notifications: plans,
    }
}

fn plan(group: &str, intent: Intent) -> PlannedNotification {
    PlannedNotification {
        receiver: "pager".to_owned(),
        group_key: group.to_owned(),
        intent,
        repeat_interval: HOUR,
        spec: "spec".to_owned(),
    }
}

fn claim(now: OffsetDateTime, limit: u32) -> TaskClaimRequest {
    TaskClaimRequest {
        now,
        lease_until: now + Duration::seconds(30),
        limit,
        exclude: Vec::new(),
    }
}

fn notices(received: &Received) -> Vec<Notice> {
    match received {
        Received::Stored { tasks } => tasks.iter().map(|(_, n)| *n).collect(),
        Received::Duplicate { .. } => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_store_a_repeat_once() {
    let Some((a, b)) = replicas("inbox::replicas_store_a_repeat_once").await else {
        return;
    };
    for round in 0..100 {
        let key = format!("k{round}");
        // Keys in opposite orders as well: no deadlock, one stored.
        let (first, second) = if round % 2 == 0 {
            (
                event(&[&key], T0, Vec::new()),
                event(&[&key], T0, Vec::new()),
            )
        } else {
            let other = format!("x{round}");
            (
                event(&[&key, &other], T0, Vec::new()),
                event(&[&other, &key], T0, Vec::new()),
            )
        };
        let (one, two) = tokio::join!(a.receive(&first), b.receive(&second));
        let (one, two) = (one.expect("a receives"), two.expect("b receives"));
        match (&one, &two) {
            (Received::Stored { .. }, Received::Duplicate { original }) => {
                assert_eq!(original, &first.id);
            }
            (Received::Duplicate { original }, Received::Stored { .. }) => {
                assert_eq!(original, &second.id);
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
    assert_eq!(a.inbox(1000).await.expect("inbox").len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_decide_a_group_once() {
    let Some((a, b)) = replicas("inbox::replicas_decide_a_group_once").await else {
        return;
    };
    for round in 0..50 {
        let group = format!("g{round}");
        let fire = |n| {
            event(
                &[&format!("f{round}-{n}")],
                T0,
                vec![plan(&group, Intent::Fire)],
            )
        };
        let (one, two) = (fire(1), fire(2));
        let (one, two) = tokio::join!(a.receive(&one), b.receive(&two));
        let mut sent = notices(&one.expect("a fires"));
        sent.extend(notices(&two.expect("b fires")));
        assert_eq!(
            sent,
            [Notice::Firing],
            "round {round}: within the repeat interval"
        );

        let at = T0 + Duration::minutes(1);
        let resolve = |n| {
            event(
                &[&format!("r{round}-{n}")],
                at,
                vec![plan(&group, Intent::Resolve)],
            )
        };
        let (one, two) = (resolve(1), resolve(2));
        let (one, two) = tokio::join!(a.receive(&one), b.receive(&two));
        let mut sent = notices(&one.expect("a resolves"));
        sent.extend(notices(&two.expect("b resolves")));
        assert_eq!(
            sent,
            [Notice::Resolved],
            "round {round}: a group recovers once"
        );
    }
    // Every firing task was superseded by its group's recovery: only recoveries are due.
    let due = a
        .exchange_tasks(&[], Some(&claim(T0 + Duration::minutes(5), 1000)))
        .await
        .expect("claim");
    assert_eq!(due.len(), 50);
    assert!(due.iter().all(|t| t.notice == Notice::Resolved));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_claim_a_task_once_and_wake_each_other() {
    let Some((a, b)) = replicas("inbox::replicas_claim_a_task_once").await else {
        return;
    };
    let woken = Arc::new(AtomicUsize::new(0));
    let counter = woken.clone();
    b.on_remote_tasks(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let events: Vec<Inbound> = (0..60)
        .map(|i| {
            let plans = (0..4)
                .map(|g| plan(&format!("e{i}g{g}"), Intent::Fire))
                .collect();
            event(&[&format!("e{i}")], T0, plans)
        })
        .collect();
    let received = join_all(events.iter().enumerate().map(|(i, e)| {
        let store = if i % 2 == 0 { &a } else { &b };
        store.receive(e)
    }))
    .await;
    assert!(received.iter().all(|r| r.is_ok()));
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(5);
    while woken.load(Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert!(woken.load(Ordering::SeqCst) > 0, "b hears of a's tasks");

    let request = claim(T0, 25);
    let claims = join_all((0..16).map(|i| {
        let store = if i % 2 == 0 { &a } else { &b };
        store.exchange_tasks(&[], Some(&request))
    }))
    .await;
    let mut ids: Vec<i64> = Vec::new();
    let mut records: Vec<TaskRecord> = Vec::new();
    for claimed in claims {
        for task in claimed.expect("claims") {
            ids.push(task.id);
            records.push(TaskRecord {
                id: task.id,
                receiver: task.receiver,
                finished_at: T0,
                error: None,
                next: TaskNext::Delivered,
            });
        }
    }
    assert_eq!(ids.len(), 240);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 240, "no task was claimed twice");
    // Records from both replicas, and a prune, at once.
    let (left, right) = records.split_at(records.len() / 2);
    let (one, two, pruned) = tokio::join!(
        a.exchange_tasks(left, None),
        b.exchange_tasks(right, None),
        a.prune_inbox(T0 + Duration::days(1), 100),
    );
    one.expect("a records");
    two.expect("b records");
    pruned.expect("prunes");
    assert_eq!(a.next_task_due().await.expect("due"), None);
}
