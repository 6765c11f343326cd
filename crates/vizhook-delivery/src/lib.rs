//! Delivering `vizhook serve`'s webhooks: events built with their Tableau payload and published
//! with their deliveries (`events.rs`), deliveries as the runtime engine's work
//! (`dispatcher.rs`, one attempt each in `attempt.rs`) under Tableau's rules, owner emails for
//! disabled webhooks (`notices.rs`), retention (`retention.rs`), and their settings
//! (`config.rs`). The API publishes through [`Publisher`]; the binary starts the workers with
//! [`spawn_workers`].

mod attempt;
mod config;
mod dispatcher;
mod events;
mod handle;
mod notices;
mod retention;

pub use self::{
    config::DeliveryConfig,
    events::{PublishError, Publisher, event_at, new_event},
    handle::DeliveryHandle,
};

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::{attempt::AttemptContext, dispatcher::Deliveries, notices::NoticeWorker};
use vizhook_runtime::{
    email::{self, Mailer},
    engine::Engine,
};
use vizhook_tableau::signing::Signer;

use vizhook_runtime::{email::SmtpConfig, outbound::Outbound};
use vizhook_store::Store;

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the SMTP configuration is invalid")]
    Smtp(#[from] email::EmailError),
    #[error("delivery.signing_secret is invalid")]
    Secret(#[from] vizhook_tableau::signing::SecretFormatError),
}

/// What the delivery workers run with.
#[derive(Debug, Clone)]
pub struct Workers {
    pub store: Arc<dyn Store>,
    pub config: DeliveryConfig,
    pub smtp: SmtpConfig,
    pub outbound: Outbound,
    pub handle: DeliveryHandle,
    /// How notice emails name the server (`vizhook 127.0.0.1:8080`).
    pub server_name: String,
}

/// Starts the dispatcher, the notice mailer and retention. They stop when `shutdown` is
/// cancelled; await the returned set to let them finish their work in flight.
pub fn spawn_workers(
    workers: Workers,
    shutdown: &CancellationToken,
) -> Result<JoinSet<()>, StartError> {
    let Workers {
        store,
        config: delivery,
        smtp,
        outbound,
        handle,
        server_name,
    } = workers;
    let signer = match delivery.signing_secret.as_str() {
        "" => None,
        secret => Some(Signer::new(secret)?),
    };
    let attempts = AttemptContext {
        outbound,
        policy: delivery.policy(),
        timeout: delivery.attempt_timeout,
        excerpt_bytes: delivery.response_excerpt_bytes,
        signer,
        destinations: Default::default(),
    };
    // Deliveries made due by other nodes on a shared database wake this node's workers too.
    let remote = handle.wake.clone();
    store.on_remote_deliveries(Arc::new(move || remote.notify_one()));
    let dispatcher = Engine {
        work: Arc::new(Deliveries {
            store: store.clone(),
            attempts,
            disable_after: delivery.disable_after_failed_deliveries,
            reason: format!(
                "Webhook disabled by vizhook after {} consecutive failed deliveries",
                delivery.disable_after_failed_deliveries
            ),
            notices: handle.notices.clone(),
        }),
        limits: delivery.limits(),
        wake: handle.wake.clone(),
        hand_off: handle.hand_off.clone(),
        progress: handle.progress.clone(),
    };
    let notices = NoticeWorker {
        store: store.clone(),
        mailer: Mailer::new(&smtp)?,
        wake: handle.notices.clone(),
        server_name,
        poll_interval: delivery.notice_poll_interval,
    };
    let mut running = JoinSet::new();
    running.spawn(dispatcher.run(shutdown.clone()));
    running.spawn(notices.run(shutdown.clone()));
    running.spawn(retention::run(
        store,
        delivery.retention,
        delivery.prune_interval,
        shutdown.clone(),
    ));
    Ok(running)
}
