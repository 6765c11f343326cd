//! Conformance checks for the inbox's action tasks: leases, exclusions, retries, finishing,
//! the next due time, and concurrent claims.

use std::time::Duration as StdDuration;

use futures_util::future::join_all;
use time::Duration;
use vizhook_core::notify::{Intent, Notice};

use super::fixtures::{claim, finish, inbound, minutes, plan, receivers, stored};
use crate::{Inbound, Inbox, Received, TaskNext, TaskState, testkit::fixtures::T0};

pub async fn tasks_lease_retry_and_finish(store: &impl Inbox) {
    let plans = ["pager", "chat", "mail"]
        .iter()
        .map(|r| plan(r, "g", Intent::Fire, StdDuration::ZERO))
        .collect();
    let event = inbound("e", T0, plans);
    store.receive(&event).await.unwrap();
    assert_eq!(store.next_task_due().await.unwrap(), Some(T0));
    let early = claim(T0 - Duration::seconds(1), 10, &[]);
    assert!(
        store
            .exchange_tasks(&[], Some(&early))
            .await
            .unwrap()
            .is_empty(),
        "not due before its time"
    );

    let first = store
        .exchange_tasks(&[], Some(&claim(T0, 1, &["mail"])))
        .await
        .unwrap();
    assert_eq!(
        receivers(&first),
        ["pager"],
        "oldest first, up to the limit"
    );
    let task = &first[0];
    assert_eq!(
        (task.inbox_id.as_str(), task.notice, task.spec.as_str()),
        (event.id.as_str(), Notice::Firing, "spec for pager")
    );
    assert_eq!(task.attempt, 1);
    let second = store
        .exchange_tasks(&[], Some(&claim(T0, 10, &["mail"])))
        .await
        .unwrap();
    assert_eq!(
        receivers(&second),
        ["chat"],
        "excluded receivers are skipped"
    );
    let third = store
        .exchange_tasks(&[], Some(&claim(T0, 10, &[])))
        .await
        .unwrap();
    assert_eq!(receivers(&third), ["mail"], "leased tasks are skipped");
    let busy = claim(T0 + Duration::seconds(29), 10, &[]);
    assert!(
        store
            .exchange_tasks(&[], Some(&busy))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_task_due().await.unwrap(),
        Some(T0 + Duration::seconds(30)),
        "due again when the leases end"
    );

    let retaken = store
        .exchange_tasks(&[], Some(&claim(T0 + Duration::seconds(30), 10, &[])))
        .await
        .unwrap();
    assert_eq!(receivers(&retaken), ["pager", "chat", "mail"]);
    assert!(
        retaken.iter().all(|t| t.attempt == 2),
        "each lease counts an attempt"
    );
    let retry_at = minutes(5);
    let records = [
        finish(&retaken[0], None, TaskNext::Delivered),
        finish(&retaken[1], Some("boom"), TaskNext::RetryAt(retry_at)),
        finish(&retaken[2], Some("gave up"), TaskNext::Failed),
    ];
    let after = claim(T0 + Duration::seconds(40), 10, &[]);
    assert!(
        store
            .exchange_tasks(&records, Some(&after))
            .await
            .unwrap()
            .is_empty(),
        "recorded before claiming, in one call"
    );
    assert_eq!(store.next_task_due().await.unwrap(), Some(retry_at));
    // A late record for a finished task (its claimer's lease ran out) changes nothing.
    let late = finish(&retaken[0], Some("late"), TaskNext::Failed);
    assert!(
        store
            .exchange_tasks(&[late], None)
            .await
            .unwrap()
            .is_empty()
    );

    let tasks = store.inbox(1).await.unwrap().remove(0).tasks;
    let seen: Vec<_> = tasks
        .iter()
        .map(|t| {
            let next = t.next_attempt_at;
            (
                t.receiver.as_str(),
                t.state,
                t.attempts,
                next,
                t.last_error.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("pager", TaskState::Done, 2, None, None),
            ("chat", TaskState::Pending, 2, Some(retry_at), Some("boom")),
            ("mail", TaskState::Failed, 2, None, Some("gave up")),
        ]
    );

    let before_retry = claim(minutes(4), 10, &[]);
    assert!(
        store
            .exchange_tasks(&[], Some(&before_retry))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .exchange_tasks(&[], Some(&claim(retry_at, 10, &[])))
        .await
        .unwrap();
    assert_eq!(receivers(&again), ["chat"]);
    assert_eq!((again[0].id, again[0].attempt), (retaken[1].id, 3));
    let done = finish(&again[0], None, TaskNext::Delivered);
    store.exchange_tasks(&[done], None).await.unwrap();
    assert_eq!(store.next_task_due().await.unwrap(), None);
    let tasks = store.inbox(1).await.unwrap().remove(0).tasks;
    assert_eq!(
        (
            tasks[1].state,
            tasks[1].attempts,
            tasks[1].last_error.as_deref()
        ),
        (TaskState::Done, 3, None)
    );
}

pub async fn receiving_can_lease_new_tasks(store: &impl Inbox) {
    let plans = ["pager", "chat", "mail", "log"]
        .iter()
        .map(|r| plan(r, "", Intent::Fire, StdDuration::ZERO))
        .collect();
    let event = inbound("e", T0, plans);
    let lease = claim(T0, 2, &["pager"]);
    let (received, leased) = store.receive_leasing(&event, &lease).await.unwrap();
    assert_eq!(
        received,
        stored(&[
            ("pager", Notice::Firing),
            ("chat", Notice::Firing),
            ("mail", Notice::Firing),
            ("log", Notice::Firing),
        ])
    );
    assert_eq!(
        receivers(&leased),
        ["chat", "mail"],
        "in plan order, up to the limit, none excluded"
    );
    for task in &leased {
        assert_eq!(
            (task.inbox_id.as_str(), task.notice, task.attempt),
            (event.id.as_str(), Notice::Firing, 1)
        );
        assert_eq!(task.spec, format!("spec for {}", task.receiver));
    }
    let claimed = store
        .exchange_tasks(&[], Some(&claim(T0, 10, &[])))
        .await
        .unwrap();
    assert_eq!(
        receivers(&claimed),
        ["pager", "log"],
        "leased tasks are not claimed again"
    );
    let ids: Vec<i64> = leased.iter().chain(&claimed).map(|t| t.id).collect();
    assert!(
        ids.iter()
            .all(|id| ids.iter().filter(|other| *other == id).count() == 1),
        "every task has its own id: {ids:?}"
    );

    // A leased task is recorded like a claimed one; one whose caller died is due again when
    // its lease ends, with its attempt counted.
    let done = finish(&leased[0], None, TaskNext::Delivered);
    let finished: Vec<_> = claimed
        .iter()
        .map(|t| finish(t, None, TaskNext::Delivered))
        .chain([done])
        .collect();
    store.exchange_tasks(&finished, None).await.unwrap();
    assert_eq!(
        store.next_task_due().await.unwrap(),
        Some(lease.lease_until)
    );
    let retaken = store
        .exchange_tasks(&[], Some(&claim(lease.lease_until, 10, &[])))
        .await
        .unwrap();
    assert_eq!(receivers(&retaken), ["mail"]);
    assert_eq!((retaken[0].id, retaken[0].attempt), (leased[1].id, 2));

    let (repeat, none) = store.receive_leasing(&event, &lease).await.unwrap();
    assert_eq!(
        repeat,
        Received::Duplicate {
            original: event.id.clone()
        }
    );
    assert!(none.is_empty(), "a duplicate leases nothing");
    let unrouted = inbound("quiet", T0, Vec::new());
    let (_, none) = store.receive_leasing(&unrouted, &lease).await.unwrap();
    assert!(none.is_empty());

    // Two tasks alike (one action reached by two routes) are leased as two tasks; a firing
    // task its group's recovery supersedes in the same event is not leased.
    let twice = vec![
        plan("chat", "", Intent::Fire, StdDuration::ZERO),
        plan("chat", "", Intent::Fire, StdDuration::ZERO),
        plan("pager", "g", Intent::Fire, StdDuration::ZERO),
        plan("pager", "g", Intent::Resolve, StdDuration::ZERO),
    ];
    let event = inbound("twice", T0, twice);
    let (received, leased) = store
        .receive_leasing(&event, &claim(T0, 10, &[]))
        .await
        .unwrap();
    assert_eq!(
        received,
        stored(&[
            ("chat", Notice::Firing),
            ("chat", Notice::Firing),
            ("pager", Notice::Firing),
            ("pager", Notice::Resolved),
        ])
    );
    let seen: Vec<_> = leased
        .iter()
        .map(|t| (t.receiver.as_str(), t.notice))
        .collect();
    assert_eq!(
        seen,
        [
            ("chat", Notice::Firing),
            ("chat", Notice::Firing),
            ("pager", Notice::Resolved)
        ]
    );
    assert_ne!(leased[0].id, leased[1].id);
    let entries = store.inbox(10).await.unwrap();
    let stored_tasks = &entries
        .iter()
        .find(|entry| entry.id == event.id)
        .expect("stored")
        .tasks;
    let states: Vec<_> = stored_tasks
        .iter()
        .map(|t| (t.receiver.as_str(), t.state, t.attempts))
        .collect();
    assert_eq!(
        states,
        [
            ("chat", TaskState::Pending, 1),
            ("chat", TaskState::Pending, 1),
            ("pager", TaskState::Superseded, 0),
            ("pager", TaskState::Pending, 1),
        ]
    );

    // Events received together (one batch, one transaction) each get their own tasks.
    let events: Vec<Inbound> = (0..20)
        .map(|n| {
            let plans = vec![plan("chat", "", Intent::Fire, StdDuration::ZERO)];
            inbound(&format!("together-{n}"), T0, plans)
        })
        .collect();
    let one = claim(T0, 1, &[]);
    let outcomes = join_all(events.iter().map(|e| store.receive_leasing(e, &one))).await;
    for (event, outcome) in events.iter().zip(outcomes) {
        let (_, leased) = outcome.unwrap();
        assert_eq!(leased.len(), 1);
        assert_eq!(leased[0].inbox_id, event.id);
    }
}

pub async fn concurrent_task_claims_never_share(store: &impl Inbox) {
    let events: Vec<Inbound> = (0..50)
        .map(|i| {
            let plans = (0..4)
                .map(|r| plan(&format!("r{r}"), "g", Intent::Fire, StdDuration::ZERO))
                .collect();
            inbound(&format!("e{i}"), T0, plans)
        })
        .collect();
    let received = join_all(events.iter().map(|e| store.receive(e))).await;
    assert!(
        received
            .iter()
            .all(|r| matches!(r, Ok(Received::Stored { tasks }) if tasks.len() == 4))
    );
    let request = claim(T0, 40, &[]);
    let claims = join_all((0..8).map(|_| store.exchange_tasks(&[], Some(&request)))).await;
    let mut ids: Vec<i64> = claims
        .into_iter()
        .flat_map(Result::unwrap)
        .map(|t| t.id)
        .collect();
    assert_eq!(ids.len(), 200);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no task was claimed twice");
}
