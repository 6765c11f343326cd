//! `Inbox` on PostgreSQL, the receiver's inbox shared by every `receive` replica: storing
//! accepted events once, one transaction per event, with the database's unique key on the
//! de-duplication keys as the truth between replicas (`receive.rs`), alert group decisions
//! taken under the groups' row locks (`groups.rs`) with the tasks they queue (`queue.rs`);
//! the action tasks leased with `SKIP LOCKED`, retried and finished by every replica's workers
//! (`tasks.rs`); and inspection and retention (`entries.rs`). Within one process, receives
//! sharing a key or a group are decided in their arrival order (`gate.rs`).

mod columns;
mod entries;
mod gate;
mod groups;
mod queue;
mod receive;
#[cfg(test)]
mod replicas;
mod tasks;

use std::{future::Future, sync::Arc};

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_store::{
    ClaimedTask, Inbound, Inbox, InboxEntry, InboxPruned, Received, StoreResult, TaskClaimRequest,
    TaskRecord, Wake,
};

use self::columns::{RETRIES, is_transient};
use crate::PgStore;

#[async_trait]
impl Inbox for PgStore {
    async fn receive(&self, inbound: &Inbound) -> StoreResult<Received> {
        let (received, _) = self.receive_with(inbound, None).await?;
        Ok(received)
    }

    async fn receive_leasing(
        &self,
        inbound: &Inbound,
        lease: &TaskClaimRequest,
    ) -> StoreResult<(Received, Vec<ClaimedTask>)> {
        self.receive_with(inbound, Some(lease)).await
    }

    async fn exchange_tasks(
        &self,
        records: &[TaskRecord],
        claim: Option<&TaskClaimRequest>,
    ) -> StoreResult<Vec<ClaimedTask>> {
        retrying(|| tasks::exchange(&self.pool, records, claim)).await
    }

    async fn next_task_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        tasks::next_due(&self.pool).await
    }

    async fn inbox(&self, limit: u32) -> StoreResult<Vec<InboxEntry>> {
        entries::entries(&self.pool, limit).await
    }

    async fn prune_inbox(&self, before: OffsetDateTime, limit: u32) -> StoreResult<InboxPruned> {
        retrying(|| entries::prune(&self.pool, before, limit)).await
    }

    fn on_remote_tasks(&self, wake: Wake) {
        self.wakes.on_inbox(wake);
    }
}

impl PgStore {
    /// Receives `inbound` once this process's earlier receives of its keys and groups are
    /// done, leasing some of its tasks to the caller if `lease` asks.
    async fn receive_with(
        &self,
        inbound: &Inbound,
        lease: Option<&TaskClaimRequest>,
    ) -> StoreResult<queue::Outcome> {
        // This store's identity for the gate: its clones share it, another opened store not.
        let store = Arc::as_ptr(&self.wakes) as usize;
        let _pass = gate::enter(store, inbound).await;
        retrying(|| receive::receive(&self.pool, &self.wakes, inbound, lease)).await
    }
}

/// Runs a transaction again, a few times, when PostgreSQL gave up on it transiently.
async fn retrying<T, F, Fut>(mut run: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut tries = 0;
    loop {
        match run().await {
            Err(error) if tries < RETRIES && is_transient(&error) => {
                tries += 1;
                tracing::debug!(%error, tries, "an inbox transaction is run again");
            }
            outcome => return outcome,
        }
    }
}
