//! The `Outbox` aggregate: events on their way to webhooks, their deliveries and attempts,
//! the delivery log, and the notices written when a webhook is disabled for failing, with the
//! trait a backend implements for them.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{DeliveryId, Event, EventId, EventKind, NoticeId, SiteId, WebhookId};

use crate::{error::StoreResult, retention::PruneStats};

/// How long [`Outbox::pending_notices`] hands notices to one caller when several nodes share
/// the backend: the caller emails them and records the outcomes within it.
pub const NOTICE_LEASE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Publishing events, leasing and recording deliveries, the delivery log and the notices.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Writes events and, in the same transaction, one pending delivery per enabled webhook of
    /// the event's site that subscribes to its type.
    async fn publish_events(&self, events: &[PublishEvent]) -> StoreResult<Vec<Published>>;
    /// Publishes like [`publish_events`](Outbox::publish_events) and, in the same transaction,
    /// leases up to `lease.limit` of the new deliveries (none of `lease.exclude`) to
    /// the caller, who sends them without claiming them: they are written with their lease, as a
    /// claim would leave them, and returned ready to send. The others stay due for claims.
    async fn publish_leasing(
        &self,
        events: &[PublishEvent],
        lease: &ClaimRequest,
    ) -> StoreResult<Publication>;
    /// Records attempts and then, if asked, leases due deliveries, in one transaction: the
    /// dispatcher's single round trip (and fsync) per cycle.
    ///
    /// Recording moves each delivery on (delivered, retry at, failed); successes reset their
    /// webhook's count of consecutive failed deliveries, failed deliveries add to it, and a
    /// webhook reaching `failure.disable_after` is disabled with a notice for its owner.
    /// Claiming leases due deliveries of enabled webhooks, oldest first; a delivery whose lease
    /// ran out (its claimer died) is due again.
    async fn exchange(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
        claim: Option<&ClaimRequest>,
    ) -> StoreResult<Exchange>;

    /// Leases due deliveries (an [`exchange`](Outbox::exchange) that records nothing).
    async fn claim_deliveries(&self, request: &ClaimRequest) -> StoreResult<Vec<ClaimedDelivery>> {
        let failure = FailurePolicy {
            disable_after: 0,
            reason: String::new(),
            now: request.now,
        };
        Ok(self.exchange(&[], &failure, Some(request)).await?.claimed)
    }

    /// Records attempts (an [`exchange`](Outbox::exchange) that claims nothing).
    async fn record_attempts(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
    ) -> StoreResult<Vec<DisabledWebhook>> {
        Ok(self.exchange(records, failure, None).await?.disabled)
    }
    /// When the next pending delivery of an enabled webhook falls due, if any.
    async fn next_due(&self) -> StoreResult<Option<OffsetDateTime>>;
    /// The queue's state for monitoring: pending deliveries (leased ones included), the oldest
    /// next attempt time among them, and how many webhooks are disabled.
    async fn queue_gauges(&self) -> StoreResult<QueueGauges>;
    /// A webhook's deliveries, newest first, each with its attempts.
    async fn deliveries(
        &self,
        site: SiteId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    async fn delivery(&self, site: SiteId, id: DeliveryId) -> StoreResult<Option<DeliveryRecord>>;
    /// The deliveries of several webhooks of a site, newest first: each webhook's page read
    /// along its own index and merged, so the log of a site needs no index of its own.
    async fn site_deliveries(
        &self,
        site: SiteId,
        webhooks: &[WebhookId],
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let mut merged = Vec::new();
        for webhook in webhooks {
            merged.extend(self.deliveries(site, *webhook, query).await?);
        }
        merged.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        merged.truncate(query.limit as usize);
        Ok(merged)
    }
    /// The attempts of a webhook's deliveries created at or after `since`, counted by the
    /// minute they started in, oldest minute first: the dashboard's charts.
    async fn attempt_stats(
        &self,
        site: SiteId,
        webhook: WebhookId,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<MinuteStats>>;
    /// Each webhook of a site with its count of consecutive failed deliveries (zero after a
    /// success or a re-enable).
    async fn failure_counts(&self, site: SiteId) -> StoreResult<Vec<(WebhookId, u32)>>;
    /// Schedules a delivery again, now, with a fresh retry schedule. `NotFound` if absent.
    async fn redeliver(&self, site: SiteId, id: DeliveryId, now: OffsetDateTime)
    -> StoreResult<()>;
    /// One step of retention: deletes at most `limit` finished deliveries (with their
    /// attempts) completed before `before`, then at most `limit` events older than `before`
    /// that no longer have a delivery, in one short transaction. Pruning everything is calling
    /// it again while [`PruneStats::reached`] the limit, so that a day's rows never hold the
    /// database for the whole sweep and deliveries keep being written between the steps.
    async fn prune(&self, before: OffsetDateTime, limit: u32) -> StoreResult<PruneStats>;

    /// A site's notices, newest first; only one webhook's when `webhook` is given.
    async fn notices(&self, site: SiteId, webhook: Option<WebhookId>) -> StoreResult<Vec<Notice>>;
    /// Notices whose email is still to be sent, oldest first. A backend shared by several
    /// nodes leases them to the caller for [`NOTICE_LEASE`], so that no other node emails
    /// them meanwhile; a caller records every outcome well within that.
    async fn pending_notices(&self, limit: u32) -> StoreResult<Vec<Notice>>;
    async fn update_notice(&self, update: &NoticeUpdate) -> StoreResult<()>;

    /// Calls `wake` whenever another process sharing this database may have made deliveries
    /// due (published them, resumed or redelivered them), so that this process's workers look
    /// at once rather than at their next poll, which stays the backstop. A backend that one
    /// process holds alone (SQLite) never calls it.
    fn on_remote_deliveries(&self, _wake: crate::wake::Wake) {}
}

/// An event to write, with the exact payload its deliveries will POST.
#[derive(Debug, Clone)]
pub struct PublishEvent {
    pub event: Event,
    pub payload: Vec<u8>,
}

/// What publishing one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub event_id: EventId,
    /// How many deliveries were queued (one per enabled, subscribed webhook).
    pub deliveries: u32,
}

/// What [`publish_leasing`](Outbox::publish_leasing) did: each event's fan-out, and the
/// new deliveries leased to the caller.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    pub published: Vec<Published>,
    pub leased: Vec<ClaimedDelivery>,
}

/// A request to lease due work: deliveries (`ClaimRequest<WebhookId>`, the default) or an
/// inbox's action tasks (`ClaimRequest<String>`, keyed by receiver).
#[derive(Debug, Clone)]
pub struct ClaimRequest<K = WebhookId> {
    pub now: OffsetDateTime,
    /// Until when the claimed work belongs to the claimer; after that anyone may retake it
    /// (the claimer crashed).
    pub lease_until: OffsetDateTime,
    pub limit: u32,
    /// Keys (webhooks, receivers) that already have as much in flight as they may.
    pub exclude: Vec<K>,
}

/// A delivery leased for one attempt, with what is needed to send it.
#[derive(Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    pub site_id: SiteId,
    pub url: String,
    /// The webhook's Standard Webhooks signing secret (`whsec_…`), if it has its own.
    pub signing_secret: Option<String>,
    pub payload: Vec<u8>,
    /// This attempt's number over the delivery's whole life (1-based).
    pub attempt: u32,
    /// This attempt's number since the delivery was last scheduled (1-based); it drives the
    /// retry schedule.
    pub round_attempt: u32,
}

impl fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimedDelivery")
            .field("id", &self.id)
            .field("webhook_id", &self.webhook_id)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// Where a delivery, or an inbox's action task ([`TaskNext`](crate::TaskNext)), goes after an
/// attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptNext {
    /// It succeeded: a delivery was delivered, an action ran. Finished.
    Delivered,
    /// It failed and is tried again at this time.
    RetryAt(OffsetDateTime),
    /// Its last attempt failed: finished. A failed delivery counts towards disabling its
    /// webhook.
    Failed,
}

/// One attempt to record, and the delivery's next state.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: DeliveryId,
    pub webhook_id: WebhookId,
    pub number: u32,
    pub started_at: OffsetDateTime,
    pub latency_ms: u32,
    /// The HTTP status, or `None` when no answer came.
    pub status: Option<u16>,
    /// Why there was no answer (timeout, refused connection, …).
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub next: AttemptNext,
}

/// When failed deliveries disable a webhook.
#[derive(Debug, Clone)]
pub struct FailurePolicy {
    /// Consecutive failed deliveries that disable a webhook; 0 never disables.
    pub disable_after: u32,
    /// The `statusChangeReason` written when disabling.
    pub reason: String,
    pub now: OffsetDateTime,
}

/// What an exchange did: webhooks its records disabled, and the deliveries it leased.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub disabled: Vec<DisabledWebhook>,
    pub claimed: Vec<ClaimedDelivery>,
}

/// A webhook that recording attempts disabled, and the notice written about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledWebhook {
    pub webhook_id: WebhookId,
    pub site_id: SiteId,
    pub notice_id: NoticeId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    /// Pending, but its webhook is disabled: it resumes when the webhook is re-enabled.
    Paused,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paused => "paused",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Paused, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// One recorded attempt, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub number: u32,
    pub started_at: OffsetDateTime,
    pub latency_ms: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// A delivery with its attempts, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    pub event_type: EventKind,
    pub state: DeliveryState,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    pub payload: String,
    pub attempts: Vec<AttemptRow>,
}

/// Which page of a webhook's deliveries to read, newest first, and which of them.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub limit: u32,
    /// Only deliveries created before this time.
    pub before: Option<OffsetDateTime>,
    /// Only deliveries created at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only deliveries in this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries of this event.
    pub event: Option<EventKind>,
}

/// Whether a notice's email went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailState {
    Pending,
    Sent,
    /// Not sent on purpose: no recipient address, or email is not configured.
    Skipped,
    /// Sending failed every time.
    Failed,
}

impl EmailState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Skipped, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A record that vizhook disabled a webhook, and the email to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: NoticeId,
    pub site_id: SiteId,
    pub webhook_id: WebhookId,
    pub webhook_name: String,
    pub message: String,
    /// The owner's email address, if one is known.
    pub recipient: Option<String>,
    pub email_state: EmailState,
    pub email_attempts: u32,
    pub email_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// The outcome of one try to email a notice.
#[derive(Debug, Clone)]
pub struct NoticeUpdate {
    pub id: NoticeId,
    pub state: EmailState,
    pub error: Option<String>,
    pub now: OffsetDateTime,
}

/// What `Outbox::queue_gauges` reports, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueGauges {
    /// Deliveries still to be delivered (pending, leased or not; not paused).
    pub pending: u64,
    /// The earliest next attempt time of a pending delivery.
    pub oldest_due: Option<OffsetDateTime>,
    /// Webhooks that are disabled (by vizhook after failures, or by their owner).
    pub disabled_webhooks: u64,
}

/// One minute of a webhook's attempts: how many, how many got a 2xx, and their latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteStats {
    /// The start of the minute.
    pub minute: OffsetDateTime,
    pub attempts: u32,
    pub succeeded: u32,
    pub mean_latency_ms: u32,
    pub max_latency_ms: u32,
}
