//! `DeliveryHandle`: how writers reach the delivery workers (wake them, hand them leased
//! deliveries, wake the notice worker), and how readiness checks see the dispatcher's progress.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;
use vizhook_core::WebhookId;
use vizhook_runtime::engine::{HandOff, Progress};
use vizhook_store::ClaimedDelivery;

/// How the API tells the delivery workers that there is new work, or hands them deliveries it
/// leased as it wrote them.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    pub(crate) wake: Arc<Notify>,
    pub(crate) notices: Arc<Notify>,
    pub(crate) hand_off: Arc<HandOff<WebhookId, ClaimedDelivery>>,
    pub(crate) progress: Progress,
}

impl DeliveryHandle {
    /// A handle for a dispatcher that polls every `poll_interval` (which sets how long it may go
    /// without progress before [`stalled`](Self::stalled) says so).
    pub fn new(poll_interval: Duration) -> Self {
        Self {
            wake: Arc::default(),
            notices: Arc::default(),
            hand_off: HandOff::new(),
            progress: Progress::new(poll_interval),
        }
    }

    /// How long the dispatcher has gone without a cycle its store answered, when that is longer
    /// than it should: its store refuses writes, a round trip hangs, or it stopped.
    pub fn stalled(&self) -> Option<Duration> {
        self.progress.stalled()
    }

    /// New deliveries were written or paused ones resumed: look now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}
