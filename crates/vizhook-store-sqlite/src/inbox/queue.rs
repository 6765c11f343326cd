//! The queue in front of the writer for inbound events: while one batch of events is being
//! committed, the next ones gather, and then go to the writer together as one job
//! (`receive_batch`). Under load a batch holds everything that arrived during the previous
//! commit; alone, an event goes at once. If a batch fails, its events are stored one by one so
//! that only the failing event fails.

use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};
use vizhook_store::{Inbound, Received, StoreError, StoreResult};

use super::receive_batch;
use crate::writer::Writer;

/// Events taken into one batch at most.
const MAX_BATCH: usize = 512;

type Pending = (Inbound, oneshot::Sender<StoreResult<Received>>);

#[derive(Debug, Clone)]
pub(crate) struct ReceiveQueue {
    pending: mpsc::Sender<Pending>,
}

#[derive(Debug, thiserror::Error)]
#[error("the inbox queue stopped")]
struct Stopped;

impl ReceiveQueue {
    /// Starts the queue's task; it stops when every handle is dropped.
    pub(crate) fn spawn(writer: Writer) -> Self {
        let (pending, incoming) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(writer, incoming));
        Self { pending }
    }

    pub(crate) async fn receive(&self, inbound: Inbound) -> StoreResult<Received> {
        let (reply, outcome) = oneshot::channel();
        self.pending
            .send((inbound, reply))
            .await
            .map_err(|_| StoreError::unavailable(Stopped))?;
        outcome
            .await
            .map_err(|_| StoreError::unavailable(Stopped))?
    }
}

async fn run(writer: Writer, mut incoming: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (inbounds, replies): (Vec<Inbound>, Vec<_>) = batch.drain(..).unzip();
        let inbounds = Arc::new(inbounds);
        let shared = inbounds.clone();
        let stored = writer
            .run(move |conn| Box::pin(async move { receive_batch(conn, &shared).await }))
            .await;
        match stored {
            Ok(outcomes) if outcomes.len() == replies.len() => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Ok(_) => {
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Corrupt(
                        "a batch gave a different number of outcomes".into(),
                    )));
                }
            }
            Err(err) if replies.len() == 1 => {
                for reply in replies {
                    let _ = reply.send(Err(err.clone()));
                }
            }
            Err(_) => alone(&writer, &inbounds, replies).await,
        }
    }
}

/// Stores each event of a failed batch as its own job (the writer still group-commits them).
async fn alone(
    writer: &Writer,
    inbounds: &Arc<Vec<Inbound>>,
    replies: Vec<oneshot::Sender<StoreResult<Received>>>,
) {
    let jobs = replies.into_iter().enumerate().map(|(index, reply)| {
        let (writer, inbounds) = (writer.clone(), inbounds.clone());
        async move {
            let outcome = writer
                .run(move |conn| {
                    Box::pin(async move {
                        let mut outcomes =
                            receive_batch(conn, std::slice::from_ref(&inbounds[index])).await?;
                        outcomes.pop().ok_or_else(|| {
                            StoreError::Corrupt("a batch of one gave no outcome".into())
                        })
                    })
                })
                .await;
            let _ = reply.send(outcome);
        }
    });
    join_all(jobs).await;
}
