//! `DeliveryHandle`: how writers reach the delivery workers (wake them, hand them leased
//! deliveries, wake the notice worker).

use std::sync::Arc;

use tokio::sync::Notify;
use vizhook_core::WebhookId;
use vizhook_runtime::engine::HandOff;
use vizhook_store::ClaimedDelivery;

/// How the API tells the delivery workers that there is new work, or hands them deliveries it
/// leased as it wrote them.
#[derive(Debug, Clone)]
pub struct DeliveryHandle {
    pub(crate) wake: Arc<Notify>,
    pub(crate) notices: Arc<Notify>,
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
