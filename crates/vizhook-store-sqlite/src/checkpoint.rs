//! Checkpoints off the writer's path: a background connection copies the write-ahead log into
//! the database file soon after commits, so that the writer's own automatic checkpoint, which
//! runs inside a commit when the log passes its limit and holds up every write behind it, finds
//! nearly everything copied already. That checkpoint is still what lets the log start again
//! from its beginning: a background checkpoint cannot, while the writer keeps appending.

use std::time::Duration;

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
    /// Starts the checkpointer on `conn`, a connection of its own.
    pub(crate) fn spawn(mut conn: SqliteConnection) -> Self {
        let (wake, mut committed) = mpsc::channel(1);
        tokio::spawn(async move {
            while committed.recv().await.is_some() {
                if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %error, "background checkpoint failed");
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
