//! `AppState`: what every handler and worker shares. Cheap to clone.

use std::sync::Arc;

use tokio_util::task::TaskTracker;
use vizhook_core::UrlPolicy;
use vizhook_store::Store;

use vizhook_delivery::{DeliveryHandle, PublishError, Publisher};
use vizhook_runtime::{metrics::PrometheusHandle, outbound::Outbound};
use vizhook_store::{PublishEvent, Published};

use crate::{api::error::ApiResult, config::Config, content::uploads::Uploads};

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub outbound: Outbound,
    pub delivery: DeliveryHandle,
    /// Background work started by requests (extract refreshes), which shutdown waits for.
    pub tasks: TaskTracker,
    /// Renders `/metrics`; `None` when `[server] metrics` is off.
    pub metrics: Option<PrometheusHandle>,
    /// Chunked uploads (`fileUploads`) not yet published.
    pub uploads: Arc<Uploads>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        config: Config,
    ) -> Result<Self, vizhook_runtime::outbound::ClientError> {
        let outbound = Outbound::new(&config.outbound, config.server.dev)?;
        let delivery = DeliveryHandle::new(config.delivery.poll_interval);
        let metrics = config
            .server
            .metrics
            .then(vizhook_runtime::metrics::prometheus)
            .flatten();
        Ok(Self {
            store,
            config: Arc::new(config),
            outbound,
            delivery,
            tasks: TaskTracker::new(),
            metrics,
            uploads: Arc::default(),
        })
    }

    /// Which webhook destinations are acceptable: https only, unless in development mode.
    pub fn url_policy(&self) -> UrlPolicy {
        UrlPolicy {
            allow_http: self.config.server.dev,
        }
    }

    /// What publishes this state's events.
    pub fn publisher(&self) -> Publisher {
        Publisher {
            store: self.store.clone(),
            handle: self.delivery.clone(),
            lease: self.config.delivery.lease,
        }
    }

    /// Writes events with their deliveries and hands the dispatcher what it leased (see
    /// [`Publisher::publish`]).
    pub async fn publish(&self, events: &[PublishEvent]) -> ApiResult<Vec<Published>> {
        self.publisher()
            .publish(events)
            .await
            .map_err(|PublishError(error)| error.into())
    }

    /// Tells the dispatcher about deliveries a store call wrote together with a change.
    pub fn after_publish(&self, published: &[Published]) {
        self.publisher().after_publish(published);
    }
}
