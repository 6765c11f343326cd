//! Checkpoints off the writer's path: a background connection copies the write-ahead log into
//! the database file soon after commits, so that the writer's own automatic checkpoint, which
//! runs inside a commit when the log passes its limit and holds up every write behind it, finds
//! nearly everything copied already. That checkpoint is still what lets the log start again
//! from its beginning: a background checkpoint cannot, while the writer keeps appending.
//!
//! SQLite syncs the database file after a checkpoint only when the checkpoint reached the end
//! of the log, which under a steady stream of commits it almost never does. The pages it copied
//! then sit in the kernel's cache until something flushes them, and on ext4 that something is
//! often the writer's next log fsync: its journal commit must first write the database file's
//! newly allocated blocks, which stalled single commits for 80 ms and more. So the checkpointer
//! syncs the database file itself after each checkpoint that copied pages, while there are few
//! of them, on tokio's blocking pool.

use std::{fs::File, path::Path, sync::Arc, time::Duration};

use sqlx::SqliteConnection;
use tokio::sync::mpsc;

/// Checkpoints at most this often.
const PAUSE: Duration = Duration::from_millis(100);

/// Tells the checkpointer that something was committed. The checkpointer stops when this
/// handle is dropped.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    wake: mpsc::Sender<()>,
}

impl Checkpoints {
    /// Starts the checkpointer on `conn`, a connection of its own, for the database in `file`
    /// (`None` for an in-memory database).
    pub(crate) fn spawn(mut conn: SqliteConnection, file: Option<&Path>) -> Self {
        let database = file.and_then(|path| match File::open(path) {
            Ok(file) => Some(Arc::new(file)),
            Err(error) => {
                tracing::warn!(error = %error, "the checkpointer cannot open the database file to sync it");
                None
            }
        });
        let (wake, mut committed) = mpsc::channel(1);
        tokio::spawn(async move {
            let mut backfilled = 0;
            while committed.recv().await.is_some() {
                match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&mut conn)
                    .await
                {
                    // (busy, frames in the log, frames copied into the database so far). Busy:
                    // the writer's own checkpoint held the lock, and nothing was copied.
                    Ok((busy, _, copied)) if busy != 0 || copied < 0 => {}
                    // SQLite synced the file only if no commit came while it copied, which it
                    // does not tell us; a second sync of a clean file costs next to nothing.
                    Ok((_, _, copied)) => {
                        if copied != backfilled
                            && let Some(database) = &database
                        {
                            sync(database.clone()).await;
                        }
                        backfilled = copied;
                    }
                    Err(error) => tracing::warn!(error = %error, "background checkpoint failed"),
                }
                tokio::time::sleep(PAUSE).await;
            }
        });
        Self { wake }
    }

    pub(crate) fn committed(&self) {
        // Full means a checkpoint is due already.
        let _ = self.wake.try_send(());
    }
}

/// Flushes the database file's copied pages to disk. A failure only means they are flushed
/// later, by the writer's own checkpoint, as SQLite would have done.
async fn sync(database: Arc<File>) {
    match tokio::task::spawn_blocking(move || database.sync_data()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "could not sync the database file after a checkpoint")
        }
        Err(error) => tracing::warn!(error = %error, "the database file's sync did not finish"),
    }
}
