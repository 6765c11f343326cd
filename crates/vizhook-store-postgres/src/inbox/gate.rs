//! Arrival order of one process's receives: receives that share a de-duplication key or an
//! alert group pass this gate one at a time, in the order they arrived (were first polled),
//! before their transactions begin. The database alone would decide them in whatever order
//! their statements happened to reach it; with the gate, a "firing" event followed at once by
//! its "recovered" event is decided in that order, and of two repeats the first is stored, as
//! with one SQLite writer. Receives of other processes are ordered by the database's row locks
//! only (`receive.rs`). Receives that share nothing never wait for each other.
//!
//! Every receive takes a ticket and joins one line per key and group (a 64-bit digest of it
//! under a random key, qualified by its store), all at once under one lock, so tickets are in
//! one order on every line and no two receives can wait for each other. A receive passes when
//! it is first in all its lines, and leaves them when its pass is dropped (also when it is
//! cancelled while waiting). A digest collision only makes two receives wait in turn.

use std::{
    collections::{HashMap, VecDeque},
    hash::{BuildHasher, Hash, Hasher, RandomState},
    sync::{Arc, LazyLock, Mutex},
};

use tokio::sync::Notify;
use vizhook_store::Inbound;

/// The waiting receives of every store of the process, by line.
static GATE: LazyLock<Gate> = LazyLock::new(Gate::default);

#[derive(Default)]
struct Gate {
    /// Keyed at random, so that no one sending events can choose keys whose lines collide.
    digests: RandomState,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    /// Each line's tickets in arrival order, with how to wake their holders.
    lines: HashMap<u64, VecDeque<(u64, Arc<Notify>)>>,
}

/// The right to run a receive; dropping it lets the next ones in its lines through.
#[derive(Debug)]
pub(super) struct Pass {
    ticket: u64,
    lines: Vec<u64>,
}

/// The lines of `inbound` in the store identified by `store`: its keys and its alert groups.
fn lines(store: usize, inbound: &Inbound) -> Vec<u64> {
    let digest = |what: &dyn Fn(&mut std::hash::DefaultHasher)| {
        let mut hasher = GATE.digests.build_hasher();
        store.hash(&mut hasher);
        what(&mut hasher);
        hasher.finish()
    };
    let keys = std::iter::once(&inbound.dedup_key)
        .chain(&inbound.extra_dedup_keys)
        .map(|key| digest(&|h| ("key", key).hash(h)));
    let groups = inbound
        .notifications
        .iter()
        .filter(|plan| !plan.group_key.is_empty())
        .map(|plan| digest(&|h| ("group", &plan.receiver, &plan.group_key).hash(h)));
    let mut lines: Vec<u64> = keys.chain(groups).collect();
    lines.sort_unstable();
    lines.dedup();
    lines
}

/// Joins the lines of `inbound` now, and waits until every earlier receive of `store` that
/// shares a key or a group with it has finished.
pub(super) fn enter(store: usize, inbound: &Inbound) -> impl Future<Output = Pass> + Send + use<> {
    let lines = lines(store, inbound);
    let notify = Arc::new(Notify::new());
    let ticket = {
        let mut state = GATE.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        for line in &lines {
            state
                .lines
                .entry(*line)
                .or_default()
                .push_back((ticket, notify.clone()));
        }
        ticket
    };
    // From here on, dropping the pass (also when the future is dropped) leaves the lines.
    let pass = Pass { ticket, lines };
    async move {
        // A wake-up before this waits is kept as a permit by `notify_one`, so none is lost.
        while !GATE.first_in_all(&pass) {
            notify.notified().await;
        }
        pass
    }
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn first_in_all(&self, pass: &Pass) -> bool {
        let state = self.lock();
        pass.lines.iter().all(|line| {
            state
                .lines
                .get(line)
                .and_then(VecDeque::front)
                .is_none_or(|(ticket, _)| *ticket == pass.ticket)
        })
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut state = GATE.lock();
        for line in &self.lines {
            let Some(queue) = state.lines.get_mut(line) else {
                continue;
            };
            let was_first = queue.front().is_some_and(|(t, _)| *t == self.ticket);
            queue.retain(|(t, _)| *t != self.ticket);
            match queue.front() {
                None => {
                    state.lines.remove(line);
                }
                Some((_, next)) if was_first => next.notify_one(),
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;
    use vizhook_store::Inbound;

    use super::*;

    fn event(key: &str) -> Inbound {
        Inbound {
            id: key.to_owned(),
            source: "s".to_owned(),
            dedup_key: key.to_owned(),
            extra_dedup_keys: Vec::new(),
            dedup_until: OffsetDateTime::UNIX_EPOCH,
            body: Vec::new(),
            received_at: OffsetDateTime::UNIX_EPOCH,
            notifications: Vec::new(),
        }
    }

    #[tokio::test]
    async fn receives_sharing_a_key_pass_in_arrival_order() {
        let first = enter(1, &event("a")).await;
        let mut second = Box::pin(enter(1, &event("a")));
        let other = enter(1, &event("b")).await;
        let elsewhere = enter(2, &event("a")).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut second)
                .await
                .is_err(),
            "the second waits for the first"
        );
        drop((first, other, elsewhere));
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second passes once the first is done");
        drop(second);
        let line = lines(1, &event("a"))[0];
        assert!(
            !GATE.lock().lines.contains_key(&line),
            "lines are removed when empty"
        );
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_its_line() {
        let first = enter(3, &event("c")).await;
        let waiting = Box::pin(enter(3, &event("c")));
        let _ = tokio::time::timeout(Duration::from_millis(5), waiting).await;
        let mut third = Box::pin(enter(3, &event("c")));
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), &mut third)
            .await
            .expect("the third passes after a cancelled second");
    }
}
