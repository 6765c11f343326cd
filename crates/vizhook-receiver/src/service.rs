//! Running `vizhook receive`: the HTTP(S) listener, the action engine (the delivery engine of
//! `vizhook serve`, with action tasks as its work), inbox retention, and TLS certificate
//! reloads on SIGHUP that keep open connections.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum_server::tls_rustls::RustlsConfig;
use time::OffsetDateTime;
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use vizhook_store::Store;

use super::{
    actions::Runtime,
    config::Loaded,
    http::{Shared, refusal_pages, router},
    ingest::Ingest,
    tasks::ActionTasks,
};
use vizhook_listener as listener;
use vizhook_runtime::{
    ErrorChain,
    engine::{Engine, HandOff, Progress},
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot load the TLS certificate and key")]
    Tls(#[source] std::io::Error),
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
}

/// Serves until `shutdown` is cancelled, then lets requests and actions in flight finish.
pub async fn run(
    loaded: Loaded,
    store: Arc<dyn Store>,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let Loaded {
        config,
        base,
        sources,
        tree,
        actions,
        enricher,
        outbound,
        mailer,
        ..
    } = loaded;
    let actions = Arc::new(actions);
    let wake = Arc::new(Notify::new());
    // Tasks queued by other replicas on a shared database wake this one's workers too.
    let remote = wake.clone();
    store.on_remote_tasks(Arc::new(move || remote.notify_one()));
    let hand_off = HandOff::new();
    let delivery = &config.delivery;
    let engine = Engine {
        work: Arc::new(ActionTasks {
            store: store.clone(),
            actions: actions.clone(),
            runtime: Runtime::new(outbound, mailer),
            schedule: delivery.schedule(),
            rate_limit: delivery.rate_limit(),
            attempt_timeout: delivery.attempt_timeout,
        }),
        limits: delivery.limits(),
        wake: wake.clone(),
        hand_off: hand_off.clone(),
        progress: Progress::new(delivery.poll_interval),
    };
    let shared = Arc::new(Shared {
        ingest: Ingest {
            store: store.clone(),
            tree,
            actions,
            enricher,
            dedup_window: config.dedup.window,
            wake,
            hand_off,
            lease: delivery.lease,
            tasks: TaskTracker::new(),
        },
        sources,
        trusted_proxies: config.server.trusted_proxies.clone(),
        metrics: config
            .server
            .metrics
            .then(vizhook_runtime::metrics::prometheus)
            .flatten(),
        progress: engine.progress.clone(),
    });
    let mut workers = JoinSet::new();
    workers.spawn(engine.run(shutdown.clone()));
    workers.spawn(retention(
        store,
        shared.clone(),
        config.storage.retention,
        shutdown.clone(),
    ));

    let handle = listener::stopped_by(&shutdown, &mut workers);
    let tasks = shared.ingest.tasks.clone();
    let read_timeout = config.server.read_timeout;
    let pages = refusal_pages(config.server.limits());
    let app = router(shared)
        .layer(listener::body_timeout(read_timeout))
        .layer(listener::HeadLimitLayer::new(pages.clone()))
        .into_make_service_with_connect_info::<SocketAddr>();
    let served = match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => {
            let (cert, key) = (base.join(cert), base.join(key));
            let tls = RustlsConfig::from_config(
                listener::tls_config(&cert, &key).map_err(ServeError::Tls)?,
            );
            workers.spawn(reload_on_hangup(
                Some((tls.clone(), cert, key)),
                shutdown.clone(),
            ));
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(ServeError::Serve)?
                .handle(handle)
                .map(|acceptor| acceptor.handshake_timeout(read_timeout));
            let server = listener::with_read_timeout(server, read_timeout);
            listener::with_error_bodies(server, &pages).serve(app).await
        }
        _ => {
            workers.spawn(reload_on_hangup(None, shutdown.clone()));
            let server = axum_server::from_tcp(listener)
                .map_err(ServeError::Serve)?
                .handle(handle);
            let server = listener::with_read_timeout(server, read_timeout);
            listener::with_error_bodies(server, &pages).serve(app).await
        }
    };
    shutdown.cancel();
    listener::drain(&tasks, "event writes and Tableau lookups").await;
    while workers.join_next().await.is_some() {}
    served.map_err(ServeError::Serve)
}

/// Reloads the certificate and key on SIGHUP; new connections use them, open ones keep theirs.
/// Without TLS a SIGHUP is only logged (rather than ending the process, its default).
async fn reload_on_hangup(
    tls: Option<(RustlsConfig, std::path::PathBuf, std::path::PathBuf)>,
    shutdown: CancellationToken,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGHUP; certificates will not be reloaded");
                return;
            }
        };
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = hangups.recv() => match &tls {
                    None => tracing::info!("SIGHUP received; there is no TLS certificate to reload"),
                    Some((tls, cert, key)) => match vizhook_listener::tls_config(cert, key) {
                        Ok(config) => {
                            tls.reload_from_config(config);
                            tracing::info!(cert = %cert.display(), "reloaded the TLS certificate");
                        }
                        Err(err) => tracing::error!(
                            error = %err, "could not reload the TLS certificate; keeping the current one"
                        ),
                    },
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tls;
        shutdown.cancelled().await;
    }
}

/// Rows a retention step deletes at most in each table (see `vizhook-delivery`'s retention,
/// which measured it): each step is a short transaction, and the intake's writes go between.
const PRUNE_STEP: u32 = 200;

/// Hourly: deletes handled events older than the retention, expired de-duplication keys, and
/// idle clients of the rate limiters, in steps with pauses between them.
async fn retention(
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    keep: Duration,
    shutdown: CancellationToken,
) {
    let stop = shutdown.clone();
    vizhook_runtime::retention::every(Duration::from_secs(3600), shutdown, || async {
        for source in &shared.sources {
            source.forget_idle_clients();
        }
        let before = OffsetDateTime::now_utc() - keep;
        let store = &*store;
        let (swept, error) = vizhook_runtime::retention::in_steps(&stop, || async move {
            let step = store.prune_inbox(before, PRUNE_STEP).await?;
            Ok::<_, vizhook_store::StoreError>((step, step.reached(PRUNE_STEP)))
        })
        .await;
        if let Some(err) = error {
            tracing::error!(error = %ErrorChain(&err), "could not prune the inbox");
        }
        let total = swept.total;
        if total.events > 0 || total.keys > 0 {
            tracing::info!(
                events = total.events,
                keys = total.keys,
                steps = swept.steps,
                elapsed_ms = u64::try_from(swept.elapsed.as_millis()).unwrap_or(u64::MAX),
                "pruned handled events past their retention"
            );
        }
    })
    .await;
}
