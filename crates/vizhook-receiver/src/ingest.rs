//! Ingest: turns one admitted, verified request into a stored inbound event. It enriches the
//! event, routes it, plans one notification per action of each routed receiver, and stores it
//! all in one store call that de-duplicates and applies the alert groups. That call also leases
//! as many of the new tasks as the action engine has room for, and they are handed to the
//! engine once committed (as `vizhook serve` hands new deliveries to its dispatcher); the
//! engine is woken for the rest. What the actions need is stored with each task (never a
//! secret), so actions render at execution time from the database alone.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;
use vizhook_core::notify::Notice;
use vizhook_store::{
    ClaimedTask, Inbound, PlannedNotification, Received, Store, StoreError, TaskClaimRequest,
};

use vizhook_tableau::payload::InboundEvent;

use super::{
    actions::{Actions, Context},
    enrich::{Enricher, Enrichment},
    routing::RouteTree,
    source::Source,
};
use vizhook_runtime::engine::HandOff;

/// How long a request may wait for names from Tableau's REST API.
const ENRICH_DEADLINE: Duration = Duration::from_secs(1);

/// What a task needs to run, as stored with it: the action's context without the notice
/// (which the store decides).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TaskSpec {
    pub(crate) event: serde_json::Value,
    pub(crate) site_name: Option<String>,
    pub(crate) project_name: Option<String>,
    pub(crate) owner_name: Option<String>,
    pub(crate) receiver: String,
    pub(crate) received_at: String,
}

impl TaskSpec {
    pub(crate) fn into_context(self, notice: Notice) -> Context {
        Context {
            event: self.event,
            notice,
            site_name: self.site_name,
            project_name: self.project_name,
            owner_name: self.owner_name,
            receiver: self.receiver,
            received_at: self.received_at,
        }
    }
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored; `queued` actions will run.
    Accepted { id: String, queued: usize },
    /// Tableau's test payload: stored, not routed.
    Test { id: String },
    /// A repeat of the stored event `original`: nothing was stored or queued.
    Duplicate { original: String },
}

#[derive(Debug)]
pub struct Ingest {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) tree: RouteTree,
    pub(crate) actions: Arc<Actions>,
    pub(crate) enricher: Enricher,
    pub(crate) dedup_window: Duration,
    /// Wakes the action engine.
    pub(crate) wake: Arc<Notify>,
    /// The action engine's room, for tasks leased as they are stored.
    pub(crate) hand_off: Arc<HandOff<String, ClaimedTask>>,
    /// How long a task handed to the engine is leased for.
    pub(crate) lease: Duration,
    /// Work that outlives its request (storing an event, a slow Tableau lookup), which
    /// shutdown waits for.
    pub(crate) tasks: TaskTracker,
}

impl Ingest {
    /// Stores one event. Fails only when the store does; the caller answers 503 so that the
    /// sender retries.
    pub async fn ingest(
        &self,
        source: &Source,
        event: &InboundEvent,
        body: &[u8],
        webhook_id: Option<&str>,
    ) -> Result<Outcome, StoreError> {
        let received_at = OffsetDateTime::now_utc();
        let id = uuid::Uuid::now_v7().to_string();
        // A test is a deliberate ping: every one is accepted and recorded. Otherwise a repeat
        // is the same payload, or the same message id from a sender that sends one.
        let payload_key = format!(
            "{}:sha256:{}",
            source.name,
            hex::encode(Sha256::digest(body))
        );
        let (dedup_key, extra_dedup_keys) = match webhook_id {
            _ if event.is_test => (format!("{}:test:{id}", source.name), Vec::new()),
            Some(webhook_id) => (
                format!("{}:id:{webhook_id}", source.name),
                vec![payload_key],
            ),
            None => (payload_key, Vec::new()),
        };
        let enrichment = if event.is_test {
            Enrichment::default()
        } else {
            self.enricher
                .lookup_within(event, ENRICH_DEADLINE, &self.tasks)
                .await
        };
        let notifications = if event.is_test {
            Vec::new()
        } else {
            self.plan(event, &enrichment, received_at)
        };
        let routed = notifications.len();
        let inbound = Inbound {
            id: id.clone(),
            source: source.name.clone(),
            dedup_key,
            extra_dedup_keys,
            dedup_until: received_at + self.dedup_window,
            body: body.to_vec(),
            received_at,
            notifications,
        };
        let (received, handed) = self.store(inbound).await?;
        let outcome = match received {
            Received::Duplicate { original } => Outcome::Duplicate { original },
            Received::Stored { .. } if event.is_test => Outcome::Test { id },
            Received::Stored { tasks } => {
                if tasks.len() > handed {
                    self.wake.notify_one();
                }
                let queued = tasks.len();
                let targets: Vec<String> = tasks
                    .iter()
                    .map(|(target, notice)| format!("{target}:{}", notice.as_str()))
                    .collect();
                tracing::info!(
                    source = %source.name, id = %id, event_type = ?event.event_type,
                    resource_luid = ?event.resource_luid, site = enrichment.site_name.as_deref().unwrap_or(&event.site_luid),
                    routed, queued = ?targets, "event accepted"
                );
                Outcome::Accepted { id, queued }
            }
        };
        match &outcome {
            Outcome::Duplicate { original } => tracing::info!(
                source = %source.name, original = %original, event_type = ?event.event_type,
                "duplicate event ignored"
            ),
            Outcome::Test { id } => {
                tracing::info!(source = %source.name, id = %id, "test payload accepted");
            }
            Outcome::Accepted { .. } => {}
        }
        let label = match &outcome {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Test { .. } => "test",
            Outcome::Duplicate { .. } => "duplicate",
        };
        metrics::counter!("vizhook_receive_events_total", "source" => source.name.clone(), "outcome" => label)
            .increment(1);
        Ok(outcome)
    }

    /// Stores the event, leasing as many of its tasks as the action engine has room for; those
    /// are handed to the engine once committed. Returns how many were handed.
    ///
    /// Commands are never leased here: they run a few at a time, and the lease their
    /// configuration is checked against assumes no more of them wait for a slot than a claim
    /// brings, which hand-offs between two engine cycles do not promise. Claims bring them.
    async fn store(&self, inbound: Inbound) -> Result<(Received, usize), StoreError> {
        let mut capped: Vec<String> = inbound
            .notifications
            .iter()
            .filter(|plan| self.actions.concurrency(&plan.receiver).is_some())
            .map(|plan| plan.receiver.clone())
            .collect();
        let wanted = inbound.notifications.len() - capped.len();
        let reservation = match wanted {
            0 => None,
            wanted => self.hand_off.reserve(wanted),
        };
        let Some(reservation) = reservation else {
            return Ok((self.store.receive(&inbound).await?, 0));
        };
        capped.sort_unstable();
        capped.dedup();
        capped.extend_from_slice(reservation.exclude());
        let now = OffsetDateTime::now_utc();
        let lease = TaskClaimRequest {
            now,
            lease_until: now + self.lease,
            limit: u32::try_from(reservation.limit()).unwrap_or(u32::MAX),
            exclude: capped,
        };
        // Stored and handed over by a task of its own: if the request goes away (the client
        // disconnects) the commit still happens, and its leased tasks must still reach the
        // engine rather than wait for their leases to end.
        let store = self.store.clone();
        self.tasks
            .spawn(async move {
                let (received, leased) = store.receive_leasing(&inbound, &lease).await?;
                let handed = leased.len();
                reservation.hand(leased);
                Ok((received, handed))
            })
            .await
            .map_err(StoreError::unavailable)?
    }

    /// One planned notification per action of every routed receiver.
    fn plan(
        &self,
        event: &InboundEvent,
        enrichment: &Enrichment,
        received_at: OffsetDateTime,
    ) -> Vec<PlannedNotification> {
        let mut planned = Vec::new();
        // What every task carries, built once and only if a routed receiver has actions.
        let mut common: Option<(serde_json::Value, String)> = None;
        for routed in self.tree.route(event, enrichment.site_name.as_deref()) {
            let targets = self.actions.targets(&routed.receiver).unwrap_or_default();
            if targets.is_empty() {
                continue;
            }
            let (json, received_at) = common.get_or_insert_with(|| {
                (
                    event.to_json(),
                    received_at.format(&Rfc3339).unwrap_or_default(),
                )
            });
            let spec = TaskSpec {
                event: json.clone(),
                site_name: enrichment.site_name.clone(),
                project_name: enrichment.project_name.clone(),
                owner_name: enrichment.owner_name.clone(),
                receiver: routed.receiver.clone(),
                received_at: received_at.clone(),
            };
            // Serialising plain JSON values and strings cannot fail.
            let spec = serde_json::to_string(&spec).unwrap_or_default();
            for target in targets {
                planned.push(PlannedNotification {
                    receiver: target,
                    group_key: routed.group_key.clone(),
                    intent: routed.intent,
                    repeat_interval: routed.repeat_interval,
                    spec: spec.clone(),
                });
            }
        }
        planned
    }
}
