//! The queue in front of the writer for inbound events: while one batch of events is being
//! committed, the next ones gather, and then go to the writer together as one job
//! (`store_accepted`). Under load a batch holds everything that arrived during the previous
//! commit; alone, an event goes at once. The queue's task owns the de-duplication keys
//! (`keys.rs`): it settles repeats in memory, in arrival order, before the job, and records the
//! new keys once the job has committed. If a batch fails, its events are stored one by one so
//! that only the failing event fails.

use std::{collections::HashMap, ops::Range, sync::Arc};

use tokio::sync::{mpsc, oneshot};
use vizhook_store::{ClaimedTask, Inbound, Received, StoreError, StoreResult, TaskClaimRequest};

use super::{
    batch::{keys as keys_of, store_accepted},
    keys::Keys,
};
use crate::{convert::millis, writer::Writer};

/// Events taken into one batch at most.
const MAX_BATCH: usize = 512;

/// What storing an event did, and the tasks leased to its caller.
type Outcome = (Received, Vec<ClaimedTask>);
type Reply = oneshot::Sender<StoreResult<Outcome>>;
/// An event, the lease its caller asks for, and where its outcome goes.
type Pending = (Inbound, Option<TaskClaimRequest>, Reply);

#[derive(Debug, Clone)]
pub(crate) struct ReceiveQueue {
    pending: mpsc::Sender<Pending>,
}

#[derive(Debug, thiserror::Error)]
#[error("the inbox queue stopped")]
struct Stopped;

impl ReceiveQueue {
    /// Starts the queue's task with the stored `keys`; it stops when every handle is dropped.
    pub(crate) fn spawn(writer: Writer, keys: Keys) -> Self {
        let (pending, incoming) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, keys, incoming));
        Self { pending }
    }

    /// Stores `inbound`, leasing up to `lease.limit` of its new tasks to the caller if asked.
    pub(crate) async fn receive(
        &self,
        inbound: Inbound,
        lease: Option<TaskClaimRequest>,
    ) -> StoreResult<Outcome> {
        let (reply, outcome) = oneshot::channel();
        self.pending
            .send((inbound, lease, reply))
            .await
            .map_err(|_| StoreError::unavailable(Stopped))?;
        outcome
            .await
            .map_err(|_| StoreError::unavailable(Stopped))?
    }
}

async fn run(writer: Writer, mut keys: Keys, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut inbounds = Vec::with_capacity(batch.len());
        let mut leases = Vec::with_capacity(batch.len());
        let mut replies = Vec::with_capacity(batch.len());
        for (inbound, lease, reply) in batch.drain(..) {
            inbounds.push(inbound);
            leases.push(lease);
            replies.push(reply);
        }
        let batch_of = Batch {
            inbounds: Arc::new(inbounds),
            leases: Arc::new(leases),
        };
        match store(&writer, &mut keys, &batch_of, 0..replies.len()).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) if replies.len() == 1 => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
            Err(_) => {
                // Nothing of the batch was stored: each event again, alone, in order.
                for (index, reply) in replies.into_iter().enumerate() {
                    let outcome = store(&writer, &mut keys, &batch_of, index..index + 1)
                        .await
                        .and_then(|mut outcomes| {
                            outcomes.pop().ok_or_else(|| {
                                StoreError::Corrupt("a batch of one gave no outcome".into())
                            })
                        });
                    let _ = reply.send(outcome);
                }
            }
        }
    }
}

/// The events of one batch with the leases their callers asked for, shared with the writer's
/// job.
struct Batch {
    inbounds: Arc<Vec<Inbound>>,
    leases: Arc<Vec<Option<TaskClaimRequest>>>,
}

/// Stores `inbounds[range]` as if received one after another: an event whose key is held is a
/// repeat (of an earlier event in the range, too); the rest are stored in one writer job, and
/// their keys are recorded once it has committed. One outcome per event, in order.
async fn store(
    writer: &Writer,
    keys: &mut Keys,
    batch: &Batch,
    range: Range<usize>,
) -> StoreResult<Vec<Outcome>> {
    let inbounds = &batch.inbounds;
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(range.len());
    let mut accepted = Vec::with_capacity(range.len());
    {
        // Keys taken earlier in this range, before they are committed.
        let mut taken: HashMap<&str, (&str, i64)> = HashMap::new();
        for index in range {
            let inbound = &inbounds[index];
            let at = millis(inbound.received_at);
            let holder = keys_of(inbound).find_map(|key| match taken.get(key.as_str()) {
                Some((id, until)) => (*until > at).then(|| Arc::from(*id)),
                None => keys.holder(key, at),
            });
            if let Some(original) = holder {
                outcomes.push(Some((
                    Received::Duplicate {
                        original: original.to_string(),
                    },
                    Vec::new(),
                )));
                continue;
            }
            for key in keys_of(inbound) {
                taken.insert(key, (&inbound.id, millis(inbound.dedup_until)));
            }
            accepted.push(index);
            outcomes.push(None);
        }
    }
    if !accepted.is_empty() {
        let (shared, leases, chosen) = (inbounds.clone(), batch.leases.clone(), accepted.clone());
        let queued = writer
            .run(move |conn| {
                Box::pin(async move {
                    let accepted: Vec<(&Inbound, Option<&TaskClaimRequest>)> = chosen
                        .iter()
                        .map(|&i| (&shared[i], leases[i].as_ref()))
                        .collect();
                    store_accepted(conn, &accepted).await
                })
            })
            .await?;
        // Committed: the map learns the keys before anything else can fail.
        for &index in &accepted {
            let inbound = &inbounds[index];
            let id: Arc<str> = Arc::from(inbound.id.as_str());
            for key in keys_of(inbound) {
                keys.take(key, &id, millis(inbound.dedup_until));
            }
            keys.advance(millis(inbound.received_at));
        }
        if queued.len() != accepted.len() {
            return Err(StoreError::Corrupt(
                "a batch gave a different number of outcomes".into(),
            ));
        }
        let mut queued = queued.into_iter();
        for outcome in outcomes.iter_mut().filter(|outcome| outcome.is_none()) {
            let (tasks, leased) = queued.next().unwrap_or_default();
            *outcome = Some((Received::Stored { tasks }, leased));
        }
    }
    Ok(outcomes.into_iter().flatten().collect())
}
