//! The queue in front of the writer for inbound events: events that arrive together go to the
//! writer as one job (`store_accepted`), and while one batch waits for its commit to become
//! durable, the next is already sent (at most [`IN_FLIGHT`] batches at once), so intake is
//! not one fsync per batch. The queue's task owns the de-duplication keys (`keys.rs`): it
//! settles repeats in memory, in arrival order, before a batch is sent. Keys of batches not yet
//! durable are held apart ([`Pending`]): a repeat of one of them waits for that batch, and is a
//! duplicate if its original was stored, or fails (so that its sender tries again) if not. No
//! event is answered stored, and no key is taken for good, before its batch is durable. If a
//! batch fails, its events are stored one by one so that only the failing event fails.

use std::{collections::HashMap, sync::Arc};

use futures_util::{StreamExt, future::BoxFuture, stream::FuturesOrdered};
use tokio::sync::{mpsc, oneshot};
use vizhook_store::{ClaimedTask, Inbound, Received, StoreError, StoreResult, TaskClaimRequest};

use super::{
    batch::{Queued, keys as keys_of, store_accepted},
    keys::Keys,
};
use crate::{convert::millis, writer::Writer};

/// Events taken into one batch at most.
const MAX_BATCH: usize = 512;
/// Batches sent to the writer and not yet durable, at most: one committing while the one
/// before waits for its fsync. (Batches of repeats alone, which write nothing, wait in order
/// beside them without counting.)
const IN_FLIGHT: usize = 2;

/// What storing an event did, and the tasks leased to its caller.
type Outcome = (Received, Vec<ClaimedTask>);
type Reply = oneshot::Sender<StoreResult<Outcome>>;
/// An event, the lease its caller asks for, and where its outcome goes.
type Request = (Inbound, Option<TaskClaimRequest>, Reply);

#[derive(Debug, Clone)]
pub(crate) struct ReceiveQueue {
    requests: mpsc::Sender<Request>,
}

#[derive(Debug, thiserror::Error)]
#[error("the inbox queue stopped")]
struct Stopped;

#[derive(Debug, thiserror::Error)]
#[error("the event this one repeats could not be stored; send it again")]
struct OriginalFailed;

impl ReceiveQueue {
    /// Starts the queue's task with the stored `keys`; it stops when every handle is dropped.
    pub(crate) fn spawn(writer: Writer, keys: Keys) -> Self {
        let (requests, incoming) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, keys, incoming));
        Self { requests }
    }

    /// Stores `inbound`, leasing up to `lease.limit` of its new tasks to the caller if asked.
    pub(crate) async fn receive(
        &self,
        inbound: Inbound,
        lease: Option<TaskClaimRequest>,
    ) -> StoreResult<Outcome> {
        let (reply, outcome) = oneshot::channel();
        self.requests
            .send((inbound, lease, reply))
            .await
            .map_err(|_| StoreError::unavailable(Stopped))?;
        outcome
            .await
            .map_err(|_| StoreError::unavailable(Stopped))?
    }
}

/// Keys of events sent to the writer but not yet durable: the event's id, the end of its
/// window, and the batch it went with.
#[derive(Default)]
struct Pending(HashMap<String, (Arc<str>, i64, u64)>);

/// One event of a sent batch, and how it will be answered.
enum Entry {
    /// Stored with the batch: its reply waits for the batch to be durable.
    Accepted { index: usize, reply: Reply },
    /// A repeat of an event not yet durable (of this batch or an earlier one), by `key`.
    Repeat {
        key: String,
        at: i64,
        original: Arc<str>,
        reply: Reply,
    },
}

/// A batch sent to the writer, with what its answer is waited for by.
struct Sent {
    seq: u64,
    inbounds: Arc<Vec<Inbound>>,
    leases: Arc<Vec<Option<TaskClaimRequest>>>,
    entries: Vec<Entry>,
}

type Committing = BoxFuture<'static, (Sent, StoreResult<Vec<Queued>>)>;

async fn run(writer: Writer, mut keys: Keys, mut incoming: mpsc::Receiver<Request>) {
    let mut pending = Pending::default();
    let mut in_flight: FuturesOrdered<Committing> = FuturesOrdered::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut seq = 0u64;
    let mut open = true;
    // Batches in `in_flight` that write something.
    let mut writing = 0usize;
    while open || !in_flight.is_empty() {
        tokio::select! {
            biased;
            Some((sent, result)) = in_flight.next(), if !in_flight.is_empty() => {
                if !sent.inbounds.is_empty() {
                    writing -= 1;
                }
                settle(&writer, &mut keys, &mut pending, sent, result).await;
            }
            count = incoming.recv_many(&mut batch, MAX_BATCH), if open && writing < IN_FLIGHT => {
                if count == 0 {
                    open = false;
                    continue;
                }
                seq += 1;
                if let Some(sent) = classify(&keys, &mut pending, seq, batch.drain(..)) {
                    if !sent.inbounds.is_empty() {
                        writing += 1;
                    }
                    in_flight.push_back(commit(writer.clone(), sent));
                }
            }
        }
    }
}

/// Answers what can be answered now (repeats of durable events) and returns the batch to send,
/// if any event in it is to be stored or waits for one that is.
fn classify(
    keys: &Keys,
    pending: &mut Pending,
    seq: u64,
    requests: impl Iterator<Item = Request>,
) -> Option<Sent> {
    let mut inbounds = Vec::new();
    let mut leases = Vec::new();
    let mut entries = Vec::new();
    for (inbound, lease, reply) in requests {
        let at = millis(inbound.received_at);
        let mut repeat = None;
        for key in keys_of(&inbound) {
            if let Some(original) = keys.holder(key, at) {
                repeat = Some(Err(original));
                break;
            }
            if let Some((original, until, _)) = pending.0.get(key.as_str())
                && *until > at
            {
                repeat = Some(Ok((key.clone(), original.clone())));
                break;
            }
        }
        match repeat {
            Some(Err(original)) => {
                let duplicate = Received::Duplicate {
                    original: original.to_string(),
                };
                let _ = reply.send(Ok((duplicate, Vec::new())));
            }
            Some(Ok((key, original))) => entries.push(Entry::Repeat {
                key,
                at,
                original,
                reply,
            }),
            None => {
                let id: Arc<str> = Arc::from(inbound.id.as_str());
                let until = millis(inbound.dedup_until);
                for key in keys_of(&inbound) {
                    pending.0.insert(key.clone(), (id.clone(), until, seq));
                }
                entries.push(Entry::Accepted {
                    index: inbounds.len(),
                    reply,
                });
                inbounds.push(inbound);
                leases.push(lease);
            }
        }
    }
    (!entries.is_empty()).then(|| Sent {
        seq,
        inbounds: Arc::new(inbounds),
        leases: Arc::new(leases),
        entries,
    })
}

/// Sends `indexes` of a batch to the writer as one job; resolves once durable.
async fn write(
    writer: &Writer,
    inbounds: Arc<Vec<Inbound>>,
    leases: Arc<Vec<Option<TaskClaimRequest>>>,
    indexes: Vec<usize>,
) -> StoreResult<Vec<Queued>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let count = indexes.len();
    let queued = writer
        .run(move |conn| {
            Box::pin(async move {
                let accepted: Vec<(&Inbound, Option<&TaskClaimRequest>)> = indexes
                    .iter()
                    .map(|&i| (&inbounds[i], leases[i].as_ref()))
                    .collect();
                store_accepted(conn, &accepted).await
            })
        })
        .await?;
    if queued.len() != count {
        return Err(StoreError::Corrupt(
            "a batch gave a different number of outcomes".into(),
        ));
    }
    Ok(queued)
}

fn commit(writer: Writer, sent: Sent) -> Committing {
    Box::pin(async move {
        let indexes = (0..sent.inbounds.len()).collect();
        let result = write(&writer, sent.inbounds.clone(), sent.leases.clone(), indexes).await;
        (sent, result)
    })
}

/// A batch's answer: the stored events' keys are taken for good, and every entry is answered.
/// A failed batch of several events is stored again one event at a time.
async fn settle(
    writer: &Writer,
    keys: &mut Keys,
    pending: &mut Pending,
    sent: Sent,
    result: StoreResult<Vec<Queued>>,
) {
    let count = sent.inbounds.len();
    let outcomes: Vec<StoreResult<Queued>> = match result {
        Ok(queued) => queued.into_iter().map(Ok).collect(),
        Err(error) if count <= 1 => vec![Err(error); count],
        Err(_) => {
            let mut each = Vec::with_capacity(count);
            for index in 0..count {
                let one = write(
                    writer,
                    sent.inbounds.clone(),
                    sent.leases.clone(),
                    vec![index],
                )
                .await
                .and_then(|mut queued| {
                    queued
                        .pop()
                        .ok_or_else(|| StoreError::Corrupt("a batch of one gave no outcome".into()))
                });
                each.push(one);
            }
            each
        }
    };
    // Durable (or failed): the keys leave `pending`, and the stored ones are taken.
    for (inbound, outcome) in sent.inbounds.iter().zip(&outcomes) {
        let id: Arc<str> = Arc::from(inbound.id.as_str());
        for key in keys_of(inbound) {
            if pending
                .0
                .get(key.as_str())
                .is_some_and(|(_, _, seq)| *seq == sent.seq)
            {
                pending.0.remove(key.as_str());
            }
            if outcome.is_ok() {
                keys.take(key, &id, millis(inbound.dedup_until));
            }
        }
        if outcome.is_ok() {
            keys.advance(millis(inbound.received_at));
        }
    }
    let mut outcomes: Vec<Option<StoreResult<Queued>>> = outcomes.into_iter().map(Some).collect();
    for entry in sent.entries {
        match entry {
            Entry::Accepted { index, reply } => {
                let outcome = outcomes
                    .get_mut(index)
                    .and_then(Option::take)
                    .unwrap_or_else(|| Err(StoreError::Corrupt("an event lost its outcome".into())))
                    .map(|(tasks, leased)| (Received::Stored { tasks }, leased));
                let _ = reply.send(outcome);
            }
            Entry::Repeat {
                key,
                at,
                original,
                reply,
            } => {
                // Its original's batch came before this one, or is this one: settled by now.
                let answer = match keys.holder(&key, at) {
                    Some(holder) if holder == original => Ok((
                        Received::Duplicate {
                            original: original.to_string(),
                        },
                        Vec::new(),
                    )),
                    _ => Err(StoreError::unavailable(OriginalFailed)),
                };
                let _ = reply.send(answer);
            }
        }
    }
}
