//! `Inbox` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::notify::{Intent, Notice};
use vizhook_store::*;

use crate::PgStore;

#[async_trait]
impl Inbox for PgStore {
    async fn receive(&self, _inbound: &Inbound) -> StoreResult<Received> {
        Err(crate::unimplemented("receive"))
    }

    async fn receive_leasing(
        &self,
        _inbound: &Inbound,
        _lease: &TaskClaimRequest,
    ) -> StoreResult<(Received, Vec<ClaimedTask>)> {
        Err(crate::unimplemented("receive_leasing"))
    }

    async fn exchange_tasks(
        &self,
        _records: &[TaskRecord],
        _claim: Option<&TaskClaimRequest>,
    ) -> StoreResult<Vec<ClaimedTask>> {
        Err(crate::unimplemented("exchange_tasks"))
    }

    async fn next_task_due(&self) -> StoreResult<Option<OffsetDateTime>> {
        Err(crate::unimplemented("next_task_due"))
    }

    async fn inbox(&self, _limit: u32) -> StoreResult<Vec<InboxEntry>> {
        Err(crate::unimplemented("inbox"))
    }

    async fn prune_inbox(&self, _before: OffsetDateTime) -> StoreResult<u64> {
        Err(crate::unimplemented("prune_inbox"))
    }

    fn on_remote_tasks(&self, wake: Wake) {
        self.wakes.on_inbox(wake);
    }
}
