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

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use self::slots::{Exhausted, Slots};
pub use self::{
    hand_off::{HandOff, Reservation},
    limits::{Claim, LimitProblem, Limits},
    progress::{Progress, STALL_GRACE},
    work::Work,
};

mod hand_off;
mod limits;
mod progress;
mod slots;
mod work;

/// Outcomes recorded per cycle at most.
const RECORD_BATCH: usize = 2048;

pub struct Engine<W: Work> {
    pub work: Arc<W>,
    pub limits: Limits,
    /// Woken when new work was written.
    pub wake: Arc<Notify>,
    /// The room this engine shares with writers that hand it work.
    pub hand_off: Arc<HandOff<W::Key, W::Item>>,
    /// Beaten after every cycle whose store round trips succeeded, for readiness checks.
    pub progress: Progress,
}

impl<W: Work> std::fmt::Debug for Engine<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
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
    /// The earliest retry this engine recorded that has not fallen due yet: it wakes then,
    /// even when a cycle found nothing else to do.
    retry_at: Option<OffsetDateTime>,
    /// Whether the store failed a round trip in the current cycle.
    store_failed: bool,
}

impl<W: Work> Engine<W> {
    /// Runs until `shutdown`, then lets work in flight finish (within its own timeouts) and
    /// records it.
    pub async fn run(self, shutdown: CancellationToken) {
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
            retry_at: None,
            store_failed: false,
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
            if run
                .retry_at
                .is_some_and(|at| at <= OffsetDateTime::now_utc())
            {
                // A retry fell due: what the last short claim found is out of date.
                run.retry_at = None;
                run.exhausted.forget();
            }
            run.store_failed = false;
            let cycle = self.cycle(&mut run).await;
            if !run.store_failed {
                self.progress.beat();
            }
            let pause = match cycle {
                Cycle::Again => continue,
                Cycle::Idle => match self.pause().await {
                    // Due now, yet the claim came back short: what is due belongs to keys it
                    // excluded (full, or paused by their destination), so looking again at
                    // once would find nothing; finished work, a wake-up, a retry or a pause's
                    // end wakes the engine sooner than the poll.
                    pause if pause.is_zero() && run.exhausted.is_set() => self.limits.poll_interval,
                    pause => pause,
                },
                Cycle::Blocked => self.limits.poll_interval,
            };
            let pause = run.retry_at.map_or(pause, |at| pause.min(until(at)));
            // A paused key's work is excluded from claims until its pause ends: look then.
            let pause = run
                .slots
                .next_pause_end(OffsetDateTime::now_utc())
                .map_or(pause, |end| pause.min(until(end)));
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
        if let Some(at) = W::retry_at(&record) {
            run.retry_at = Some(run.retry_at.map_or(at, |earliest| earliest.min(at)));
        }
        let key = W::record_key(&record);
        if let Some(until) = W::pause_until(&record) {
            for _ in 0..run.slots.slow_down(&self.work, &key, until) {
                self.hand_off.released();
            }
        } else if W::succeeded(&record) {
            run.slots.speed_up(&self.work, &key);
        }
        if let Some(next) = run.slots.release(&key) {
            self.start(next, &mut run.tasks, &run.finished);
        }
        run.records.push(record);
    }

    /// Takes items a writer leased and handed over: they run, or wait for a slot of their key.
    fn take_handed(&self, run: &mut Running<W>, items: Vec<W::Item>) {
        self.hand_off.arrived(items.len(), items.len());
        for item in items {
            self.admit(run, item);
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
            run.store_failed = true;
            return None;
        };
        let count = claimed.len();
        self.hand_off.arrived(limit, count);
        for item in claimed {
            self.admit(run, item);
        }
        Some(count)
    }

    /// Runs an item, queues it for a slot of its key, or, if its key is paused, leaves it to
    /// its lease (claimed or handed before the pause began).
    fn admit(&self, run: &mut Running<W>, item: W::Item) {
        if run.slots.paused(&W::item_key(&item)) {
            self.hand_off.released();
            return;
        }
        if let Some(ready) = run.slots.admit(&self.work, item) {
            self.start(ready, &mut run.tasks, &run.finished);
        }
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
            Some(due) => until(due).min(poll),
            None => poll,
        }
    }
}

/// How long until `at`; zero once it has passed.
fn until(at: OffsetDateTime) -> Duration {
    Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
