//! `vizhook receive`: load and check the configuration, open the inbox, and serve until SIGINT
//! or SIGTERM; or, with `--check-config`, only report the configuration's problems.

use anyhow::Context;
use vizhook_receiver::{config, service};
use vizhook_store::cipher::AtRest;

use super::{inbox_lock, open_store, stop_on_signal};
use crate::cli::ReceiveArgs;

pub(super) async fn run(args: ReceiveArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.check_config {
        let loaded = config::load(path, args.dev)?;
        #[allow(clippy::print_stdout, reason = "the check's verdict is its output")]
        {
            println!(
                "{}: OK ({} source(s), {} receiver(s))",
                path.display(),
                loaded.sources.len(),
                loaded.config.receiver.len()
            );
        }
        return Ok(());
    }
    let path = args
        .config
        .as_deref()
        .context("--config FILE is required")?;
    let mut loaded = config::load(path, args.dev)?;
    if let Some(listen) = args.listen {
        loaded.config.server.listen = listen;
    }
    if args.dev {
        tracing::warn!("development mode: actions may reach loopback and private addresses");
    }
    // Held until the receiver stops.
    let _inbox = inbox_lock::lock(&loaded.database)?;
    let pool = super::PoolSettings {
        size: loaded.config.storage.pool_size,
        statement_timeout: loaded.config.storage.statement_timeout,
    };
    let store = open_store(&loaded.database, AtRest::plain(), pool).await?;
    let listen = loaded.config.server.listen;
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("could not listen on {listen}"))?;
    let address = listener
        .local_addr()
        .context("could not read the listening address")?;
    let scheme = if loaded.config.server.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    if scheme == "http" && !address.ip().is_loopback() {
        tracing::warn!(
            "serving plain HTTP on {address}: Tableau requires https:// destinations, so put a TLS proxy in front (server.trusted_proxies) or set server.tls_cert and tls_key"
        );
    }
    let shutdown = tokio_util::sync::CancellationToken::new();
    stop_on_signal(shutdown.clone())?;
    // SIGHUP reloads the certificate (see the service). Listening for it from here on means it
    // never ends the process, its default, even before the service takes it over.
    #[cfg(unix)]
    let _hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("could not listen for SIGHUP")?;
    for source in &loaded.sources {
        tracing::info!(source = %source.name, "events are received at {scheme}://{address}{}/<token>", source.path);
    }
    tracing::info!("listening on {scheme}://{address}");
    service::run(loaded, store, listener, shutdown)
        .await
        .context("the receiver stopped with an error")?;
    tracing::info!("stopped");
    Ok(())
}
