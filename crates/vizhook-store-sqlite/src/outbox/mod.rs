//! `Outbox` in SQLite, with batch statements: publishing events with their deliveries
//! (`publish.rs`), leasing due deliveries (`claim.rs`), recording attempts with Tableau's
//! failure accounting (`record.rs`), the delivery log and retention (`log.rs`), and notices
//! (`notices.rs`). Batches of rows travel as multi-row statements (`rows.rs`), so a batch costs
//! a few statements, not a few per row. Leased deliveries' signing secrets are unsealed inside
//! the write that leases them, so a secret that cannot be read leases nothing.

mod claim;
mod log;
mod notices;
#[cfg(test)]
mod plan_tests;
pub(crate) mod publish;
pub(crate) mod record;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{DeliveryId, SiteId, WebhookId};
use vizhook_store::{
    AttemptRecord, ClaimRequest, DeliveryQuery, DeliveryRecord, Exchange, FailurePolicy,
    MinuteStats, Notice, NoticeUpdate, Outbox, PruneStats, Publication, PublishEvent, Published,
    QueueGauges, StoreResult,
};

use crate::SqliteStore;

#[async_trait]
impl Outbox for SqliteStore {
    async fn publish_events(&self, events: &[PublishEvent]) -> StoreResult<Vec<Published>> {
        let events = events.to_vec();
        self.writer
            .run(move |conn| Box::pin(async move { publish::publish(conn, &events).await }))
            .await
    }

    async fn publish_leasing(
        &self,
        events: &[PublishEvent],
        lease: &ClaimRequest,
    ) -> StoreResult<Publication> {
        let (events, lease, at_rest) = (events.to_vec(), lease.clone(), self.at_rest.clone());
        self.writer
            .run(move |conn| {
                Box::pin(async move {
                    let mut publication =
                        publish::publish_leasing(conn, &events, Some(&lease)).await?;
                    at_rest.unseal_deliveries(&mut publication.leased)?;
                    Ok(publication)
                })
            })
            .await
    }

    async fn exchange(
        &self,
        records: &[AttemptRecord],
        failure: &FailurePolicy,
        claim: Option<&ClaimRequest>,
    ) -> StoreResult<Exchange> {
        let (records, failure, claim) = (records.to_vec(), failure.clone(), claim.cloned());
        let at_rest = self.at_rest.clone();
        self.writer
            .run(move |conn| {
                Box::pin(async move {
                    let disabled = record::record(conn, records, failure).await?;
                    let mut claimed = match claim {
                        Some(request) => claim::claim(conn, request).await?,
                        None => Vec::new(),
                    };
                    // Inside the write, so a secret that cannot be read leases nothing.
                    at_rest.unseal_deliveries(&mut claimed)?;
                    Ok(Exchange { disabled, claimed })
                })
            })
            .await
    }

    async fn next_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        claim::next_due(&self.reader).await
    }

    async fn queue_gauges(&self) -> StoreResult<QueueGauges> {
        claim::queue_gauges(&self.reader).await
    }

    async fn deliveries(
        &self,
        site: SiteId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        log::deliveries(&self.reader, site, webhook, query.clone()).await
    }

    async fn delivery(&self, site: SiteId, id: DeliveryId) -> StoreResult<Option<DeliveryRecord>> {
        log::delivery(&self.reader, site, id).await
    }

    async fn attempt_stats(
        &self,
        site: SiteId,
        webhook: WebhookId,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<MinuteStats>> {
        log::attempt_stats(&self.reader, site, webhook, since).await
    }

    async fn failure_counts(&self, site: SiteId) -> StoreResult<Vec<(WebhookId, u32)>> {
        log::failure_counts(&self.reader, site).await
    }

    async fn redeliver(
        &self,
        site: SiteId,
        id: DeliveryId,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.writer
            .run(move |conn| Box::pin(log::redeliver(conn, site, id, now)))
            .await
    }

    async fn prune(&self, before: OffsetDateTime, limit: u32) -> StoreResult<PruneStats> {
        self.writer
            .run(move |conn| Box::pin(log::prune(conn, before, limit)))
            .await
    }

    async fn notices(&self, site: SiteId, webhook: Option<WebhookId>) -> StoreResult<Vec<Notice>> {
        notices::notices(&self.reader, site, webhook).await
    }

    async fn pending_notices(&self, limit: u32) -> StoreResult<Vec<Notice>> {
        notices::pending_notices(&self.reader, limit).await
    }

    async fn update_notice(&self, update: &NoticeUpdate) -> StoreResult<()> {
        let update = update.clone();
        self.writer
            .run(move |conn| Box::pin(notices::update_notice(conn, update)))
            .await
    }
}
