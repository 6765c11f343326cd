//! The running vizhook service as a library, so that tests drive exactly what production runs:
//! the Tableau-compatible REST API (`api`), the web dashboard (`dashboard`), configuration and
//! first-run bootstrap. The `vizhook` binary parses arguments, opens a store and calls [`run`].

#![forbid(unsafe_code)]

pub mod api;
pub mod bootstrap;
pub mod config;
pub mod content;
mod dashboard;
pub mod secrets;
pub mod state;

use axum::{ServiceExt, extract::Request};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;
use vizhook_listener as listener;

pub use crate::{api::router, config::Config, state::AppState};

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not start the delivery workers")]
    Start(#[from] vizhook_delivery::StartError),
    #[error("the HTTP server failed")]
    Serve(#[from] std::io::Error),
}

/// Serves the API on `listener` and runs the delivery workers until `shutdown` is cancelled,
/// then finishes in-flight requests (for at most ten seconds) and attempts and returns.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    content::refresh::recover(&state).await;
    tokio::spawn(content::refresh::sweep(state.clone(), shutdown.clone()));
    let workers = vizhook_delivery::Workers {
        store: state.store.clone(),
        config: state.config.delivery.clone(),
        smtp: state.config.smtp.clone(),
        outbound: state.outbound.clone(),
        handle: state.delivery.clone(),
        server_name: format!("vizhook {}", state.config.server.listen),
    };
    let mut workers = vizhook_delivery::spawn_workers(workers, &shutdown)?;
    let tasks = state.tasks.clone();
    let read_timeout = state.config.server.read_timeout;
    let pages = api::error::refusal_pages(
        state.config.server.limits(),
        &state.config.tableau.rest_api_version,
    )?;
    // Trailing slashes are trimmed before routing: some clients POST to `.../webhooks/`. The
    // head limits measure the URI as it was sent, so they come first.
    let app = listener::HeadLimitLayer::new(pages.clone()).layer(
        NormalizePathLayer::trim_trailing_slash()
            .layer(router(state).layer(listener::body_timeout(read_timeout))),
    );
    let handle = listener::stopped_by(&shutdown, &mut workers);
    let server = axum_server::from_tcp(listener.into_std()?)?.handle(handle);
    let server = listener::with_read_timeout(server, read_timeout);
    let served = listener::with_error_bodies(server, &pages)
        .serve(ServiceExt::<Request>::into_make_service(app))
        .await;
    shutdown.cancel();
    listener::drain(&tasks, "extract refreshes").await;
    while workers.join_next().await.is_some() {}
    Ok(served?)
}
