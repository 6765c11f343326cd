//! One module per command, and what commands share: opening the store and stopping on a
//! signal.

mod inbox_lock;
mod receive;
mod serve;

use std::sync::Arc;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use vizhook_server::config::redact_url;
use vizhook_store::Store;
use vizhook_store_sqlite::SqliteStore;

use crate::cli::Command;

pub(crate) async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Receive(args) => receive::run(args).await,
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
    }
}

/// Picks the backend from the URL scheme.
pub(crate) async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url)
            .await
            .with_context(|| format!("could not open the database {}", redact_url(url)))?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        bail!("PostgreSQL is not supported yet; use a sqlite:// database url");
    }
    bail!(
        "unsupported database url '{}': use sqlite://PATH",
        redact_url(url)
    )
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
