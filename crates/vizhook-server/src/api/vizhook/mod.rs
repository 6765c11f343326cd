//! vizhook's own API under `/vizhook/v1/`, beside the Tableau namespace so that namespace stays
//! faithful: event injection, the delivery log, redelivery, disable notices and per-webhook
//! signing secrets. Plain JSON; the same `X-Tableau-Auth` sessions; administrators only.

mod wire;

use axum::{
    Json, Router,
    body::Body,
    extract::{FromRequestParts, Request, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::de::DeserializeOwned;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use vizhook_core::{DeliveryId, EventKind, Resource, WebhookId};
use vizhook_store::{DeliveryQuery, PublishEvent, StoreError};

use self::wire::{DeliveryOut, EventIn, EventsIn, NoticeOut, PublishedOut, SecretIn};
use super::{
    auth::SiteAdmin,
    error::{ApiError, ApiResult},
    extract::{QueryParams, path_id, read_body},
};
use vizhook_tableau::signing::Signer;

use vizhook_delivery::event_at;

use crate::state::AppState;

/// Events one injection request may carry.
pub(crate) const MAX_EVENTS_PER_REQUEST: usize = 1000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/vizhook/v1/sites/{site_id}/events", post(inject))
        .route(
            "/vizhook/v1/sites/{site_id}/webhooks/{webhook_id}/deliveries",
            get(deliveries),
        )
        .route(
            "/vizhook/v1/sites/{site_id}/deliveries/{delivery_id}",
            get(delivery),
        )
        .route(
            "/vizhook/v1/sites/{site_id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
        .route("/vizhook/v1/sites/{site_id}/notices", get(notices))
        .route(
            "/vizhook/v1/sites/{site_id}/webhooks/{webhook_id}/signing-secret",
            put(set_secret).delete(remove_secret),
        )
}

/// A JSON request body, parsed into `T`; any problem is a `400000`.
struct JsonBody<T>(T);

impl<T: DeserializeOwned> axum::extract::FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body): (Parts, Body) = request.into_parts();
        let bytes = read_body(&parts.headers, body, state.config.server.max_body_bytes).await?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(bytes).map(Self).map_err(|err| {
            ApiError::bad_request(format!("The JSON body is not valid here: {err}."))
        })
    }
}

struct PathWebhook(WebhookId);

impl<S: Send + Sync> FromRequestParts<S> for PathWebhook {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, "webhook_id", webhook_not_found)
            .await
            .map(Self)
    }
}

struct PathDelivery(DeliveryId);

impl<S: Send + Sync> FromRequestParts<S> for PathDelivery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, "delivery_id", delivery_not_found)
            .await
            .map(Self)
    }
}

fn webhook_not_found(raw: &str) -> ApiError {
    ApiError::webhook_not_found(format!("Webhook '{raw}' could not be found."))
}

fn delivery_not_found(raw: &str) -> ApiError {
    ApiError::delivery_not_found(format!("Delivery '{raw}' could not be found."))
}

fn parse_event(admin: &SiteAdmin, index: usize, input: EventIn) -> ApiResult<PublishEvent> {
    let field = |name: &str, message: String| {
        ApiError::bad_request(format!("events[{index}].{name}: {message}."))
    };
    let kind = EventKind::parse_lenient(&input.event_type)
        .map_err(|err| field("event_type", err.to_string()))?;
    let resource = match input.resource.as_deref() {
        None | Some("") => kind.default_resource(),
        Some(raw) => raw
            .parse::<Resource>()
            .map_err(|_| field("resource", format!("'{raw}' is not a Tableau resource")))?,
    };
    let created_at = match input.created_at.as_deref() {
        None | Some("") => OffsetDateTime::now_utc(),
        Some(raw) => {
            let parsed = OffsetDateTime::parse(raw, &Rfc3339)
                .map_err(|_| field("created_at", format!("'{raw}' is not an RFC 3339 time")))?;
            // Payloads carry UTC with a four-digit year: an offset that moves the time out of
            // the years 0000 to 9999 would not print.
            parsed
                .checked_to_offset(time::UtcOffset::UTC)
                .filter(|utc| (0..=9999).contains(&utc.year()))
                .ok_or_else(|| {
                    field(
                        "created_at",
                        format!("'{raw}' is outside the years 0000 to 9999 in UTC"),
                    )
                })?
        }
    };
    let luid = input
        .resource_luid
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    Ok(event_at(
        admin.0.0.site.id,
        kind,
        resource,
        &input.resource_name,
        &luid,
        created_at,
    ))
}

/// `POST /vizhook/v1/sites/{site}/events`: one event, a list, or `{"events": [...]}`; 202 once
/// the events and their deliveries are committed.
async fn inject(
    State(state): State<AppState>,
    admin: SiteAdmin,
    JsonBody(body): JsonBody<EventsIn>,
) -> ApiResult<Response> {
    let inputs = body.into_vec();
    if inputs.is_empty() {
        return Err(ApiError::bad_request("No events were given."));
    }
    if inputs.len() > MAX_EVENTS_PER_REQUEST {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_EVENTS_PER_REQUEST} events may be injected per request."
        )));
    }
    let events = inputs
        .into_iter()
        .enumerate()
        .map(|(index, input)| parse_event(&admin, index, input))
        .collect::<ApiResult<Vec<_>>>()?;
    let published = state.publish(&events).await?;
    let body = serde_json::json!({ "events": published.iter().map(PublishedOut::from).collect::<Vec<_>>() });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

async fn deliveries(
    State(state): State<AppState>,
    admin: SiteAdmin,
    PathWebhook(webhook): PathWebhook,
    query: QueryParams,
) -> ApiResult<Response> {
    let site = admin.0.0.site.id;
    state
        .store
        .webhook(site, webhook)
        .await?
        .ok_or_else(|| webhook_not_found(&webhook.to_string()))?;
    let limit = query.positive("limit", 50)?.min(500);
    let before = match query.get("before") {
        None => None,
        Some(raw) => Some(OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
            ApiError::bad_request(format!("before must be an RFC 3339 time, not '{raw}'."))
        })?),
    };
    let query = DeliveryQuery {
        limit: u32::try_from(limit).unwrap_or(500),
        before,
        ..DeliveryQuery::default()
    };
    let records = state.store.deliveries(site, webhook, &query).await?;
    let body = serde_json::json!({ "deliveries": records.iter().map(DeliveryOut::from).collect::<Vec<_>>() });
    Ok(Json(body).into_response())
}

async fn delivery(
    State(state): State<AppState>,
    admin: SiteAdmin,
    PathDelivery(id): PathDelivery,
) -> ApiResult<Response> {
    let record = state
        .store
        .delivery(admin.0.0.site.id, id)
        .await?
        .ok_or_else(|| delivery_not_found(&id.to_string()))?;
    Ok(Json(serde_json::json!({ "delivery": DeliveryOut::from(&record) })).into_response())
}

/// Schedules a delivery again now, with a fresh retry schedule and the same `webhook-id`.
async fn redeliver(
    State(state): State<AppState>,
    admin: SiteAdmin,
    PathDelivery(id): PathDelivery,
) -> ApiResult<Response> {
    let site = admin.0.0.site.id;
    state
        .store
        .redeliver(site, id, OffsetDateTime::now_utc())
        .await
        .map_err(|err| match err {
            StoreError::NotFound => delivery_not_found(&id.to_string()),
            other => other.into(),
        })?;
    state.delivery.wake();
    let record = state
        .store
        .delivery(site, id)
        .await?
        .ok_or_else(|| delivery_not_found(&id.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "delivery": DeliveryOut::from(&record) })),
    )
        .into_response())
}

async fn notices(
    State(state): State<AppState>,
    admin: SiteAdmin,
    query: QueryParams,
) -> ApiResult<Response> {
    let webhook = match query.get("webhook") {
        None => None,
        Some(raw) => Some(
            raw.parse::<WebhookId>()
                .map_err(|_| webhook_not_found(raw))?,
        ),
    };
    let notices = state.store.notices(admin.0.0.site.id, webhook).await?;
    Ok(Json(
        serde_json::json!({ "notices": notices.iter().map(NoticeOut::from).collect::<Vec<_>>() }),
    )
    .into_response())
}

/// Sets the webhook's own Standard Webhooks secret (given, or generated) and shows it once.
async fn set_secret(
    State(state): State<AppState>,
    admin: SiteAdmin,
    PathWebhook(webhook): PathWebhook,
    JsonBody(body): JsonBody<SecretIn>,
) -> ApiResult<Response> {
    let secret = match body.secret {
        Some(secret) => {
            Signer::new(&secret).map_err(|err| ApiError::bad_request(format!("secret: {err}.")))?;
            secret.trim().to_owned()
        }
        None => Signer::generate().map_err(|err| {
            ApiError::internal(
                "secret generation failed",
                std::io::Error::other(err.to_string()),
            )
        })?,
    };
    state
        .store
        .set_signing_secret(admin.0.0.site.id, webhook, Some(secret.clone()))
        .await
        .map_err(|err| match err {
            StoreError::NotFound => webhook_not_found(&webhook.to_string()),
            other => other.into(),
        })?;
    tracing::info!(webhook = %webhook, "signing secret set");
    Ok(
        Json(serde_json::json!({ "webhook_id": webhook.to_string(), "secret": secret }))
            .into_response(),
    )
}

async fn remove_secret(
    State(state): State<AppState>,
    admin: SiteAdmin,
    PathWebhook(webhook): PathWebhook,
) -> ApiResult<Response> {
    state
        .store
        .set_signing_secret(admin.0.0.site.id, webhook, None)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => webhook_not_found(&webhook.to_string()),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
