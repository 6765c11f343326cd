//! The single writer: every write runs on one connection, and writes that arrive together share
//! one transaction and one fsync (group commit). Each write runs inside its own savepoint, so a
//! failing write is rolled back alone while its neighbours commit.
//!
//! A write's result is handed back only once its transaction is durable: a caller never sees
//! success for data that is not. With a database file, commits do not wait for the disk
//! (`synchronous=NORMAL`); a syncer task fsyncs the write-ahead log after them and only then
//! hands their results back ([`WalSync`]), so the next batch commits while the last one's
//! fsync runs, and one fsync covers every commit made before it started.

use std::sync::Arc;

use futures_util::{FutureExt, future::BoxFuture};
use sqlx::{Acquire, Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use vizhook_store::{StoreError, StoreResult};

use crate::checkpoint::Checkpoints;

/// Writes taken into one transaction at most. Large enough to amortise the fsync, small enough
/// to keep the write lock short for readers' checkpoints.
const MAX_BATCH: usize = 256;

/// Called with the commit's outcome; delivers the write's own result to its caller.
type Completion = Box<dyn FnOnce(Option<StoreError>) + Send>;
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Completion)> + Send>;

/// Makes everything committed so far durable: an fsync of the write-ahead log.
pub(crate) type WalSync = Arc<dyn Fn() -> std::io::Result<()> + Send + Sync>;

/// A handle to the writer task. Cloning it is cheap.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `conn`. It stops when every handle is dropped. After each
    /// commit it wakes the checkpointer. With `wal_sync`, `conn` commits without syncing and
    /// results are handed back after `wal_sync` ran; without, each commit syncs itself.
    pub(crate) fn spawn(
        conn: SqliteConnection,
        checkpoints: Checkpoints,
        wal_sync: Option<WalSync>,
    ) -> Self {
        let (jobs, receiver) = mpsc::channel(4 * MAX_BATCH);
        let (committed, batches) = mpsc::unbounded_channel();
        match wal_sync {
            Some(wal_sync) => {
                tokio::spawn(sync_then_complete(batches, wal_sync));
            }
            None => {
                tokio::spawn(complete(batches));
            }
        }
        tokio::spawn(run(conn, receiver, checkpoints, committed));
        Self { jobs }
    }

    /// Runs `write` in the writer's current transaction and returns its result once committed.
    pub(crate) async fn run<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let outcome = write(conn).await;
                let ok = outcome.is_ok();
                let completion: Completion = Box::new(move |commit_error| {
                    let result = match commit_error {
                        Some(error) => Err(error),
                        None => outcome,
                    };
                    let _ = reply.send(result);
                });
                (ok, completion)
            })
        });
        self.jobs.send(job).await.map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::unavailable(std::io::Error::other("the SQLite writer has stopped"))
}

/// A committed (or failed) batch's completions, with the error each must report.
type Committed = Vec<(Completion, Option<StoreError>)>;

async fn run(
    mut conn: SqliteConnection,
    mut receiver: mpsc::Receiver<Job>,
    checkpoints: Checkpoints,
    committed: mpsc::UnboundedSender<Committed>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        let completions = match std::panic::AssertUnwindSafe(commit_batch(&mut conn, jobs))
            .catch_unwind()
            .await
        {
            Ok(completions) => completions,
            Err(_) => {
                tracing::error!("a write panicked; the SQLite writer stops");
                return;
            }
        };
        if committed.send(completions).is_err() {
            tracing::error!("the SQLite writer's syncer stopped; the writer stops");
            return;
        }
        checkpoints.committed();
    }
}

/// Hands back results as commits finish, when each commit synced itself.
async fn complete(mut batches: mpsc::UnboundedReceiver<Committed>) {
    while let Some(batch) = batches.recv().await {
        for (completion, error) in batch {
            completion(error);
        }
    }
}

/// Fsyncs the log once for every commit that finished since the last fsync began, then hands
/// their results back. A failed fsync fails them all (their data may or may not survive a
/// crash, so they must not be reported stored) and stops the syncer for good, and with it the
/// writer: Linux may drop the unwritten pages and clear the error, so a later fsync could
/// succeed over a log whose earlier frames are lost, and a crash would then take commits
/// already answered. Every write fails from then on, readiness turns false, and a restart
/// recovers the log.
async fn sync_then_complete(mut batches: mpsc::UnboundedReceiver<Committed>, wal_sync: WalSync) {
    let mut ready = Vec::new();
    while batches.recv_many(&mut ready, 1024).await > 0 {
        let sync = wal_sync.clone();
        let synced = match tokio::task::spawn_blocking(move || sync()).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join.to_string())),
        };
        if let Err(error) = synced {
            tracing::error!(error = %error, "could not sync the SQLite log: the writes it covers are reported failed, and the writer stops; restart vizhook");
            let failure = StoreError::unavailable(error);
            for (completion, _) in ready.drain(..).flatten() {
                completion(Some(failure.clone()));
            }
            return;
        }
        for (completion, error) in ready.drain(..).flatten() {
            completion(error);
        }
    }
}

/// Runs one batch in one transaction. Returns each job's completion with the error it must
/// report (its commit failed) or `None`.
async fn commit_batch(
    conn: &mut SqliteConnection,
    jobs: Vec<Job>,
) -> Vec<(Completion, Option<StoreError>)> {
    let mut completions = Vec::with_capacity(jobs.len());
    let mut pending = jobs.into_iter();
    let outcome: Result<(), sqlx::Error> = async {
        let mut tx = Connection::begin(&mut *conn).await?;
        for job in pending.by_ref() {
            let mut savepoint = tx.begin().await?;
            let (ok, completion) = job(&mut savepoint).await;
            completions.push(completion);
            if ok {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
        }
        tx.commit().await
    }
    .await;
    match outcome {
        Ok(()) => completions
            .into_iter()
            .map(|completion| (completion, None))
            .collect(),
        Err(error) => {
            tracing::error!(error = %error, "SQLite group commit failed; the batch is rolled back");
            let error = StoreError::unavailable(error);
            // Jobs that never ran are dropped here; dropping one drops its reply channel, so
            // its caller gets an error too.
            let skipped = pending.count();
            if skipped > 0 {
                tracing::error!(skipped, "writes not attempted because their batch failed");
            }
            completions
                .into_iter()
                .map(|completion| (completion, Some(error.clone())))
                .collect()
        }
    }
}
