//! Outbound delivery: the durable work engine (shared with the receiver's actions), webhook
//! deliveries as its work, the guarded client every request goes through, Tableau's payload,
//! Standard Webhooks signing, owner emails for disabled webhooks, and retention.

mod attempt;
mod dispatcher;
mod notices;
mod retention;

use std::sync::Arc;

use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;
use vizhook_core::WebhookId;
use vizhook_store::ClaimedDelivery;

use self::{attempt::AttemptContext, dispatcher::Deliveries, notices::NoticeWorker};
use vizhook_runtime::{
    email::{self, Mailer},
    engine::{Engine, HandOff},
};
use vizhook_tableau::signing::Signer;

use crate::state::AppState;

/// How the API tells the delivery workers that there is new work, or hands them deliveries it
/// leased as it wrote them.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    wake: Arc<Notify>,
    notices: Arc<Notify>,
    pub(crate) hand_off: Arc<HandOff<WebhookId, ClaimedDelivery>>,
}

impl Default for DeliveryHandle {
    fn default() -> Self {
        Self {
            wake: Arc::default(),
            notices: Arc::default(),
            hand_off: HandOff::new(),
        }
    }
}

impl DeliveryHandle {
    /// New deliveries were written or paused ones resumed: look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the SMTP configuration is invalid")]
    Smtp(#[from] email::EmailError),
    #[error("delivery.signing_secret is invalid")]
    Secret(#[from] vizhook_tableau::signing::SecretFormatError),
}

/// Starts the dispatcher, the notice mailer and retention. They stop when `shutdown` is
/// cancelled; await the returned set to let them finish their work in flight.
pub fn spawn_workers(
    state: &AppState,
    shutdown: &CancellationToken,
) -> Result<JoinSet<()>, StartError> {
    let config = &state.config;
    let delivery = Arc::new(config.delivery.clone());
    let signer = match delivery.signing_secret.as_str() {
        "" => None,
        secret => Some(Signer::new(secret)?),
    };
    let attempts = AttemptContext {
        outbound: state.outbound.clone(),
        policy: delivery.policy(),
        timeout: delivery.attempt_timeout,
        excerpt_bytes: delivery.response_excerpt_bytes,
        signer,
        destinations: Default::default(),
    };
    let dispatcher = Engine {
        work: Arc::new(Deliveries {
            store: state.store.clone(),
            attempts,
            disable_after: delivery.disable_after_failed_deliveries,
            reason: format!(
                "Webhook disabled by vizhook after {} consecutive failed deliveries",
                delivery.disable_after_failed_deliveries
            ),
            notices: state.delivery.notices.clone(),
        }),
        limits: delivery.limits(),
        wake: state.delivery.wake.clone(),
        hand_off: state.delivery.hand_off.clone(),
    };
    let notices = NoticeWorker {
        store: state.store.clone(),
        mailer: Mailer::new(&config.smtp)?,
        wake: state.delivery.notices.clone(),
        server_name: format!("vizhook {}", config.server.listen),
    };
    let mut workers = JoinSet::new();
    workers.spawn(dispatcher.run(shutdown.clone()));
    workers.spawn(notices.run(shutdown.clone()));
    workers.spawn(retention::run(
        state.store.clone(),
        delivery.retention,
        delivery.prune_interval,
        shutdown.clone(),
    ));
    Ok(workers)
}
