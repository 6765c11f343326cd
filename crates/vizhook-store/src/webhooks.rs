//! The `Webhooks` aggregate: a site's webhooks with their owners' names, and their signing
//! secrets, with the trait a backend implements for them.

use async_trait::async_trait;
use vizhook_core::{SiteId, Webhook, WebhookId};

use crate::error::StoreResult;

/// Webhooks and their signing secrets. Their deliveries are the [`Outbox`](crate::Outbox)'s.
#[async_trait]
pub trait Webhooks: Send + Sync {
    async fn create_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    async fn webhooks(&self, site: SiteId) -> StoreResult<Vec<OwnedWebhook>>;
    async fn webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<Option<OwnedWebhook>>;
    /// `NotFound` when the webhook is gone. Disabling one pauses its undelivered deliveries and
    /// enabling it resumes them.
    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()>;
    /// `NotFound` when the webhook is gone.
    async fn delete_webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<()>;
    /// Sets (or with `None` removes) a webhook's own signing secret. `NotFound` if absent.
    async fn set_signing_secret(
        &self,
        site: SiteId,
        id: WebhookId,
        secret: Option<String>,
    ) -> StoreResult<()>;
}

/// A webhook with its owner's name, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedWebhook {
    pub webhook: Webhook,
    /// Empty when the owner has been removed from the site.
    pub owner_name: String,
}
