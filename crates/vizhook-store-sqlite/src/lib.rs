//! The embedded SQLite backend of the vizhook store: one file, WAL journal, a write acknowledged
//! only once the log is fsynced (`writer.rs`), migrations embedded in the binary. Reads use a pool of read-only
//! connections; all writes go through one writer task that group-commits them, and a
//! connection of its own checkpoints the log in the background. With a key ring
//! (`Options::at_rest`) the secret columns are encrypted on write, decrypted on read, and
//! reviewed at open (`rekey.rs`).
//!
//! This file holds `SqliteStore` and opening it; each aggregate's trait is implemented in the
//! module of its name (`identity/`, `sites/`, `webhooks.rs`, `content/`, `outbox/`, `inbox/`),
//! beside its SQL, and those modules import from here only `SqliteStore`.

#![forbid(unsafe_code)]

mod checkpoint;
mod content;
mod convert;
mod error;
mod identity;
mod inbox;
mod members;
mod outbox;
mod rekey;
mod rows;
mod sites;
mod webhooks;
mod writer;

use std::{path::PathBuf, str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions, Connection, SqliteConnection, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use vizhook_store::{StoreResult, cipher::AtRest};

pub use crate::error::OpenError;
use crate::{
    convert::db_error,
    inbox::{keys::Keys, queue::ReceiveQueue},
    writer::{WalSync, Writer},
};

/// How to open a store.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Encryption at rest of the secret columns (`webhooks.signing_secret`,
    /// `connections.password`); plain by default.
    pub at_rest: AtRest,
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: Writer,
    /// Inbound events, batched in front of the writer.
    receives: ReceiveQueue,
    /// Seals the secret columns on write and unseals them on read.
    at_rest: AtRest,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or `sqlite:path`)
    /// and applies pending migrations, without encryption at rest.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, Options::default()).await
    }

    /// Opens the database at `url` with `settings`: after the migrations, the secret columns
    /// are reviewed against the key ring in one transaction (`rekey.rs`), so a store that
    /// opens holds every secret under its primary key, or none encrypted if it has no key.
    pub async fn open_with(url: &str, settings: Options) -> Result<Self, OpenError> {
        Self::open_syncing(url, settings, None).await
    }

    /// [`open_with`](Self::open_with), with `sync` in place of the fsync of the log (tests
    /// delay it to see that nothing is acknowledged before it).
    async fn open_syncing(
        url: &str,
        settings: Options,
        settings_sync: Option<WalSync>,
    ) -> Result<Self, OpenError> {
        let Options { at_rest } = settings;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| OpenError::InvalidUrl {
                url: url.to_owned(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // The outbox's working set (recent events, pending deliveries and their indexes)
            // stays in memory: 8 MiB of page cache, and reads of checkpointed pages through
            // mmap. Not more: a commit after a page split walks the cache's whole hash table
            // (SQLite parks a page at the lock-byte page number while balancing, and the commit's
            // truncation then walks every bucket), which with 64 MiB was 13 % of the writer's
            // time.
            .pragma("cache_size", "-8192")
            .pragma("mmap_size", "268435456")
            .pragma("temp_store", "memory")
            // The writer checkpoints itself every 16 MiB of WAL, which lets the log start again
            // from its beginning; `checkpoint.rs` has copied most of it by then.
            .pragma("wal_autocheckpoint", "4096")
            // A claim returns hundreds of rows; with sqlx's default of 50 the connection's
            // thread stops every 50 rows until the task reading them catches up.
            .row_buffer_size(1024)
            // Multi-row statements have up to eight shapes each (`rows.rs`): room for all.
            .statement_cache_capacity(512)
            .log_statements(tracing::log::LevelFilter::Trace);

        let mut write_conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(OpenError::Connect)?;
        sqlx::migrate!("./migrations")
            .run(&mut write_conn)
            .await
            .map_err(OpenError::Migrate)?;
        let rewritten = rekey::review(&mut write_conn, &at_rest).await?;
        if let Some(ring) = at_rest.key_ring()
            && rewritten > 0
        {
            tracing::info!(
                secrets = rewritten,
                key = ring.primary_id(),
                "encrypted the database's secrets with the primary key"
            );
        }

        // Readers keep SQLite's default page cache: every commit by the writer invalidates a
        // reader's cache, and emptying a large one costs more than it saves.
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(
                options
                    .clone()
                    .read_only(true)
                    .pragma("cache_size", "-2000"),
            )
            .await
            .map_err(OpenError::Connect)?;
        let keys = Keys::load(&mut write_conn).await.map_err(OpenError::Keys)?;
        let checkpoints = checkpoint::Checkpoints::spawn(
            SqliteConnection::connect_with(&options.pragma("cache_size", "-2000"))
                .await
                .map_err(OpenError::Connect)?,
            database_file(url).as_deref(),
        );
        let wal_sync = wal_sync(&mut write_conn, url, settings_sync).await?;
        let writer = Writer::spawn(write_conn, checkpoints, wal_sync);
        Ok(Self {
            reader,
            receives: ReceiveQueue::spawn(writer.clone(), keys),
            writer,
            at_rest,
        })
    }

    /// Waits for pending writes to finish and closes the read pool.
    pub async fn close(&self) {
        self.reader.close().await;
    }
}

/// The file a `sqlite:` URL opens, read as [`SqliteStore::open`] reads it (percent-decoded,
/// without its `?options`); `None` for an in-memory database or a URL that does not parse.
pub fn database_file(url: &str) -> Option<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    let in_memory = file.to_string_lossy().starts_with("file:sqlx-in-memory-")
        || url
            .split_once('?')
            .is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=memory"));
    (!in_memory).then(|| file.to_path_buf())
}

/// How the writer makes commits durable: with a database file, commits stop syncing
/// (`synchronous=NORMAL`) and the writer's syncer fsyncs the log (`-wal`) after them (or calls
/// `custom`, in tests); an in-memory database keeps syncing in each commit.
async fn wal_sync(
    conn: &mut SqliteConnection,
    url: &str,
    custom: Option<WalSync>,
) -> Result<Option<WalSync>, OpenError> {
    let Some(file) = database_file(url) else {
        return Ok(None);
    };
    let mut wal_path = file.into_os_string();
    wal_path.push("-wal");
    let wal = match std::fs::OpenOptions::new().read(true).open(&wal_path) {
        Ok(wal) => std::sync::Arc::new(wal),
        Err(error) => {
            tracing::warn!(error = %error, "cannot open the SQLite log to sync it; each commit syncs itself");
            return Ok(None);
        }
    };
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await
        .map_err(OpenError::Connect)?;
    Ok(Some(custom.unwrap_or_else(|| {
        std::sync::Arc::new(move || wal.sync_data())
    })))
}

/// Checks that a database is reachable with a cheap query; used at start-up.
pub async fn ping(store: &SqliteStore) -> StoreResult<()> {
    let mut conn = store.reader.acquire().await.map_err(db_error)?;
    conn.ping().await.map_err(db_error)
}
