//! `Inbox` in SQLite, the receiver's inbox: storing accepted events once (the queue in front of
//! the writer, `queue.rs`, settles repeats against the de-duplication keys held in memory,
//! `keys.rs`, and hands the rest to the writer as one batch, `batch.rs`), alert group decisions
//! taken in the storing transaction, the action tasks leased, retried and finished by the
//! delivery engine (`tasks.rs`), and inspection and retention (`entries.rs`). As in the outbox,
//! batches of rows travel as multi-row statements (`rows.rs`).

mod batch;
mod columns;
mod entries;
pub(crate) mod keys;
#[cfg(test)]
mod pipeline_tests;
pub(crate) mod queue;
mod tasks;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_store::{
    ClaimedTask, Inbound, Inbox, InboxEntry, InboxPruned, Received, StoreResult, TaskClaimRequest,
    TaskRecord,
};

use crate::SqliteStore;

#[async_trait]
impl Inbox for SqliteStore {
    async fn receive(&self, inbound: &Inbound) -> StoreResult<Received> {
        let (received, _) = self.receives.receive(inbound.clone(), None).await?;
        Ok(received)
    }

    async fn receive_leasing(
        &self,
        inbound: &Inbound,
        lease: &TaskClaimRequest,
    ) -> StoreResult<(Received, Vec<ClaimedTask>)> {
        self.receives
            .receive(inbound.clone(), Some(lease.clone()))
            .await
    }

    async fn exchange_tasks(
        &self,
        records: &[TaskRecord],
        claim: Option<&TaskClaimRequest>,
    ) -> StoreResult<Vec<ClaimedTask>> {
        let (records, claim) = (records.to_vec(), claim.cloned());
        self.writer
            .run(move |conn| Box::pin(tasks::exchange(conn, records, claim)))
            .await
    }

    async fn next_task_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        tasks::next_due(&self.reader).await
    }

    async fn inbox(&self, limit: u32) -> StoreResult<Vec<InboxEntry>> {
        entries::entries(&self.reader, limit).await
    }

    async fn prune_inbox(&self, before: OffsetDateTime, limit: u32) -> StoreResult<InboxPruned> {
        self.writer
            .run(move |conn| Box::pin(entries::prune(conn, before, limit)))
            .await
    }
}
