//! Conformance checks for `Inbox`'s receiving: de-duplication, alert groups (repeats,
//! resolution, recovery superseding unsent failures), a failing receive alone in its batch,
//! and retention.

use std::time::Duration as StdDuration;

use futures_util::future::join_all;
use time::Duration;
use vizhook_core::notify::{Intent, Notice};

use super::fixtures::*;
use crate::{
    Inbound, Inbox, InboxPruned, Received, StoreError, TaskNext, TaskRecord, TaskState,
    testkit::fixtures::T0,
};

pub async fn inbox_dedups_within_window(store: &impl Inbox) {
    let first = inbound("k1", T0, Vec::new());
    assert_eq!(store.receive(&first).await.unwrap(), stored(&[]));
    let repeat = inbound(
        "k1",
        minutes(5),
        vec![plan("pager", "g", Intent::Fire, HOUR)],
    );
    assert_eq!(
        store.receive(&repeat).await.unwrap(),
        Received::Duplicate {
            original: first.id.clone()
        }
    );
    let entries = store.inbox(10).await.unwrap();
    assert_eq!(entries.len(), 1, "a duplicate writes nothing");
    let entry = &entries[0];
    assert_eq!(
        (
            entry.id.as_str(),
            entry.source.as_str(),
            entry.dedup_key.as_str()
        ),
        (first.id.as_str(), "tableau", "k1")
    );
    assert_eq!((&entry.body, entry.received_at), (&first.body, T0));
    assert!(entry.tasks.is_empty());
    assert_eq!(store.next_task_due().await.unwrap(), None);

    let other = inbound("k2", minutes(6), Vec::new());
    assert_eq!(store.receive(&other).await.unwrap(), stored(&[]));
    let later = inbound("k1", minutes(10), Vec::new());
    assert_eq!(
        store.receive(&later).await.unwrap(),
        stored(&[]),
        "a key is free again at its dedup_until"
    );
    assert_eq!(
        store
            .receive(&inbound("k1", minutes(11), Vec::new()))
            .await
            .unwrap(),
        Received::Duplicate {
            original: later.id.clone()
        },
        "the new event holds the key"
    );
    let ids: Vec<String> = store
        .inbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, [later.id, other.id, first.id.clone()], "newest first");
    assert_eq!(store.inbox(1).await.unwrap().len(), 1);

    // Extra keys: a repeat under any key of an event is a duplicate, and all are taken.
    let both = Inbound {
        extra_dedup_keys: vec!["hash-a".to_owned()],
        ..inbound("id-a", minutes(20), Vec::new())
    };
    assert_eq!(store.receive(&both).await.unwrap(), stored(&[]));
    for (key, extra) in [("id-b", "hash-a"), ("id-a", "hash-b"), ("hash-a", "none")] {
        let repeat = Inbound {
            extra_dedup_keys: vec![extra.to_owned()],
            ..inbound(key, minutes(21), Vec::new())
        };
        assert_eq!(
            store.receive(&repeat).await.unwrap(),
            Received::Duplicate {
                original: both.id.clone()
            },
            "{key} + {extra}"
        );
    }

    // Concurrent repeats reach the writer together and still see each other.
    let burst: Vec<Inbound> = (0..10).map(|_| inbound("k3", T0, Vec::new())).collect();
    let results = join_all(burst.iter().map(|i| store.receive(i))).await;
    let stored_ids: Vec<&str> = burst
        .iter()
        .zip(&results)
        .filter(|(_, r)| matches!(r, Ok(Received::Stored { .. })))
        .map(|(i, _)| i.id.as_str())
        .collect();
    assert_eq!(stored_ids.len(), 1, "stored once");
    for result in &results {
        match result.as_ref().unwrap() {
            Received::Stored { .. } => {}
            Received::Duplicate { original } => assert_eq!(original, stored_ids[0]),
        }
    }
}

pub async fn inbox_groups_repeat_and_resolve(store: &impl Inbox) {
    use Intent::{Fire, Resolve};
    use Notice::{Firing, Resolved};
    let fire = |at, key| inbound(key, at, vec![plan("pager", "g1", Fire, HOUR)]);
    let first = fire(T0, "e0");
    assert_eq!(
        store.receive(&first).await.unwrap(),
        stored(&[("pager", Firing)])
    );
    // A duplicate decides nothing: the group stays firing.
    let mut duplicate = inbound("e0", minutes(1), vec![plan("pager", "g1", Resolve, HOUR)]);
    duplicate.dedup_until = minutes(2);
    assert!(matches!(
        store.receive(&duplicate).await.unwrap(),
        Received::Duplicate { .. }
    ));
    // Groups are per receiver and per key; plans of one group in one event see each other.
    let mixed = inbound(
        "e1",
        minutes(5),
        vec![
            plan("pager", "g1", Fire, HOUR),
            plan("chat", "g1", Fire, HOUR),
            plan("pager", "g2", Fire, HOUR),
            plan("pager", "g3", Fire, HOUR),
            plan("pager", "g3", Fire, HOUR),
        ],
    );
    assert_eq!(
        store.receive(&mixed).await.unwrap(),
        stored(&[("chat", Firing), ("pager", Firing), ("pager", Firing)]),
        "pager/g1 is within its repeat interval; the second pager/g3 repeats the first"
    );
    assert_eq!(
        store.receive(&fire(minutes(61), "e2")).await.unwrap(),
        stored(&[("pager", Firing)]),
        "the repeat interval ran out"
    );
    let resolve = |at, key| {
        inbound(
            key,
            at,
            vec![
                plan("pager", "g1", Resolve, HOUR),
                plan("chat", "g1", Resolve, HOUR),
                plan("mail", "g1", Resolve, HOUR),
            ],
        )
    };
    assert_eq!(
        store.receive(&resolve(minutes(62), "e3")).await.unwrap(),
        stored(&[("pager", Resolved), ("chat", Resolved)]),
        "only firing groups recover"
    );
    assert_eq!(
        store.receive(&resolve(minutes(63), "e4")).await.unwrap(),
        stored(&[]),
        "a group recovers once"
    );
    assert_eq!(
        store.receive(&fire(minutes(64), "e5")).await.unwrap(),
        stored(&[("pager", Firing)]),
        "a failure after recovery notifies at once"
    );

    let entries = store.inbox(10).await.unwrap();
    assert_eq!(entries.len(), 6);
    let tasks = &entries.iter().find(|e| e.id == mixed.id).unwrap().tasks;
    let seen: Vec<_> = tasks
        .iter()
        .map(|t| {
            (
                t.receiver.as_str(),
                t.notice,
                t.state,
                t.attempts,
                t.next_attempt_at,
            )
        })
        .collect();
    let pending = |r| (r, Firing, TaskState::Pending, 0, Some(minutes(5)));
    assert_eq!(
        seen,
        [
            ("chat", Firing, TaskState::Superseded, 0, None),
            pending("pager"),
            pending("pager")
        ],
        "tasks in plan order, due at once; chat/g1's was never sent, and its group recovered"
    );
    assert!(tasks.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        store.next_task_due().await.unwrap(),
        Some(minutes(5)),
        "pager/g1's tasks from T0 and 61 were superseded by its recovery"
    );
    // Not grouped (an empty key): every ordinary match notifies, a recovery never does.
    for (key, intent, expected) in [
        ("u1", Fire, vec![("log", Firing)]),
        ("u2", Fire, vec![("log", Firing)]),
        ("u3", Resolve, vec![]),
    ] {
        let ungrouped = inbound(key, minutes(200), vec![plan("log", "", intent, HOUR)]);
        assert_eq!(store.receive(&ungrouped).await.unwrap(), stored(&expected));
    }
}

/// A recovery supersedes its group's firing tasks not yet sent, whether they wait for their
/// first attempt or for a retry, in earlier batches or in its own; other groups and receivers
/// keep theirs.
pub async fn recovery_supersedes_unsent_failures(store: &impl Inbox) {
    use Intent::{Fire, Resolve};
    use Notice::{Firing, Resolved};
    let one = |key, at, receiver, group, intent| {
        inbound(
            key,
            at,
            vec![plan(receiver, group, intent, StdDuration::ZERO)],
        )
    };
    let retried = one("e0", T0, "pager", "g1", Fire);
    store.receive(&retried).await.unwrap();
    let claimed = store
        .exchange_tasks(&[], Some(&claim(T0, 10, &[])))
        .await
        .unwrap();
    assert_eq!(receivers(&claimed), ["pager"]);
    store
        .exchange_tasks(
            &[finish(
                &claimed[0],
                Some("503"),
                TaskNext::RetryAt(minutes(1)),
            )],
            None,
        )
        .await
        .unwrap();
    let waiting = one("e1", T0, "pager", "g1", Fire);
    let other_group = one("e2", T0, "pager", "g2", Fire);
    let other_receiver = one("e3", T0, "chat", "g1", Fire);
    for event in [&waiting, &other_group, &other_receiver] {
        store.receive(event).await.unwrap();
    }
    assert_eq!(
        store
            .receive(&one("e4", minutes(2), "pager", "g1", Resolve))
            .await
            .unwrap(),
        stored(&[("pager", Resolved)])
    );
    // In one batch (concurrent receives are stored together, in arrival order).
    let fire = one("e5", minutes(3), "pager", "g3", Fire);
    let resolve = one("e6", minutes(3), "pager", "g3", Resolve);
    let both = join_all([store.receive(&fire), store.receive(&resolve)]).await;
    assert_eq!(both[0].as_ref().unwrap(), &stored(&[("pager", Firing)]));
    assert_eq!(both[1].as_ref().unwrap(), &stored(&[("pager", Resolved)]));

    let state = |entries: &[crate::InboxEntry], id: &str| {
        let task = &entries.iter().find(|e| e.id == id).unwrap().tasks[0];
        (task.state, task.last_error.is_some())
    };
    let entries = store.inbox(20).await.unwrap();
    assert_eq!(state(&entries, &retried.id), (TaskState::Superseded, true));
    assert_eq!(state(&entries, &waiting.id), (TaskState::Superseded, true));
    assert_eq!(state(&entries, &fire.id), (TaskState::Superseded, true));
    assert_eq!(
        state(&entries, &other_group.id),
        (TaskState::Pending, false)
    );
    assert_eq!(
        state(&entries, &other_receiver.id),
        (TaskState::Pending, false)
    );
    // What is left to send: the two other firings and the two recoveries, none superseded.
    let due = store
        .exchange_tasks(&[], Some(&claim(minutes(10), 10, &[])))
        .await
        .unwrap();
    let mut notices: Vec<(&str, Notice)> = due
        .iter()
        .map(|t| (t.receiver.as_str(), t.notice))
        .collect();
    notices.sort_by_key(|(r, n)| (*r, n.as_str()));
    assert_eq!(
        notices,
        [
            ("chat", Firing),
            ("pager", Firing),
            ("pager", Resolved),
            ("pager", Resolved)
        ]
    );
    // An attempt under way when its task is superseded: a failure leaves it superseded (no
    // retry), a success shows that it was sent after all.
    let cases = [
        (
            "mail",
            "mail-ok",
            Some("503"),
            TaskNext::RetryAt(minutes(30)),
            TaskState::Superseded,
        ),
        ("sms", "sms-ok", None, TaskNext::Delivered, TaskState::Done),
    ];
    for (receiver, recovery_key, error, next, expected) in cases {
        let fire = one(receiver, minutes(20), receiver, "g9", Fire);
        store.receive(&fire).await.unwrap();
        let others = ["pager", "chat", "mail"].map(|r| if r == receiver { "-" } else { r });
        let running = store
            .exchange_tasks(&[], Some(&claim(minutes(20), 10, &others)))
            .await
            .unwrap();
        assert_eq!(receivers(&running), [receiver]);
        let recovery = one(recovery_key, minutes(21), receiver, "g9", Resolve);
        store.receive(&recovery).await.unwrap();
        store
            .exchange_tasks(&[finish(&running[0], error, next)], None)
            .await
            .unwrap();
        let entries = store.inbox(30).await.unwrap();
        assert_eq!(
            state(&entries, &fire.id),
            (expected, expected == TaskState::Superseded)
        );
    }
}

/// A receive that fails (its id is taken) is rolled back alone, key included.
pub async fn failed_receive_does_not_spoil_its_batch(store: &impl Inbox) {
    let events: Vec<Inbound> = (0..40)
        .map(|i| {
            let mut event = inbound(&format!("k{i}"), T0, Vec::new());
            if i % 4 == 0 {
                event.id = "same-id".to_owned();
            }
            event
        })
        .collect();
    let results = join_all(events.iter().map(|e| store.receive(e))).await;
    let failed: Vec<&Inbound> = events
        .iter()
        .zip(&results)
        .filter(|(_, r)| matches!(r, Err(StoreError::Conflict { .. })))
        .map(|(e, _)| e)
        .collect();
    assert_eq!(failed.len(), 9, "every receive of a taken id conflicts");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 31);
    assert_eq!(store.inbox(100).await.unwrap().len(), 31);
    for event in failed {
        let retry = inbound(&event.dedup_key, minutes(1), Vec::new());
        assert_eq!(
            store.receive(&retry).await.unwrap(),
            stored(&[]),
            "a failed receive does not keep its key"
        );
    }
}

pub async fn prune_inbox_keeps_pending_work(store: &impl Inbox) {
    let fire = |receiver| vec![plan(receiver, "g", Intent::Fire, 24 * HOUR)];
    let finished = inbound("finished", T0, fire("a"));
    let pending = inbound("pending", T0, fire("b"));
    let mut quiet = inbound("quiet", T0, Vec::new());
    quiet.dedup_until = T0 + Duration::days(1);
    let recent = inbound("recent", minutes(120), fire("c"));
    for event in [&finished, &pending, &quiet, &recent] {
        store.receive(event).await.unwrap();
    }
    let claimed = store
        .exchange_tasks(&[], Some(&claim(minutes(120), 10, &["b"])))
        .await
        .unwrap();
    assert_eq!(receivers(&claimed), ["a", "c"]);
    let records: Vec<TaskRecord> = claimed
        .iter()
        .map(|t| finish(t, None, TaskNext::Delivered))
        .collect();
    store.exchange_tasks(&records, None).await.unwrap();

    assert_eq!(store.prune_inbox(minutes(60), 100).await.unwrap().events, 2);
    let mut left: Vec<String> = store
        .inbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.dedup_key)
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["pending", "recent"],
        "pending work and recent events stay"
    );
    let recent_tasks = &store.inbox(1).await.unwrap()[0].tasks;
    assert_eq!(recent_tasks.len(), 1, "a kept event keeps its tasks");
    assert_eq!(
        store.next_task_due().await.unwrap(),
        Some(T0),
        "the pending task is still due"
    );
    assert_eq!(
        store
            .receive(&inbound("quiet", minutes(130), Vec::new()))
            .await
            .unwrap(),
        Received::Duplicate {
            original: quiet.id.clone()
        },
        "a key outlives its pruned event until it expires"
    );
    assert_eq!(
        store
            .receive(&inbound("other", minutes(130), fire("a")))
            .await
            .unwrap(),
        stored(&[]),
        "a firing group outlives its pruned events"
    );

    let mut pending_task = store
        .exchange_tasks(&[], Some(&claim(minutes(130), 10, &[])))
        .await
        .unwrap();
    assert_eq!(receivers(&pending_task), ["b"]);
    let failed = finish(&pending_task.remove(0), Some("no"), TaskNext::Failed);
    store.exchange_tasks(&[failed], None).await.unwrap();
    assert_eq!(store.prune_inbox(minutes(60), 100).await.unwrap().events, 1);
    assert_eq!(store.prune_inbox(minutes(60), 100).await.unwrap().events, 0);
    assert_eq!(store.inbox(10).await.unwrap().len(), 2);
}

/// Retention goes in steps of at most `limit` events and `limit` keys.
pub async fn prune_inbox_goes_in_steps(store: &impl Inbox) {
    for i in 0..3 {
        let event = inbound(&format!("old{i}"), T0, Vec::new());
        assert_eq!(store.receive(&event).await.unwrap(), stored(&[]));
    }
    let later = minutes(24 * 60);
    let first = store.prune_inbox(later, 2).await.unwrap();
    assert_eq!(first, InboxPruned { events: 2, keys: 2 });
    assert!(first.reached(2));
    let second = store.prune_inbox(later, 2).await.unwrap();
    assert_eq!(second, InboxPruned { events: 1, keys: 1 });
    assert!(!second.reached(2));
    assert_eq!(
        store.prune_inbox(later, 2).await.unwrap(),
        InboxPruned::default()
    );
    assert!(store.inbox(10).await.unwrap().is_empty());
}
