//! Webhook deliveries as [`Work`] for the shared engine: leasing due deliveries and recording
//! attempts through `Store::exchange` (which also counts failed deliveries and disables
//! webhooks that reach the limit, waking the notice mailer), and one HTTP attempt per item.

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use vizhook_core::WebhookId;
use vizhook_store::{
    AttemptNext, AttemptRecord, ClaimRequest, ClaimedDelivery, FailurePolicy, Store,
};

use vizhook_runtime::engine::{Claim, Work};

use crate::attempt::{AttemptContext, Attempted, attempt};
use vizhook_runtime::ErrorChain;

#[derive(Debug)]
pub(crate) struct Deliveries {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) attempts: AttemptContext,
    pub(crate) disable_after: u32,
    /// The `statusChangeReason` written when a webhook is disabled.
    pub(crate) reason: String,
    /// Woken when a webhook was disabled and its owner is to be emailed.
    pub(crate) notices: Arc<Notify>,
}

impl Work for Deliveries {
    type Item = ClaimedDelivery;
    type Record = Attempted;
    type Key = WebhookId;

    fn item_key(item: &ClaimedDelivery) -> WebhookId {
        item.webhook_id
    }

    fn record_key(attempted: &Attempted) -> WebhookId {
        attempted.record.webhook_id
    }

    fn retry_at(attempted: &Attempted) -> Option<OffsetDateTime> {
        match attempted.record.next {
            AttemptNext::RetryAt(at) => Some(at),
            AttemptNext::Delivered | AttemptNext::Failed => None,
        }
    }

    fn pause_until(attempted: &Attempted) -> Option<OffsetDateTime> {
        attempted.pause_until
    }

    fn succeeded(attempted: &Attempted) -> bool {
        attempted.record.next == AttemptNext::Delivered
    }

    async fn exchange(
        &self,
        attempted: Vec<Attempted>,
        claim: Option<Claim<WebhookId>>,
    ) -> Option<Vec<ClaimedDelivery>> {
        let failure = FailurePolicy {
            disable_after: self.disable_after,
            reason: self.reason.clone(),
            now: OffsetDateTime::now_utc(),
        };
        let records: Vec<AttemptRecord> = attempted.into_iter().map(|a| a.record).collect();
        let claim = claim.map(|claim| ClaimRequest {
            now: claim.now,
            lease_until: claim.lease_until,
            limit: claim.limit,
            exclude: claim.exclude,
        });
        match self
            .store
            .exchange(&records, &failure, claim.as_ref())
            .await
        {
            Ok(exchange) => {
                for webhook in &exchange.disabled {
                    tracing::warn!(webhook = %webhook.webhook_id, site = %webhook.site_id, "{}", self.reason);
                }
                if !exchange.disabled.is_empty() {
                    self.notices.notify_one();
                }
                Some(exchange.claimed)
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

    async fn perform(self: Arc<Self>, delivery: ClaimedDelivery) -> Attempted {
        let attempted = attempt(&self.attempts, delivery).await;
        let record = &attempted.record;
        // Failures are logged, successes only at debug: "why did my webhook not arrive?" is
        // answered here and in the delivery log. The destination is not logged (its path often
        // carries a key); the webhook's id names it.
        let (delivery, webhook, attempt) = (record.delivery_id, record.webhook_id, record.number);
        // Built only for a failure: a success, the common case, formats nothing.
        let failure = || {
            record.error.as_deref().map_or_else(
                || format!("HTTP {}", record.status.unwrap_or_default()),
                str::to_owned,
            )
        };
        let outcome = match record.next {
            AttemptNext::Delivered => "delivered",
            AttemptNext::RetryAt(_) => "retrying",
            AttemptNext::Failed => "failed",
        };
        metrics::counter!("vizhook_delivery_attempts_total", "outcome" => outcome).increment(1);
        metrics::histogram!("vizhook_delivery_attempt_seconds")
            .record(f64::from(record.latency_ms) / 1000.0);
        match record.next {
            AttemptNext::Delivered => {
                tracing::debug!(%delivery, %webhook, attempt, "delivered");
            }
            AttemptNext::RetryAt(at) => tracing::info!(
                %delivery, %webhook, attempt, failure = %failure(), retry_at = %at,
                "a delivery attempt failed; it will be retried"
            ),
            AttemptNext::Failed => tracing::warn!(
                %delivery, %webhook, attempt, failure = %failure(),
                "a delivery failed its last attempt; it counts towards disabling the webhook"
            ),
        }
        if let Some(until) = attempted.pause_until {
            tracing::info!(%webhook, %until, "the destination asked to slow down; this webhook's deliveries wait until then");
        }
        attempted
    }

    async fn next_due(&self) -> Option<OffsetDateTime> {
        match self.store.next_due().await {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "could not read the next due delivery");
                None
            }
        }
    }
}
