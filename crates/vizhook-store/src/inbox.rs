//! The `Inbox` aggregate of the receiver (`vizhook receive`): events accepted from a source,
//! their de-duplication keys, the alert groups of the routing tree, and the action tasks that
//! run afterwards through the shared delivery engine, with the trait a backend implements for
//! them.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::notify::{Intent, Notice};

use crate::{error::StoreResult, outbox::AttemptNext, retention::InboxPruned};

/// Storing received events once with their action tasks, leasing and recording the tasks.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Stores an accepted event once, in one transaction: when `dedup_key` or one of
    /// `extra_dedup_keys` is held by an event whose `dedup_until` is still after `received_at`,
    /// returns `Duplicate` (naming the first such holder) and writes nothing. Otherwise writes
    /// the event, takes over all its keys (until `dedup_until`), and for
    /// each planned notification applies [`vizhook_core::notify::decide`] to its group's
    /// stored state at `received_at`, saving the new state and queueing a pending task, due
    /// at once, for each notice.
    async fn receive(&self, inbound: &Inbound) -> StoreResult<Received>;
    /// Receives like [`receive`](Inbox::receive) and, in the same transaction, leases up to
    /// `lease.limit` of the event's new pending tasks (none of `lease.exclude`) to
    /// the caller, who runs them without claiming them: they are written with their lease and
    /// one attempt counted, as a claim would leave them, and returned ready to run, in plan
    /// order. A duplicate leases nothing.
    async fn receive_leasing(
        &self,
        inbound: &Inbound,
        lease: &TaskClaimRequest,
    ) -> StoreResult<(Received, Vec<ClaimedTask>)>;
    /// Records finished task attempts and then, if asked, leases due tasks, in one
    /// transaction (the engine's one round trip per cycle). Leased tasks are pending ones due
    /// at `now` of receivers not excluded, oldest first; a task whose lease ran out is due
    /// again. Each lease counts one attempt.
    async fn exchange_tasks(
        &self,
        records: &[TaskRecord],
        claim: Option<&TaskClaimRequest>,
    ) -> StoreResult<Vec<ClaimedTask>>;
    /// When the next pending task falls due (its lease end while leased), if any.
    async fn next_task_due(&self) -> StoreResult<Option<OffsetDateTime>>;
    /// The newest stored inbound events, newest first, each with its tasks.
    async fn inbox(&self, limit: u32) -> StoreResult<Vec<InboxEntry>>;
    /// One step of the inbox's retention, in one short transaction: deletes at most `limit`
    /// inbound events received before `before` whose tasks are all finished, with their
    /// tasks, at most `limit` de-duplication keys that expired before `before`, and, in a step
    /// that found fewer than `limit` events (a sweep's last), the alert groups that decide as
    /// if never seen. Pruning everything is calling it again while [`InboxPruned::reached`]
    /// the limit.
    async fn prune_inbox(&self, before: OffsetDateTime, limit: u32) -> StoreResult<InboxPruned>;

    /// Calls `wake` whenever another process sharing this database may have queued tasks, as
    /// [`Outbox::on_remote_deliveries`](crate::outbox::Outbox::on_remote_deliveries) does for
    /// deliveries. A backend that one process holds alone (SQLite) never calls it.
    fn on_remote_tasks(&self, _wake: crate::wake::Wake) {}
}

/// An accepted event to store once, with the notifications routing planned for it.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The inbox id, chosen by the caller (a UUID v7 string).
    pub id: String,
    /// The source (by name) it came through.
    pub source: String,
    /// A repeat of this key before `dedup_until` is a duplicate.
    pub dedup_key: String,
    /// More keys that make a repeat a duplicate in the same way (a payload's hash beside its
    /// sender's message id).
    pub extra_dedup_keys: Vec<String>,
    pub dedup_until: OffsetDateTime,
    pub body: Vec<u8>,
    pub received_at: OffsetDateTime,
    pub notifications: Vec<PlannedNotification>,
}

/// One receiver a routed event may notify; whether it does is decided in the storing
/// transaction by [`vizhook_core::notify::decide`] against the group's stored state.
#[derive(Debug, Clone)]
pub struct PlannedNotification {
    pub receiver: String,
    /// The alert group (per receiver) whose repeat interval and recovery state apply. Empty:
    /// not grouped, so a `Fire` always notifies, a `Resolve` never does, and no state is kept
    /// (for routes with neither a repeat interval nor recovery messages).
    pub group_key: String,
    pub intent: Intent,
    pub repeat_interval: Duration,
    /// Opaque to the store: what the action needs to run, handed back when claimed.
    pub spec: String,
}

/// What storing an inbound event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored, with the tasks that were queued (receiver and notice), in plan order.
    Stored { tasks: Vec<(String, Notice)> },
    /// A duplicate of the stored event with this inbox id: nothing was written.
    Duplicate { original: String },
}

/// A request to lease due action tasks; receivers are the keys it excludes.
pub type TaskClaimRequest = crate::outbox::ClaimRequest<String>;

/// A task leased for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTask {
    pub id: i64,
    pub inbox_id: String,
    pub receiver: String,
    pub notice: Notice,
    pub spec: String,
    /// This attempt's number (1-based).
    pub attempt: u32,
}

/// Where a task goes after an attempt: the outbox's [`AttemptNext`], whose `Delivered` is a
/// task whose action ran.
pub type TaskNext = AttemptNext;

/// One finished attempt of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub id: i64,
    pub receiver: String,
    pub finished_at: OffsetDateTime,
    /// Why the attempt failed; `None` for a success.
    pub error: Option<String>,
    pub next: TaskNext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Done,
    Failed,
    /// A firing notice not yet sent when its group recovered: the recovery replaces it, so a
    /// "failed" message never arrives after the "recovered" one.
    Superseded,
}

impl TaskState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Done, Self::Failed, Self::Superseded]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A task as stored, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: i64,
    pub receiver: String,
    pub notice: Notice,
    pub state: TaskState,
    pub attempts: u32,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// A stored inbound event with its tasks, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub id: String,
    pub source: String,
    pub dedup_key: String,
    pub received_at: OffsetDateTime,
    pub body: Vec<u8>,
    pub tasks: Vec<TaskRow>,
}
