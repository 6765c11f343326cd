//! `Outbox` on PostgreSQL, for several nodes sharing the database: publishing events with
//! their deliveries (`publish.rs`), leasing due deliveries with `FOR UPDATE SKIP LOCKED`
//! (`claim.rs`), recording attempts with Tableau's failure accounting under the webhooks' row
//! locks (`record.rs`, `disable.rs`), the delivery log and retention (`log.rs`), and notices,
//! leased to one node's mailer at a time (`notices.rs`). Batches travel as `UNNEST` arrays, so
//! a batch costs a few statements, not a few per row. Leased deliveries' signing secrets are
//! unsealed inside the transaction that leases them, so a secret that cannot be read leases
//! nothing.

mod claim;
mod disable;
mod log;
mod notices;
pub(crate) mod publish;
#[cfg(test)]
mod races;
pub(crate) mod record;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{DeliveryId, SiteId, WebhookId};
use vizhook_store::{
    AttemptRecord, ClaimRequest, DeliveryQuery, DeliveryRecord, Exchange, FailurePolicy,
    MinuteStats, Notice, NoticeUpdate, Outbox, PruneStats, Publication, PublishEvent, Published,
    QueueGauges, StoreResult, Wake,
};

use crate::{PgStore, convert::db_error, wakes::notify};

#[async_trait]
impl Outbox for PgStore {
    async fn publish_events(&self, events: &[PublishEvent]) -> StoreResult<Vec<Published>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let published = publish::publish(&mut tx, &self.wakes, events).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(published)
    }

    async fn publish_leasing(
        &self,
        events: &[PublishEvent],
        lease: &ClaimRequest,
    ) -> StoreResult<Publication> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut publication =
            publish::publish_leasing(&mut tx, &self.wakes, events, Some(lease)).await?;
        // Before committing, so a secret that cannot be read leases (and publishes) nothing.
        self.at_rest.unseal_deliveries(&mut publication.leased)?;
        tx.commit().await.map_err(db_error)?;
        Ok(publication)
    }

    async fn exchange(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
        claim: Option<&ClaimRequest>,
    ) -> StoreResult<Exchange> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let disabled = record::record(&mut tx, records, failure).await?;
        let mut claimed = match claim {
            Some(request) => claim::claim(&mut tx, request).await?,
            None => Vec::new(),
        };
        // Inside the transaction, so a secret that cannot be read leases nothing.
        self.at_rest.unseal_deliveries(&mut claimed)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Exchange { disabled, claimed })
    }

    async fn next_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        claim::next_due(&self.pool).await
    }

    async fn queue_gauges(&self) -> StoreResult<QueueGauges> {
        claim::queue_gauges(&self.pool).await
    }

    async fn deliveries(
        &self,
        site: SiteId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        log::deliveries(&self.pool, site, webhook, query).await
    }

    async fn delivery(&self, site: SiteId, id: DeliveryId) -> StoreResult<Option<DeliveryRecord>> {
        log::delivery(&self.pool, site, id).await
    }

    async fn attempt_stats(
        &self,
        site: SiteId,
        webhook: WebhookId,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<MinuteStats>> {
        log::attempt_stats(&self.pool, site, webhook, since).await
    }

    async fn failure_counts(&self, site: SiteId) -> StoreResult<Vec<(WebhookId, u32)>> {
        log::failure_counts(&self.pool, site).await
    }

    async fn redeliver(
        &self,
        site: SiteId,
        id: DeliveryId,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let due = log::redeliver(&mut tx, site, id, now).await?;
        if due {
            notify(&mut tx, &self.wakes.outbox_channel).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    async fn prune(&self, before: OffsetDateTime, limit: u32) -> StoreResult<PruneStats> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let stats = log::prune(&mut tx, before, limit).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(stats)
    }

    async fn notices(&self, site: SiteId, webhook: Option<WebhookId>) -> StoreResult<Vec<Notice>> {
        notices::notices(&self.pool, site, webhook).await
    }

    async fn pending_notices(&self, limit: u32) -> StoreResult<Vec<Notice>> {
        notices::pending_notices(&self.pool, limit).await
    }

    async fn update_notice(&self, update: &NoticeUpdate) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        notices::update_notice(&mut tx, update).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    fn on_remote_deliveries(&self, wake: Wake) {
        self.wakes.on_outbox(wake);
    }
}
