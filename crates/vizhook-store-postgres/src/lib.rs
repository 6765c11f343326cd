//! The PostgreSQL backend of the vizhook store, for several `serve` or `receive` nodes sharing
//! one database. Every write is one transaction on a pooled connection; delivery and task
//! claims lease rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers on any node never
//! hold the same row, and a lease that ends makes the row due again for every node. Writes that
//! make work due `NOTIFY` a channel that every node `LISTEN`s on (`wakes.rs`); the workers'
//! poll stays the backstop. Migrations are embedded and run at open under sqlx's advisory lock,
//! so nodes starting together do not race.
//!
//! This file holds `PgStore` and opening it; each aggregate's trait is implemented in the
//! module of its name (`identity/`, `sites/`, `webhooks.rs`, `content/`, `outbox/`, `inbox/`).

#![forbid(unsafe_code)]

mod content;
mod convert;
mod error;
mod identity;
mod inbox;
mod members;
mod outbox;
mod rekey;
mod sites;
pub mod testing;
mod wakes;
mod webhooks;

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use vizhook_store::{StoreResult, cipher::AtRest};

pub use crate::error::OpenError;
use crate::{convert::db_error, wakes::Wakes};

/// How to open a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Encryption at rest of the secret columns; plain by default.
    pub at_rest: AtRest,
    /// Connections in the pool at most.
    pub pool_size: u32,
    /// How long one statement may run before the server cancels it; `None` for no limit.
    pub statement_timeout: Option<Duration>,
    /// How long a caller waits for a pooled connection (and a new connection for its
    /// handshake) before the store answers `Unavailable`.
    pub acquire_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            at_rest: AtRest::default(),
            pool_size: 16,
            statement_timeout: Some(Duration::from_secs(30)),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL store. Cloning it is cheap: clones share the pool and the listener.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    /// Seals the secret columns on write and unseals them on read.
    pub(crate) at_rest: AtRest,
    /// The channels this database's writes notify, and who to wake when they do.
    pub(crate) wakes: Arc<Wakes>,
}

impl PgStore {
    /// Opens the database at `url` (`postgres://user@host:port/database`), applies pending
    /// migrations and reviews the secret columns, with the default options.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, Options::default()).await
    }

    /// Opens the database at `url` with `settings`.
    pub async fn open_with(url: &str, settings: Options) -> Result<Self, OpenError> {
        let Options {
            at_rest,
            pool_size,
            statement_timeout,
            acquire_timeout,
        } = settings;
        let mut options =
            PgConnectOptions::from_str(url).map_err(|source| OpenError::InvalidUrl { source })?;
        // The server's NOTICEs (`relation … already exists, skipping` at every migration run)
        // are not worth a log line; warnings still are. JIT compilation is off: the batched
        // statements over `UNNEST` arrays are estimated expensive enough to be compiled on
        // every call (PostgreSQL's default `jit_above_cost`), which costs more than running them.
        options = options
            .application_name("vizhook")
            .options([("client_min_messages", "warning"), ("jit", "off")]);
        if let Some(timeout) = statement_timeout {
            let ms = timeout.as_millis().to_string();
            options = options.options([("statement_timeout", ms.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(2))
            .min_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(|source| classify(source, &options))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|err| match err {
                sqlx::migrate::MigrateError::VersionMissing(version) => {
                    OpenError::SchemaNewer { version }
                }
                other => OpenError::Migrate(other),
            })?;
        let mut conn = pool.acquire().await.map_err(OpenError::Connect)?;
        let rewritten = rekey::review(&mut conn, &at_rest).await?;
        if let Some(ring) = at_rest.key_ring()
            && rewritten > 0
        {
            tracing::info!(
                secrets = rewritten,
                key = ring.primary_id(),
                "encrypted the database's secrets with the primary key"
            );
        }
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&mut *conn)
            .await
            .map_err(OpenError::Connect)?;
        drop(conn);
        let wakes = Wakes::start(&pool, &schema);
        Ok(Self {
            pool,
            at_rest,
            wakes,
        })
    }

    /// Closes the pool and stops listening.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Turns a failed first connection into the sentence an operator needs.
fn classify(source: sqlx::Error, options: &PgConnectOptions) -> OpenError {
    let code = match &source {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    };
    match (&source, code.as_deref()) {
        (sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut, _) => OpenError::Unreachable {
            at: format!("{}:{}", options.get_host(), options.get_port()),
            source,
        },
        (_, Some("28P01" | "28000")) => OpenError::Credentials {
            user: options.get_username().to_owned(),
            source,
        },
        (_, Some("3D000")) => OpenError::NoDatabase {
            database: options.get_database().unwrap_or("").to_owned(),
            source,
        },
        _ => OpenError::Connect(source),
    }
}

/// Checks that the database answers a cheap query; used at start-up and for readiness.
pub async fn ping(store: &PgStore) -> StoreResult<()> {
    sqlx::query("SELECT 1")
        .execute(&store.pool)
        .await
        .map_err(db_error)?;
    Ok(())
}
