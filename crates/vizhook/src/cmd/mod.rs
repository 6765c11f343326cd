//! One module per command (the client commands together in `client`), and what the server
//! commands share: opening the store and stopping on a signal.

mod client;
mod inbox_lock;
mod receive;
mod serve;

use std::{sync::Arc, time::Duration};

use anyhow::{Context, anyhow, bail};
use tokio_util::sync::CancellationToken;
use vizhook_server::config::redact_url;
use vizhook_store::{
    Store,
    cipher::{AtRest, CipherError, Key},
};
use vizhook_store_postgres::PgStore;
use vizhook_store_sqlite::{OpenError, Options, SqliteStore};

use crate::cli::Command;

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Receive(args) => receive::run(args).await,
        Command::Webhooks(args) => client::run_webhooks(args).await,
        Command::Events(args) => client::run_events(args).await,
        Command::Deliveries(args) => client::run_deliveries(args).await,
        Command::DefaultConfig => {
            #[allow(
                clippy::print_stdout,
                reason = "printing the configuration is the command's output"
            )]
            {
                print!("{}", vizhook_server::config::DEFAULT_CONFIG);
            }
            Ok(())
        }
        Command::Completions { shell } => {
            let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "vizhook", &mut std::io::stdout());
            Ok(())
        }
        Command::GenerateKey => {
            let key = Key::generate().context("could not generate a key")?;
            #[allow(
                clippy::print_stdout,
                reason = "the key is the command's output, never logged"
            )]
            {
                println!("{key}");
            }
            Ok(())
        }
    }
}

/// How a PostgreSQL store's pool is sized and bounded (ignored for SQLite).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    pub(crate) size: u32,
    pub(crate) statement_timeout: Duration,
}

/// Picks the backend from the URL scheme; `at_rest` encrypts the secrets it stores.
pub(crate) async fn open_store(
    url: &str,
    at_rest: AtRest,
    pool: PoolSettings,
) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open_with(url, Options { at_rest })
            .await
            .map_err(|err| {
                let hint = match &err {
                    OpenError::Secrets(err) => key_hint(err),
                    _ => "",
                };
                let err = anyhow::Error::new(err);
                anyhow!(
                    "could not open the database {}: {err:#}{hint}",
                    redact_url(url)
                )
            })?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = vizhook_store_postgres::Options {
            at_rest,
            pool_size: pool.size,
            statement_timeout: (!pool.statement_timeout.is_zero())
                .then_some(pool.statement_timeout),
            ..vizhook_store_postgres::Options::default()
        };
        let store = PgStore::open_with(url, options).await.map_err(|err| {
            let hint = match &err {
                vizhook_store_postgres::OpenError::Secrets(err) => key_hint(err),
                _ => "",
            };
            // The sentence first; sqlx's own wording after it.
            let err = anyhow::Error::new(err);
            anyhow!(
                "could not open the database {}: {err:#}{hint}",
                redact_url(url)
            )
        })?;
        return Ok(Arc::new(store));
    }
    bail!(
        "unsupported database url '{}': use sqlite://PATH or postgres://USER@HOST/DATABASE",
        redact_url(url)
    )
}

/// What to change in `[encryption]` when the database's secrets do not open with its keys.
fn key_hint(err: &CipherError) -> &'static str {
    match err {
        CipherError::UnknownKey { .. } => {
            "; set [encryption] previous_keys to the old key to rotate"
        }
        CipherError::NoKey { .. } => "; set [encryption] key to that key",
        _ => "",
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM. The handlers are installed before this
/// returns, so a signal that comes as soon as the caller says it is listening stops it
/// gracefully, not by the signal's default action (which ends the process at once).
pub(crate) fn stop_on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("could not listen for SIGINT")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("could not listen for SIGTERM")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
                _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
            }
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received, shutting down");
            shutdown.cancel();
        }
    });
    Ok(())
}
