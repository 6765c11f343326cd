//! The receiver's HTTP surface: `POST {source path}/{token}` for events, `/healthz`,
//! `/readyz` and `/metrics`. Checks run cheapest and least revealing first: an unknown path or
//! wrong token is a 404 (nothing tells a prober the path exists), then the method (405), the
//! client address (403) and rate (429), the body size (413), the signature (401) and the JSON
//! (400). Only a stored event is answered 2xx; a store failure is a 503 so the sender retries.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use ipnet::IpNet;
use serde_json::json;
use time::OffsetDateTime;
use tower_http::catch_panic::CatchPanicLayer;

use vizhook_listener::{ErrorPages, Limits};
use vizhook_store::StoreError;

use vizhook_tableau::payload::InboundEvent;

use super::{
    ingest::{Ingest, Outcome},
    source::{Rejection, Source, client_ip},
};

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub ingest: Ingest,
    pub sources: Vec<Source>,
    pub trusted_proxies: Vec<IpNet>,
    /// Renders the Prometheus text exposition.
    pub metrics: Option<vizhook_runtime::metrics::PrometheusHandle>,
    /// The action workers' progress, for readiness.
    pub progress: vizhook_runtime::engine::Progress,
}

/// The receiver's router. Serve it with `into_make_service_with_connect_info::<SocketAddr>`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(receive)
        .with_state(shared)
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked: this is a bug");
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error: the event may not have been stored; retry later",
                )
            },
        ))
}

/// The documents of the requests the listener refuses before routing (a head hyper cannot
/// parse, a URI or head over the limits), in the shape of every other refusal.
pub fn refusal_pages(limits: Limits) -> ErrorPages {
    let Ok(pages) = ErrorPages::render(limits, |_, sentence| {
        let body = json!({ "error": sentence }).to_string();
        Ok::<_, std::convert::Infallible>(("application/json", body.into_bytes()))
    });
    pages
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn reject(source: &str, rejection: &Rejection) -> Response {
    let status = match rejection {
        Rejection::NotFound => StatusCode::NOT_FOUND,
        Rejection::Forbidden(_) => StatusCode::FORBIDDEN,
        Rejection::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        Rejection::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Rejection::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        Rejection::BadSignature(_) => StatusCode::UNAUTHORIZED,
    };
    count(source, status);
    tracing::info!(source, status = status.as_u16(), reason = %rejection, "request rejected");
    let mut response = error(status, rejection.to_string());
    if matches!(rejection, Rejection::BodyTimeout) {
        // The listener closes the connection after a body timeout; say so.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn count(source: &str, status: StatusCode) {
    metrics::counter!("vizhook_receive_requests_total", "source" => source.to_owned(), "status" => status.as_str().to_owned())
        .increment(1);
}

/// The source whose `{path}/{token}` this is; the token is compared in constant time.
fn find<'a>(sources: &'a [Source], path: &str) -> Option<&'a Source> {
    let (prefix, token) = path.trim_end_matches('/').rsplit_once('/')?;
    let prefix = if prefix.is_empty() { "/" } else { prefix };
    sources
        .iter()
        .find(|source| source.path == prefix)
        .filter(|source| source.token_matches(token))
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let Some(source) = find(&shared.sources, request.uri().path()) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let name = source.name.as_str();
    if request.method() != Method::POST {
        count(name, StatusCode::METHOD_NOT_ALLOWED);
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "events are delivered with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let client = client_ip(peer, request.headers(), &shared.trusted_proxies);
    if let Err(rejection) = source.admit(client) {
        return reject(name, &rejection);
    }
    let (parts, body) = request.into_parts();
    let too_large = Rejection::TooLarge(source.max_body_bytes);
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > source.max_body_bytes) {
        return reject(name, &too_large);
    }
    let body = match axum::body::to_bytes(body, source.max_body_bytes).await {
        Ok(body) => body,
        Err(err) if vizhook_listener::is_body_timeout(&err) => {
            return reject(name, &Rejection::BodyTimeout);
        }
        Err(_) => return reject(name, &too_large),
    };
    if let Err(rejection) = source.verify(&parts.headers, &body, OffsetDateTime::now_utc()) {
        return reject(name, &rejection);
    }
    let event = match InboundEvent::parse(&body) {
        Ok(event) => event,
        Err(err) => {
            count(name, StatusCode::BAD_REQUEST);
            tracing::info!(source = name, reason = %err, "request rejected");
            return error(StatusCode::BAD_REQUEST, err.to_string());
        }
    };
    let webhook_id = webhook_id(&parts.headers);
    match shared
        .ingest
        .ingest(source, &event, &body, webhook_id.as_deref())
        .await
    {
        Ok(Outcome::Accepted { id, .. }) => {
            count(name, StatusCode::ACCEPTED);
            (
                StatusCode::ACCEPTED,
                Json(json!({ "status": "accepted", "id": id })),
            )
                .into_response()
        }
        Ok(Outcome::Test { id }) => {
            count(name, StatusCode::ACCEPTED);
            (
                StatusCode::ACCEPTED,
                Json(json!({ "status": "test", "id": id })),
            )
                .into_response()
        }
        Ok(Outcome::Duplicate { original }) => {
            count(name, StatusCode::OK);
            Json(json!({ "status": "duplicate", "id": original })).into_response()
        }
        // A value the database cannot hold (a NUL character on PostgreSQL): sending the same
        // event again cannot help, so the sender is told it is refused, not to retry.
        Err(StoreError::Rejected(why)) => {
            count(name, StatusCode::BAD_REQUEST);
            tracing::info!(source = name, reason = %why, "request rejected by the database");
            error(
                StatusCode::BAD_REQUEST,
                format!("the event holds a value that cannot be stored: {why}"),
            )
        }
        Err(err) => {
            count(name, StatusCode::SERVICE_UNAVAILABLE);
            tracing::error!(source = name, error = %vizhook_runtime::ErrorChain(&err), "could not store an event");
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event could not be stored; retry later",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}

/// A sender's message id: Standard Webhooks `webhook-id`, or Svix's `svix-id`.
fn webhook_id(headers: &HeaderMap) -> Option<String> {
    ["webhook-id", "svix-id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty() && value.len() <= 256)
        .map(str::to_owned)
}

/// Ready when the store takes writes (a prune of nothing, before 1970, goes through the writer
/// and commits, so a stopped writer makes the receiver unready) and the action workers
/// finished a cycle with their store lately (a round trip that hangs, or a store that keeps
/// failing theirs, stalls them).
async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(stalled) = shared.progress.stalled() {
        tracing::warn!(
            seconds = stalled.as_secs(),
            "not ready: the action workers are stalled"
        );
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the action workers have made no progress for {} s",
                stalled.as_secs()
            ),
        );
    }
    match shared
        .ingest
        .store
        .prune_inbox(OffsetDateTime::UNIX_EPOCH, 1)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(err) => {
            tracing::warn!(error = %vizhook_runtime::ErrorChain(&err), "not ready: the store does not take writes");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store does not take writes",
            )
        }
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    match &shared.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "metrics are not enabled"),
    }
}
