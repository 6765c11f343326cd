//! `Webhooks` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{SiteId, Webhook, WebhookId};
use vizhook_store::*;

use crate::PgStore;

#[async_trait]
impl Webhooks for PgStore {
    async fn create_webhook(&self, _webhook: &Webhook) -> StoreResult<()> {
        Err(crate::unimplemented("create_webhook"))
    }

    async fn webhooks(&self, _site: SiteId) -> StoreResult<Vec<OwnedWebhook>> {
        Err(crate::unimplemented("webhooks"))
    }

    async fn webhook(&self, _site: SiteId, _id: WebhookId) -> StoreResult<Option<OwnedWebhook>> {
        Err(crate::unimplemented("webhook"))
    }

    async fn update_webhook(&self, _webhook: &Webhook) -> StoreResult<()> {
        Err(crate::unimplemented("update_webhook"))
    }

    async fn delete_webhook(&self, _site: SiteId, _id: WebhookId) -> StoreResult<()> {
        Err(crate::unimplemented("delete_webhook"))
    }

    async fn set_signing_secret(
        &self,
        _site: SiteId,
        _id: WebhookId,
        _secret: Option<String>,
    ) -> StoreResult<()> {
        Err(crate::unimplemented("set_signing_secret"))
    }
}
