//! The webhooks resource: create, list, get, update, delete and test.

use axum::{
    Router,
    extract::{FromRequestParts, OriginalUri, State},
    http::request::Parts,
    routing::get,
};
use bytes::Bytes;
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{NewWebhookContext, Webhook, WebhookId};
use vizhook_store::OwnedWebhook;

use super::wire::{WebhookInput, webhook_element};
use crate::{
    api::{
        auth::SiteAdmin,
        error::{ApiError, ApiResult},
        extract::{TsRequest, path_id},
        format::{Element, Reply},
        version::{ApiVersion, Version},
    },
    state::AppState,
};
use vizhook_runtime::outbound::{SendError, json_headers};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site_id}/webhooks", get(list).post(create))
        .route(
            "/sites/{site_id}/webhooks/{webhook_id}",
            get(fetch).put(update).delete(remove),
        )
        .route("/sites/{site_id}/webhooks/{webhook_id}/test", get(test))
}

/// The `{webhook_id}` in the path.
struct PathWebhookId(WebhookId);

impl<S: Send + Sync> FromRequestParts<S> for PathWebhookId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, "webhook_id", not_found).await.map(Self)
    }
}

fn not_found(raw: &str) -> ApiError {
    ApiError::webhook_not_found(format!("Webhook '{raw}' could not be found."))
}

async fn load(state: &AppState, admin: &SiteAdmin, id: WebhookId) -> ApiResult<OwnedWebhook> {
    state
        .store
        .webhook(admin.0.0.site.id, id)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))
}

/// Refuses destinations that only resolve to addresses deliveries may not reach.
async fn check_reachable(state: &AppState, webhook: &Webhook) -> ApiResult<()> {
    match state.outbound.check_destination(webhook.url.url()).await {
        Err(refused @ SendError::Refused { .. }) => Err(ApiError::bad_request(format!(
            "The destination url is not allowed: {refused}. Start vizhook with --dev, or add the \
             network to outbound.allow_networks, to deliver to it."
        ))),
        _ => Ok(()),
    }
}

async fn create(
    State(state): State<AppState>,
    Version(version): Version,
    OriginalUri(uri): OriginalUri,
    admin: SiteAdmin,
    request: TsRequest,
) -> ApiResult<Reply> {
    version.require(ApiVersion::WEBHOOKS, uri.path())?;
    let element = request.required("webhook")?;
    let input = WebhookInput::parse(element, state.url_policy())?;
    let status = input.status();
    let patch = input.patch;
    let name = patch
        .name
        .ok_or_else(|| ApiError::bad_request("A webhook needs a name attribute."))?;
    let event = patch.event.ok_or_else(|| {
        ApiError::bad_request(
            "A webhook needs an event: an event attribute or a webhook-source element.",
        )
    })?;
    let url = patch.url.ok_or_else(|| {
        ApiError::bad_request(
            "A webhook needs a webhook-destination with a webhook-destination-http url.",
        )
    })?;
    let session = &admin.0.0;
    let context = NewWebhookContext {
        id: WebhookId::from_uuid(Uuid::new_v4()),
        site_id: session.site.id,
        owner_id: session.user.id,
        now: OffsetDateTime::now_utc(),
    };
    let webhook = Webhook::create(context, name, event, url, status)?;
    check_reachable(&state, &webhook).await?;
    state.store.create_webhook(&webhook).await?;
    tracing::info!(webhook = %webhook.id, event = %webhook.event, host = webhook.url.host(), "webhook created");
    let location = format!(
        "/api/{}.{}/sites/{}/webhooks/{}",
        version.major, version.minor, webhook.site_id, webhook.id
    );
    let owned = OwnedWebhook {
        webhook,
        owner_name: session.user.name.clone(),
    };
    Ok(Reply::created(webhook_element(&owned), location))
}

async fn list(
    State(state): State<AppState>,
    Version(version): Version,
    OriginalUri(uri): OriginalUri,
    admin: SiteAdmin,
) -> ApiResult<Reply> {
    version.require(ApiVersion::WEBHOOKS, uri.path())?;
    let webhooks = state.store.webhooks(admin.0.0.site.id).await?;
    Ok(Reply::ok(Element::list(
        "webhooks",
        webhooks.iter().map(webhook_element),
    )))
}

async fn fetch(
    State(state): State<AppState>,
    Version(version): Version,
    OriginalUri(uri): OriginalUri,
    admin: SiteAdmin,
    PathWebhookId(id): PathWebhookId,
) -> ApiResult<Reply> {
    version.require(ApiVersion::WEBHOOKS, uri.path())?;
    Ok(Reply::ok(webhook_element(&load(&state, &admin, id).await?)))
}

async fn update(
    State(state): State<AppState>,
    Version(version): Version,
    OriginalUri(uri): OriginalUri,
    admin: SiteAdmin,
    PathWebhookId(id): PathWebhookId,
    request: TsRequest,
) -> ApiResult<Reply> {
    version.require(ApiVersion::WEBHOOK_UPDATE, uri.path())?;
    let element = request.required("webhook")?;
    let input = WebhookInput::parse(element, state.url_policy())?;
    let mut owned = load(&state, &admin, id).await?;
    let url_changed = input.patch.url.is_some();
    owned
        .webhook
        .apply(input.patch, OffsetDateTime::now_utc())?;
    if url_changed {
        check_reachable(&state, &owned.webhook).await?;
    }
    state
        .store
        .update_webhook(&owned.webhook)
        .await
        .map_err(|err| match err {
            vizhook_store::StoreError::NotFound => not_found(&id.to_string()),
            other => other.into(),
        })?;
    tracing::info!(webhook = %id, enabled = owned.webhook.enabled, "webhook updated");
    Ok(Reply::ok(webhook_element(&owned)))
}

async fn remove(
    State(state): State<AppState>,
    Version(version): Version,
    OriginalUri(uri): OriginalUri,
    admin: SiteAdmin,
    PathWebhookId(id): PathWebhookId,
) -> ApiResult<Reply> {
    version.require(ApiVersion::WEBHOOKS, uri.path())?;
    state
        .store
        .delete_webhook(admin.0.0.site.id, id)
        .await
        .map_err(|err| match err {
            vizhook_store::StoreError::NotFound => not_found(&id.to_string()),
            other => other.into(),
        })?;
    tracing::info!(webhook = %id, "webhook deleted");
    Ok(Reply::no_content())
}

/// POSTs an empty payload to the destination, as Tableau does, and reports the answer. A
/// destination that answers (with any status) is a completed test; one that cannot be reached
/// at all is a `400113` error.
async fn test(
    State(state): State<AppState>,
    Version(version): Version,
    OriginalUri(uri): OriginalUri,
    admin: SiteAdmin,
    PathWebhookId(id): PathWebhookId,
) -> ApiResult<Reply> {
    version.require(ApiVersion::WEBHOOKS, uri.path())?;
    let owned = load(&state, &admin, id).await?;
    let webhook = &owned.webhook;
    let response = state
        .outbound
        .post(webhook.url.url(), json_headers(), Bytes::new())
        .await
        .map_err(|err| {
            ApiError::webhook_test_failed(format!(
                "The webhook test could not reach its destination: {err}."
            ))
        })?;
    tracing::info!(webhook = %id, status = response.status, host = webhook.url.host(), "webhook tested");
    Ok(Reply::ok(
        Element::new("webhookTestResult")
            .child(Element::new("body").text(response.body_text()))
            .attr("id", webhook.id.to_string())
            .attr("status", response.status.to_string()),
    ))
}
