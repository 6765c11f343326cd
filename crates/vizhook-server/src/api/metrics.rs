//! `GET /metrics`: the Prometheus exposition of `vizhook serve` (`[server] metrics`). Counters
//! and histograms are recorded where things happen (delivery attempts in `vizhook-delivery`,
//! HTTP requests by [`count_requests`]); the queue's gauges are read from the store at each
//! scrape.

use axum::{
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use time::OffsetDateTime;
use vizhook_runtime::ErrorChain;

use crate::state::AppState;

/// Counts every request by its route's pattern (`/api/{version}/sites/{site_id}/webhooks`, so
/// ids do not multiply the series) and its status.
pub(super) async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    metrics::counter!(
        "vizhook_http_requests_total",
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    response
}

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are not enabled\n").into_response();
    };
    match state.store.queue_gauges().await {
        Ok(gauges) => {
            metrics::gauge!("vizhook_deliveries_pending").set(gauges.pending as f64);
            let age = gauges.oldest_due.map_or(0.0, |due| {
                (OffsetDateTime::now_utc() - due).as_seconds_f64().max(0.0)
            });
            metrics::gauge!("vizhook_oldest_due_delivery_age_seconds").set(age);
            metrics::gauge!("vizhook_webhooks_disabled").set(gauges.disabled_webhooks as f64);
        }
        Err(err) => {
            tracing::warn!(error = %ErrorChain(&err), "could not read the queue's gauges");
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
