//! Outbound delivery: the dispatcher that turns the store's outbox into HTTP attempts, the
//! guarded client every request goes through, Tableau's payload, Standard Webhooks signing,
//! owner emails for disabled webhooks, and retention.

mod attempt;
mod dispatcher;
pub mod email;
pub mod http_client;
mod notices;
pub mod payload;
mod retention;
pub mod signing;
pub mod ssrf;

use std::sync::Arc;

use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

use self::{
    attempt::AttemptContext, dispatcher::Dispatcher, email::Mailer, notices::NoticeWorker,
    signing::Signer,
};
use crate::state::AppState;

/// How the API tells the delivery workers that there is new work.
#[derive(Debug, Clone, Default)]
pub struct DeliveryHandle {
    wake: Arc<Notify>,
    notices: Arc<Notify>,
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
    Secret(#[from] signing::SecretFormatError),
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
    let attempts = Arc::new(AttemptContext {
        outbound: state.outbound.clone(),
        policy: delivery.policy(),
        timeout: delivery.attempt_timeout,
        excerpt_bytes: delivery.response_excerpt_bytes,
        signer,
    });
    let dispatcher = Dispatcher {
        store: state.store.clone(),
        config: delivery.clone(),
        attempts,
        wake: state.delivery.wake.clone(),
        notices: state.delivery.notices.clone(),
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
