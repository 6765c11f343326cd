//! `AppState`: what every handler and worker shares. Cheap to clone.

use std::sync::Arc;

use vizhook_core::UrlPolicy;
use vizhook_store::Store;

use vizhook_runtime::outbound::Outbound;

use crate::{config::Config, delivery::DeliveryHandle};

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub outbound: Outbound,
    pub delivery: DeliveryHandle,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        config: Config,
    ) -> Result<Self, vizhook_runtime::outbound::ClientError> {
        let outbound = Outbound::new(&config.outbound, config.server.dev)?;
        Ok(Self {
            store,
            config: Arc::new(config),
            outbound,
            delivery: DeliveryHandle::default(),
        })
    }

    /// Which webhook destinations are acceptable: https only, unless in development mode.
    pub fn url_policy(&self) -> UrlPolicy {
        UrlPolicy {
            allow_http: self.config.server.dev,
        }
    }
}
