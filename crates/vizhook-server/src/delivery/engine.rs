//! The durable work engine shared by `vizhook serve`'s webhook deliveries and `vizhook
//! receive`'s action tasks: it leases due work from the store and runs it, with a cap on work in
//! flight overall and per key (a webhook, an action), so that a slow or dead destination only
//! ever occupies its own share.
//!
//! Nothing lives only in memory: work is claimed (leased) in the store before it runs, and its
//! outcome is recorded while its lease still holds. Each cycle is one store round trip, one
//! transaction and one fsync: the outcomes that finished since the last cycle are recorded and
//! the next batch is leased together ([`Work::exchange`]). A finished item frees its slot at
//! once, so work goes on while a cycle commits. If the process dies, the leases run out and the
//! work is claimed again.
//!
//! Work can also arrive without a claim: a writer that leased it in its own transaction hands
//! it over ([`HandOff`]), within the same room.

use std::{
    collections::{HashMap, VecDeque},
    hash::Hash,
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::hand_off::HandOff;

/// Outcomes recorded per cycle at most.
const RECORD_BATCH: usize = 2048;

/// A kind of durable work: how to lease it, run it and record it.
#[async_trait]
pub(crate) trait Work: Send + Sync + 'static {
    /// A leased unit of work.
    type Item: Send + 'static;
    /// The outcome of running one item.
    type Record: Send + 'static;
    /// What the per-key cap counts by.
    type Key: Clone + Eq + Hash + Ord + Send + Sync + 'static;

    fn item_key(item: &Self::Item) -> Self::Key;
    fn record_key(record: &Self::Record) -> Self::Key;
    /// A key's own cap on work in flight, when lower than the engine's per-key cap (an action
    /// that runs at most one at a time).
    fn key_limit(&self, _key: &Self::Key) -> Option<usize> {
        None
    }
    /// Records outcomes and leases `claim`, in one transaction. `None` when the store failed
    /// (the implementation logs why): the records are then lost, but their leases run out and
    /// the work is retried (at least once, never lost).
    async fn exchange(
        &self,
        records: Vec<Self::Record>,
        claim: Option<Claim<Self::Key>>,
    ) -> Option<Vec<Self::Item>>;
    /// Runs one item. Never fails: a failure is an outcome.
    async fn perform(self: Arc<Self>, item: Self::Item) -> Self::Record;
    /// When the next item falls due, if known.
    async fn next_due(&self) -> Option<OffsetDateTime>;
}

/// A request to lease due work.
#[derive(Debug, Clone)]
pub(crate) struct Claim<K> {
    pub(crate) now: OffsetDateTime,
    pub(crate) lease_until: OffsetDateTime,
    pub(crate) limit: u32,
    /// Keys that already have as much work in flight as they may.
    pub(crate) exclude: Vec<K>,
}

/// How much the engine runs at once and how it paces itself.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_in_flight: usize,
    pub(crate) max_in_flight_per_key: usize,
    pub(crate) claim_batch: usize,
    pub(crate) lease: Duration,
    pub(crate) poll_interval: Duration,
}

pub(crate) struct Engine<W: Work> {
    pub(crate) work: Arc<W>,
    pub(crate) limits: Limits,
    /// Woken when new work was written.
    pub(crate) wake: Arc<Notify>,
    /// The room this engine shares with writers that hand it work.
    pub(crate) hand_off: Arc<HandOff<W::Key, W::Item>>,
}

/// The keys that were full when a claim last came back short: until something wakes the
/// engine, claiming with the same (or a larger) set excluded would find nothing new.
struct Exhausted<K>(Option<Vec<K>>);

impl<K: Ord> Exhausted<K> {
    fn remember(&mut self, mut full: Vec<K>) {
        full.sort_unstable();
        self.0 = Some(full);
    }

    fn forget(&mut self) {
        self.0 = None;
    }

    /// Whether `full` excludes at least what the short claim excluded.
    fn covers(&self, full: &[K]) -> bool {
        self.0
            .as_ref()
            .is_some_and(|before| before.iter().all(|key| full.contains(key)))
    }
}

/// What a cycle found.
enum Cycle {
    /// Leased as many as asked for, or left records behind: go again at once.
    Again,
    /// Nothing more to do now: wait for the next due time, a wake-up or finished work.
    Idle,
    /// No worthwhile room, or only full keys have due work: wait for finished work or a
    /// wake-up (at most the poll interval).
    Blocked,
}

/// Items this engine holds: running (at most `per_key` per key) and claimed but waiting for a
/// slot of their key. Waiting ones are few (at most `per_key` plus a claim batch per key), and
/// the lease covers their wait. How many it holds in all is counted in the [`HandOff`] room.
struct Slots<W: Work> {
    per_key: usize,
    running: HashMap<W::Key, usize>,
    waiting: HashMap<W::Key, VecDeque<W::Item>>,
}

impl<W: Work> Slots<W> {
    fn new(per_key: usize) -> Self {
        Self {
            per_key,
            running: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// A key's share: the engine's per-key cap, or the key's own when lower.
    fn share(&self, work: &W, key: &W::Key) -> usize {
        work.key_limit(key)
            .map_or(self.per_key, |limit| limit.clamp(1, self.per_key))
    }

    /// Takes a claimed item: returns it if it may run now, else queues it.
    fn admit(&mut self, work: &W, item: W::Item) -> Option<W::Item> {
        let key = W::item_key(&item);
        let share = self.share(work, &key);
        let running = self.running.entry(key.clone()).or_default();
        if *running < share {
            *running += 1;
            return Some(item);
        }
        self.waiting.entry(key).or_default().push_back(item);
        None
    }

    /// Frees a finished item's slot; returns the next item of that key to run.
    fn release(&mut self, key: &W::Key) -> Option<W::Item> {
        if let Some(next) = self.waiting.get_mut(key).and_then(VecDeque::pop_front) {
            if self.waiting.get(key).is_some_and(VecDeque::is_empty) {
                self.waiting.remove(key);
            }
            return Some(next);
        }
        if let Some(count) = self.running.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.running.remove(key);
            }
        }
        None
    }

    /// Keys that may not take more work now: those running their full share with as many
    /// again waiting, so that the next batch is at hand while a cycle commits.
    fn full(&self, work: &W) -> Vec<W::Key> {
        self.running
            .iter()
            .filter(|(key, running)| {
                let waiting = self.waiting.get(*key).map_or(0, VecDeque::len);
                **running + waiting >= 2 * self.share(work, key)
            })
            .map(|(key, _)| key.clone())
            .collect()
    }
}

/// The engine's state between cycles.
struct Running<W: Work> {
    slots: Slots<W>,
    tasks: JoinSet<()>,
    finished: mpsc::UnboundedSender<W::Record>,
    finished_rx: mpsc::UnboundedReceiver<W::Record>,
    /// Items writers handed over.
    handed: mpsc::UnboundedReceiver<Vec<W::Item>>,
    /// Outcomes finished but not yet recorded.
    records: Vec<W::Record>,
    exhausted: Exhausted<W::Key>,
}

impl<W: Work> Engine<W> {
    /// Runs until `shutdown`, then lets work in flight finish (within its own timeouts) and
    /// records it.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let Some(handed) = self.hand_off.take_receiver() else {
            tracing::error!("a second engine was started on the same room; it does nothing");
            return;
        };
        let (finished, finished_rx) = mpsc::unbounded_channel::<W::Record>();
        let mut run = Running {
            slots: Slots::new(self.limits.max_in_flight_per_key),
            tasks: JoinSet::new(),
            finished,
            finished_rx,
            handed,
            records: Vec::new(),
            exhausted: Exhausted(None),
        };
        let mut arrived = Vec::new();
        self.hand_off.set_capacity(self.limits.max_in_flight);
        while !shutdown.is_cancelled() {
            while let Ok(record) = run.finished_rx.try_recv() {
                self.finish(&mut run, record);
            }
            while let Ok(items) = run.handed.try_recv() {
                self.take_handed(&mut run, items);
            }
            while run.tasks.try_join_next().is_some() {}
            let pause = match self.cycle(&mut run).await {
                Cycle::Again => continue,
                Cycle::Idle => self.pause().await,
                Cycle::Blocked => self.limits.poll_interval,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => run.exhausted.forget(),
                count = run.finished_rx.recv_many(&mut arrived, 1024) => {
                    for record in arrived.drain(..count) {
                        self.finish(&mut run, record);
                    }
                }
                Some(items) = run.handed.recv() => self.take_handed(&mut run, items),
                () = tokio::time::sleep(pause) => run.exhausted.forget(),
            }
        }
        // No more hand-offs: what is handed from now on is left to its leases.
        self.hand_off.set_capacity(0);
        run.handed.close();
        while let Ok(items) = run.handed.try_recv() {
            self.hand_off.arrived(items.len(), 0);
        }
        // Let work in flight finish and record it. Items still waiting for a slot are left to
        // their leases.
        while run.tasks.join_next().await.is_some() {}
        while let Ok(record) = run.finished_rx.try_recv() {
            run.records.push(record);
        }
        while !run.records.is_empty() {
            if self.exchange(&mut run, None).await.is_none() {
                break;
            }
        }
    }

    /// Takes a finished outcome: frees its slot (starting an item that waited for it) and
    /// keeps its record for the next cycle.
    fn finish(&self, run: &mut Running<W>, record: W::Record) {
        self.hand_off.released();
        if let Some(next) = run.slots.release(&W::record_key(&record)) {
            self.start(next, &mut run.tasks, &run.finished);
        }
        run.records.push(record);
    }

    /// Takes items a writer leased and handed over: they run, or wait for a slot of their key.
    fn take_handed(&self, run: &mut Running<W>, items: Vec<W::Item>) {
        self.hand_off.arrived(items.len(), items.len());
        for item in items {
            if let Some(ready) = run.slots.admit(&self.work, item) {
                self.start(ready, &mut run.tasks, &run.finished);
            }
        }
    }

    /// One round trip: record what finished and, when there is worthwhile room, lease more.
    async fn cycle(&self, run: &mut Running<W>) -> Cycle {
        let limits = &self.limits;
        // Outcomes not yet recorded do not take room: they are recorded by the same round trip
        // that leases more, so a saturated engine needs one round trip per batch, not one to
        // record and another to lease. Past an engine's worth of them it records before it
        // leases more, so they cannot pile up.
        let (free, held) = self.hand_off.room();
        let room = if run.records.len() >= limits.max_in_flight {
            0
        } else {
            free
        };
        let worthwhile = limits.claim_batch.min(limits.max_in_flight / 4).max(1);
        let full = run.slots.full(&self.work);
        self.hand_off.open(self.window(run), full.clone());
        let blocked = room == 0 || (held > 0 && room < worthwhile);
        let exhausted = run.exhausted.covers(&full);
        let claim = (!blocked && !exhausted).then(|| {
            let now = OffsetDateTime::now_utc();
            Claim {
                now,
                lease_until: now + limits.lease,
                limit: u32::try_from(room.min(limits.claim_batch)).unwrap_or(u32::MAX),
                exclude: full,
            }
        });
        let asked = claim
            .as_ref()
            .map(|c| (c.limit as usize, c.exclude.clone()));
        if asked.is_none() && run.records.is_empty() {
            return if blocked || exhausted {
                Cycle::Blocked
            } else {
                Cycle::Idle
            };
        }
        let claimed = self.exchange(run, claim).await;
        if !run.records.is_empty() {
            return Cycle::Again;
        }
        match (asked, claimed) {
            (Some((limit, _)), Some(count)) if count == limit => Cycle::Again,
            (Some((_, excluded)), Some(_)) => {
                // Short: nothing else is due outside the keys it excluded.
                run.exhausted.remember(excluded);
                Cycle::Idle
            }
            (Some(_), None) => Cycle::Idle,
            (None, _) if blocked || exhausted => Cycle::Blocked,
            (None, _) => Cycle::Idle,
        }
    }

    /// Records up to a batch of outcomes and leases `claim`, and starts what it leased.
    /// Returns how many it leased, or `None` when the store failed.
    ///
    /// While the round trip is under way the engine goes on: a finished item's slot goes to the
    /// next item of its key (its outcome waits for the next cycle), and handed items start.
    async fn exchange(&self, run: &mut Running<W>, claim: Option<Claim<W::Key>>) -> Option<usize> {
        let take = run.records.len().min(RECORD_BATCH);
        let records: Vec<W::Record> = run.records.drain(..take).collect();
        let limit = claim.as_ref().map_or(0, |c| c.limit as usize);
        self.hand_off.reserve_claim(limit);
        let exchange = self.work.exchange(records, claim);
        tokio::pin!(exchange);
        let mut arrived = Vec::new();
        let claimed = loop {
            tokio::select! {
                biased;
                claimed = &mut exchange => break claimed,
                count = run.finished_rx.recv_many(&mut arrived, 1024) => {
                    for record in arrived.drain(..count) {
                        self.finish(run, record);
                    }
                    self.open_window(run);
                }
                Some(items) = run.handed.recv() => {
                    self.take_handed(run, items);
                    self.open_window(run);
                }
            }
        };
        let Some(claimed) = claimed else {
            self.hand_off.arrived(limit, 0);
            return None;
        };
        let count = claimed.len();
        self.hand_off.arrived(limit, count);
        for item in claimed {
            if let Some(ready) = run.slots.admit(&self.work, item) {
                self.start(ready, &mut run.tasks, &run.finished);
            }
        }
        Some(count)
    }

    /// Lets hand-offs take up to a claim batch more, skipping the keys full now.
    fn open_window(&self, run: &Running<W>) {
        self.hand_off
            .open(self.window(run), run.slots.full(&self.work));
    }

    /// A claim batch, or nothing while an engine's worth of outcomes waits to be recorded (as
    /// for claims: they cannot pile up while the store is slow).
    fn window(&self, run: &Running<W>) -> usize {
        if run.records.len() >= self.limits.max_in_flight {
            0
        } else {
            self.limits.claim_batch
        }
    }

    fn start(
        &self,
        item: W::Item,
        tasks: &mut JoinSet<()>,
        finished: &mpsc::UnboundedSender<W::Record>,
    ) {
        let work = self.work.clone();
        let finished = finished.clone();
        tasks.spawn(async move {
            let record = work.perform(item).await;
            let _ = finished.send(record);
        });
    }

    /// How long to wait for something to do: until the next item falls due, but at most the
    /// poll interval.
    async fn pause(&self) -> Duration {
        let poll = self.limits.poll_interval;
        match self.work.next_due().await {
            Some(due) => {
                let wait = due - OffsetDateTime::now_utc();
                Duration::try_from(wait).unwrap_or(Duration::ZERO).min(poll)
            }
            None => poll,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// `total` items of one key, each finishing at once; every exchange is logged as (records,
    /// claim limit).
    struct Counter {
        total: usize,
        claimed: Mutex<usize>,
        exchanges: Mutex<Vec<(usize, Option<u32>)>>,
    }

    #[async_trait]
    impl Work for Counter {
        type Item = usize;
        type Record = usize;
        type Key = u8;

        fn item_key(_: &usize) -> u8 {
            0
        }
        fn record_key(_: &usize) -> u8 {
            0
        }
        async fn exchange(
            &self,
            records: Vec<usize>,
            claim: Option<Claim<u8>>,
        ) -> Option<Vec<usize>> {
            // As a store would: a round trip takes a while, and work finishes meanwhile.
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.exchanges
                .lock()
                .ok()?
                .push((records.len(), claim.as_ref().map(|c| c.limit)));
            let mut claimed = self.claimed.lock().ok()?;
            let limit = claim
                .filter(|c| c.exclude.is_empty())
                .map_or(0, |c| c.limit as usize);
            let start = *claimed;
            *claimed = (start + limit).min(self.total);
            Some((start..*claimed).collect())
        }
        async fn perform(self: Arc<Self>, item: usize) -> usize {
            tokio::task::yield_now().await;
            item
        }
        async fn next_due(&self) -> Option<OffsetDateTime> {
            None
        }
    }

    #[tokio::test]
    async fn handed_items_run_and_are_recorded_without_a_claim() {
        let work = Arc::new(Counter {
            total: 0,
            claimed: Mutex::new(0),
            exchanges: Mutex::new(Vec::new()),
        });
        let hand_off = HandOff::new();
        let engine = Engine {
            work: work.clone(),
            limits: Limits {
                max_in_flight: 8,
                max_in_flight_per_key: 4,
                claim_batch: 6,
                lease: Duration::from_secs(60),
                poll_interval: Duration::from_secs(3600),
            },
            wake: Arc::new(Notify::new()),
            hand_off: hand_off.clone(),
        };
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(engine.run(shutdown.clone()));
        let recorded = || -> usize {
            let exchanges = work.exchanges.lock().expect("log");
            exchanges.iter().map(|(records, _)| records).sum()
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut handed = 0;
        while recorded() < 20 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "handed items stalled"
            );
            if handed < 20
                && let Some(reservation) = hand_off.reserve(20 - handed)
            {
                assert!(reservation.limit() <= 6, "at most a claim batch per cycle");
                let count = reservation.limit();
                reservation.hand((handed..handed + count).collect());
                handed += count;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        shutdown.cancel();
        running.await.expect("engine");
        assert_eq!(
            recorded(),
            20,
            "every handed item ran once and was recorded"
        );
        assert_eq!(hand_off.room(), (0, 0), "the room is closed and empty");
    }

    #[tokio::test]
    async fn a_saturated_engine_records_and_leases_in_the_same_round_trip() {
        let work = Arc::new(Counter {
            total: 2_000,
            claimed: Mutex::new(0),
            exchanges: Mutex::new(Vec::new()),
        });
        let engine = Engine {
            work: work.clone(),
            limits: Limits {
                max_in_flight: 64,
                max_in_flight_per_key: 32,
                claim_batch: 32,
                lease: Duration::from_secs(60),
                poll_interval: Duration::from_millis(5),
            },
            wake: Arc::new(Notify::new()),
            hand_off: HandOff::new(),
        };
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(engine.run(shutdown.clone()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while work.claimed.lock().map(|c| *c).unwrap_or(0) < 2_000 {
            assert!(tokio::time::Instant::now() < deadline, "the engine stalled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        shutdown.cancel();
        running.await.expect("engine");
        let exchanges = work.exchanges.lock().expect("log").clone();
        let recorded: usize = exchanges.iter().map(|(records, _)| records).sum();
        assert_eq!(recorded, 2_000, "every outcome is recorded");
        // Up to the last round trip that leases, every round trip that records also leases.
        let last_lease = exchanges
            .iter()
            .rposition(|(_, claim)| claim.is_some())
            .unwrap_or(0);
        let record_only = exchanges[..last_lease]
            .iter()
            .filter(|(records, claim)| *records > 0 && claim.is_none())
            .count();
        assert_eq!(record_only, 0, "round trips: {exchanges:?}");
    }
}
