//! The dispatcher: leases due deliveries from the store and runs their attempts, with a cap on
//! attempts in flight overall and per webhook, so that a slow or dead destination only ever
//! occupies its own share.
//!
//! Nothing lives only in memory: a delivery is claimed (leased) in the store before it is
//! sent, and its attempt is recorded while its lease still holds. Each cycle is one store round
//! trip, one transaction and one fsync: the attempts that finished since the last cycle are
//! recorded and the next batch is leased together (`Store::exchange`). A finished attempt frees
//! its slot at once, so sending goes on while a cycle commits. If the process dies, the leases
//! run out and the deliveries are claimed again, with the same `webhook-id`.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
    time::Duration,
};

use time::OffsetDateTime;
use tokio::{
    sync::{Notify, mpsc},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use vizhook_core::WebhookId;
use vizhook_store::{AttemptRecord, ClaimRequest, ClaimedDelivery, FailurePolicy, Store};

use super::attempt::{AttemptContext, attempt};
use crate::{api::error::ErrorChain, config::DeliveryConfig};

/// Attempts recorded per cycle at most.
const RECORD_BATCH: usize = 2048;

pub(crate) struct Dispatcher {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: Arc<DeliveryConfig>,
    pub(crate) attempts: Arc<AttemptContext>,
    /// Woken when events are published or a webhook is re-enabled.
    pub(crate) wake: Arc<Notify>,
    /// Woken when a webhook was disabled and its owner is to be emailed.
    pub(crate) notices: Arc<Notify>,
}

/// The webhooks that were full when a claim last came back short: until something wakes the
/// dispatcher, claiming with the same (or a larger) set excluded would find nothing new.
#[derive(Default)]
struct Exhausted(Option<Vec<WebhookId>>);

impl Exhausted {
    fn remember(&mut self, mut full: Vec<WebhookId>) {
        full.sort_unstable();
        self.0 = Some(full);
    }

    fn forget(&mut self) {
        self.0 = None;
    }

    /// Whether `full` excludes at least what the short claim excluded.
    fn covers(&self, full: &[WebhookId]) -> bool {
        self.0
            .as_ref()
            .is_some_and(|before| before.iter().all(|id| full.contains(id)))
    }
}

/// What a cycle found.
enum Cycle {
    /// Leased as many as asked for, or left records behind: go again at once.
    Again,
    /// Nothing more to do now: wait for the next due time, a wake-up or finished attempts.
    Idle,
    /// No worthwhile room, or only full webhooks have due work: wait for finished attempts or
    /// a wake-up (at most the poll interval).
    Blocked,
}

/// Deliveries this dispatcher holds: sending (at most `per_webhook` per webhook) and claimed
/// but waiting for a slot of their webhook. Waiting ones are few (at most `per_webhook` plus a
/// claim batch per webhook), and the lease covers their wait (checked when the configuration
/// is loaded).
struct Slots {
    per_webhook: usize,
    held: usize,
    sending: HashMap<WebhookId, usize>,
    waiting: HashMap<WebhookId, VecDeque<ClaimedDelivery>>,
}

impl Slots {
    fn new(per_webhook: usize) -> Self {
        Self {
            per_webhook,
            held: 0,
            sending: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// Takes a claimed delivery: returns it if it may be sent now, else queues it.
    fn admit(&mut self, delivery: ClaimedDelivery) -> Option<ClaimedDelivery> {
        self.held += 1;
        let sending = self.sending.entry(delivery.webhook_id).or_default();
        if *sending < self.per_webhook {
            *sending += 1;
            return Some(delivery);
        }
        self.waiting
            .entry(delivery.webhook_id)
            .or_default()
            .push_back(delivery);
        None
    }

    /// Frees a finished attempt's slot; returns the next delivery of that webhook to send.
    fn release(&mut self, webhook: WebhookId) -> Option<ClaimedDelivery> {
        self.held = self.held.saturating_sub(1);
        if let Some(next) = self.waiting.get_mut(&webhook).and_then(VecDeque::pop_front) {
            if self.waiting.get(&webhook).is_some_and(VecDeque::is_empty) {
                self.waiting.remove(&webhook);
            }
            return Some(next);
        }
        if let Some(count) = self.sending.get_mut(&webhook) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.sending.remove(&webhook);
            }
        }
        None
    }

    /// Webhooks that may not take more deliveries now: those sending their full share with as
    /// many again waiting, so that the next batch is at hand while a cycle commits.
    fn full(&self) -> Vec<WebhookId> {
        self.sending
            .iter()
            .filter(|(id, sending)| {
                let waiting = self.waiting.get(*id).map_or(0, VecDeque::len);
                **sending + waiting >= 2 * self.per_webhook
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The dispatcher's state between cycles.
struct Running {
    slots: Slots,
    tasks: JoinSet<()>,
    finished: mpsc::UnboundedSender<AttemptRecord>,
    /// Attempts finished but not yet recorded.
    records: Vec<AttemptRecord>,
    exhausted: Exhausted,
    reason: String,
}

impl Dispatcher {
    /// Runs until `shutdown`, then lets attempts in flight finish (within their timeout) and
    /// records them.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let (finished, mut finished_rx) = mpsc::unbounded_channel::<AttemptRecord>();
        let mut run = Running {
            slots: Slots::new(self.config.max_in_flight_per_webhook),
            tasks: JoinSet::new(),
            finished,
            records: Vec::new(),
            exhausted: Exhausted::default(),
            reason: format!(
                "Webhook disabled by vizhook after {} consecutive failed deliveries",
                self.config.disable_after_failed_deliveries
            ),
        };
        let mut arrived = Vec::new();
        while !shutdown.is_cancelled() {
            while let Ok(record) = finished_rx.try_recv() {
                self.finish(&mut run, record);
            }
            while run.tasks.try_join_next().is_some() {}
            let pause = match self.cycle(&mut run).await {
                Cycle::Again => continue,
                Cycle::Idle => self.pause().await,
                Cycle::Blocked => self.config.poll_interval,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => run.exhausted.forget(),
                count = finished_rx.recv_many(&mut arrived, 1024) => {
                    for record in arrived.drain(..count) {
                        self.finish(&mut run, record);
                    }
                }
                () = tokio::time::sleep(pause) => run.exhausted.forget(),
            }
        }
        // Let attempts in flight finish and record them. Deliveries still waiting for a slot
        // are left to their leases.
        while run.tasks.join_next().await.is_some() {}
        while let Ok(record) = finished_rx.try_recv() {
            run.records.push(record);
        }
        while !run.records.is_empty() {
            if self.exchange(&mut run, None).await.is_none() {
                break;
            }
        }
    }

    /// Takes a finished attempt: frees its slot (starting a delivery that waited for it) and
    /// keeps its record for the next cycle.
    fn finish(&self, run: &mut Running, record: AttemptRecord) {
        if let Some(next) = run.slots.release(record.webhook_id) {
            self.start(next, &mut run.tasks, &run.finished);
        }
        run.records.push(record);
    }

    /// One round trip: record what finished and, when there is worthwhile room, lease more.
    async fn cycle(&self, run: &mut Running) -> Cycle {
        // Unrecorded attempts count against the room, so records never pile up.
        let held = run.slots.held + run.records.len();
        let room = self.config.max_in_flight.saturating_sub(held);
        let worthwhile = self
            .config
            .claim_batch
            .min(self.config.max_in_flight / 4)
            .max(1);
        let full = run.slots.full();
        let blocked = room == 0 || (held > 0 && room < worthwhile);
        let exhausted = run.exhausted.covers(&full);
        let claim = (!blocked && !exhausted).then(|| {
            let now = OffsetDateTime::now_utc();
            ClaimRequest {
                now,
                lease_until: now + self.config.lease,
                limit: u32::try_from(room.min(self.config.claim_batch)).unwrap_or(u32::MAX),
                exclude_webhooks: full,
            }
        });
        let asked = claim
            .as_ref()
            .map(|c| (c.limit as usize, c.exclude_webhooks.clone()));
        if asked.is_none() && run.records.is_empty() {
            return if blocked || exhausted {
                Cycle::Blocked
            } else {
                Cycle::Idle
            };
        }
        let (recording, started) = (
            run.records.len().min(RECORD_BATCH),
            std::time::Instant::now(),
        );
        let claimed = self.exchange(run, claim).await;
        tracing::debug!(
            held,
            room,
            recorded = recording,
            claimed = ?claimed,
            asked = asked.as_ref().map(|a| a.0),
            millis = started.elapsed().as_millis() as u64,
            "cycle"
        );
        if !run.records.is_empty() {
            return Cycle::Again;
        }
        match (asked, claimed) {
            (Some((limit, _)), Some(count)) if count == limit => Cycle::Again,
            (Some((_, excluded)), Some(_)) => {
                // Short: nothing else is due outside the webhooks it excluded.
                run.exhausted.remember(excluded);
                Cycle::Idle
            }
            (Some(_), None) => Cycle::Idle,
            (None, _) if blocked || exhausted => Cycle::Blocked,
            (None, _) => Cycle::Idle,
        }
    }

    /// Records up to a batch of finished attempts and leases `claim`, in one transaction, and
    /// starts what it leased. Returns how many it leased, or `None` when the store failed: the
    /// records are then lost, but their leases run out and the deliveries are retried (at least
    /// once, never lost).
    async fn exchange(&self, run: &mut Running, claim: Option<ClaimRequest>) -> Option<usize> {
        let take = run.records.len().min(RECORD_BATCH);
        let records: Vec<AttemptRecord> = run.records.drain(..take).collect();
        let failure = FailurePolicy {
            disable_after: self.config.disable_after_failed_deliveries,
            reason: run.reason.clone(),
            now: OffsetDateTime::now_utc(),
        };
        match self
            .store
            .exchange(&records, &failure, claim.as_ref())
            .await
        {
            Ok(exchange) => {
                for webhook in &exchange.disabled {
                    tracing::warn!(webhook = %webhook.webhook_id, site = %webhook.site_id, "{}", run.reason);
                }
                if !exchange.disabled.is_empty() {
                    self.notices.notify_one();
                }
                let count = exchange.claimed.len();
                for delivery in exchange.claimed {
                    if let Some(ready) = run.slots.admit(delivery) {
                        self.start(ready, &mut run.tasks, &run.finished);
                    }
                }
                Some(count)
            }
            Err(err) => {
                tracing::error!(
                    error = %ErrorChain(&err),
                    attempts = records.len(),
                    "could not record attempts or claim deliveries; they will be retried when their leases end"
                );
                None
            }
        }
    }

    fn start(
        &self,
        delivery: ClaimedDelivery,
        tasks: &mut JoinSet<()>,
        finished: &mpsc::UnboundedSender<AttemptRecord>,
    ) {
        let ctx = self.attempts.clone();
        let finished = finished.clone();
        tasks.spawn(async move {
            let record = attempt(&ctx, delivery).await;
            tracing::debug!(delivery = %record.delivery_id, status = ?record.status, "attempt finished");
            let _ = finished.send(record);
        });
    }

    /// How long to wait for something to do: until the next retry falls due, but at most the
    /// poll interval.
    async fn pause(&self) -> Duration {
        let poll = self.config.poll_interval;
        match self.store.next_due().await {
            Ok(Some(due)) => {
                let wait = due - OffsetDateTime::now_utc();
                Duration::try_from(wait).unwrap_or(Duration::ZERO).min(poll)
            }
            Ok(None) => poll,
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "could not read the next due delivery");
                poll
            }
        }
    }
}
