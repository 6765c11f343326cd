//! Health for load balancers and supervisors, not part of the Tableau API:
//! `GET /vizhook/v1/health` (the store answers, as a document in the client's format),
//! `GET /healthz` (the process serves) and `GET /readyz` (the store answers and the delivery
//! workers are making progress), the last two as plain text, as `vizhook receive` answers them.

use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use vizhook_runtime::ErrorChain;

use super::{
    error::ApiResult,
    format::{Element, Reply},
};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/vizhook/v1/health", get(health))
}

/// `/healthz` and `/readyz`: plain text, outside the layers that render Tableau documents
/// (which would turn a `503` into an error document).
pub(super) fn probes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn health(State(state): State<AppState>) -> ApiResult<Reply> {
    state.store.sites().await?;
    Ok(Reply::ok(
        Element::new("health")
            .attr("status", "ok")
            .attr("version", env!("CARGO_PKG_VERSION")),
    ))
}

/// Ready when the store answers a read and the dispatcher finished a cycle with its store
/// lately: a store that refuses writes (a full disk, a locked SQLite file, a read-only
/// PostgreSQL replica) or a round trip that hangs stalls the dispatcher, and makes the node
/// unready although it still answers reads.
async fn ready(State(state): State<AppState>) -> Response {
    if let Err(err) = state.store.sites().await {
        tracing::warn!(error = %ErrorChain(&err), "not ready: the store does not answer");
        return unready("the database does not answer".to_owned());
    }
    if let Some(stalled) = state.delivery.stalled() {
        tracing::warn!(
            seconds = stalled.as_secs(),
            "not ready: the delivery workers are stalled"
        );
        return unready(format!(
            "the delivery workers have made no progress for {} s",
            stalled.as_secs()
        ));
    }
    (StatusCode::OK, "ready\n").into_response()
}

fn unready(reason: String) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("not ready: {reason}\n"),
    )
        .into_response()
}
