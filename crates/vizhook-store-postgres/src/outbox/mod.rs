//! `Outbox` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{DeliveryId, Event, EventId, EventKind, NoticeId, SiteId, WebhookId};
use vizhook_store::*;

pub(crate) mod publish;
pub(crate) mod record;

use crate::PgStore;

#[async_trait]
impl Outbox for PgStore {
    async fn publish_events(&self, _events: &[PublishEvent]) -> StoreResult<Vec<Published>> {
        Err(crate::unimplemented("publish_events"))
    }

    async fn publish_leasing(
        &self,
        _events: &[PublishEvent],
        _lease: &ClaimRequest,
    ) -> StoreResult<Publication> {
        Err(crate::unimplemented("publish_leasing"))
    }

    async fn exchange(
        &self,
        _records: &[AttemptRecord],
        _failure: &FailurePolicy,
        _claim: Option<&ClaimRequest>,
    ) -> StoreResult<Exchange> {
        Err(crate::unimplemented("exchange"))
    }

    async fn next_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        Err(crate::unimplemented("next_due"))
    }

    async fn deliveries(
        &self,
        _site: SiteId,
        _webhook: WebhookId,
        _query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        Err(crate::unimplemented("deliveries"))
    }

    async fn delivery(
        &self,
        _site: SiteId,
        _id: DeliveryId,
    ) -> StoreResult<Option<DeliveryRecord>> {
        Err(crate::unimplemented("delivery"))
    }

    async fn redeliver(
        &self,
        _site: SiteId,
        _id: DeliveryId,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        Err(crate::unimplemented("redeliver"))
    }

    async fn prune(&self, _before: OffsetDateTime) -> StoreResult<PruneStats> {
        Err(crate::unimplemented("prune"))
    }

    async fn notices(
        &self,
        _site: SiteId,
        _webhook: Option<WebhookId>,
    ) -> StoreResult<Vec<Notice>> {
        Err(crate::unimplemented("notices"))
    }

    async fn pending_notices(&self, _limit: u32) -> StoreResult<Vec<Notice>> {
        Err(crate::unimplemented("pending_notices"))
    }

    async fn update_notice(&self, _update: &NoticeUpdate) -> StoreResult<()> {
        Err(crate::unimplemented("update_notice"))
    }

    fn on_remote_deliveries(&self, wake: Wake) {
        self.wakes.on_outbox(wake);
    }
}
