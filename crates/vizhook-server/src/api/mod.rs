//! The HTTP API: the Tableau REST API under `/api/{version}/`, vizhook's own endpoints under
//! `/vizhook/v1/`, and the layers every request passes (format rendering, panic catching,
//! tracing, the unknown-path fallback), the dashboard, the probes and `/metrics` outside them.

pub mod auth;
pub mod authz;
pub mod error;
pub mod extract;
pub mod format;
mod health;
mod metrics;
pub mod tableau;
pub mod version;
mod vizhook;

use std::any::Any;

use axum::{
    Router,
    extract::OriginalUri,
    middleware,
    response::{IntoResponse, Response},
};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use self::error::ApiError;
use crate::state::AppState;

/// The whole HTTP surface of `vizhook serve`.
pub fn router(state: AppState) -> Router {
    let tableau = tableau::routes().route_layer(middleware::from_fn(version::check));
    Router::new()
        .nest("/api/{version}", tableau)
        .merge(health::routes())
        .merge(vizhook::routes())
        .fallback(unknown_path)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            format::RenderConfig {
                api_version: state.config.tableau.rest_api_version.as_str().into(),
            },
            format::render,
        ))
        .layer(TraceLayer::new_for_http())
        .merge(crate::dashboard::routes())
        .merge(health::probes())
        .route("/metrics", axum::routing::get(metrics::metrics))
        .route_layer(middleware::from_fn(metrics::count_requests))
        .with_state(state)
}

async fn unknown_path(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::unknown_path(uri.path())
}

/// A handler panicked: log it, answer with Tableau's generic 500 error, keep serving.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    ApiError::internal("a request handler panicked", std::io::Error::other(message)).into_response()
}
