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

pub(crate) async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
    shutdown.cancel();
}
