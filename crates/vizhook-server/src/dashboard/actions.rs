//! The dashboard's buttons, each a form POST carrying the CSRF token, answered with a
//! redirect to the page it acts on and a notice saying what happened: test, enable and
//! disable a webhook, fire a test event for it, redeliver a delivery. They do what the API's
//! calls do, through the same store calls and the same guarded outbound client.

use axum::{
    Form,
    extract::{Path, State},
    response::Redirect,
};
use bytes::Bytes;
use time::OffsetDateTime;
use vizhook_core::{DeliveryId, WebhookPatch};
use vizhook_runtime::outbound::json_headers;
use vizhook_store::StoreError;

use super::{
    auth::{Admin, CsrfForm},
    pages::load_webhook,
    render::{DashError, DashResult},
};
use crate::state::AppState;

fn back_to(path: &str, notice: &str) -> Redirect {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("notice", notice)
        .finish();
    Redirect::to(&format!("{path}?{query}"))
}

async fn set_enabled(
    state: &AppState,
    admin: &Admin,
    raw: &str,
    enabled: bool,
) -> DashResult<Redirect> {
    let mut owned = load_webhook(state, admin, raw).await?;
    let reason =
        (!enabled).then(|| format!("Disabled from the dashboard by {}", admin.session.user.name));
    let patch = WebhookPatch {
        is_enabled: Some(enabled),
        status_change_reason: Some(reason.unwrap_or_default()),
        ..WebhookPatch::default()
    };
    owned
        .webhook
        .apply(patch, OffsetDateTime::now_utc())
        .map_err(|err| DashError::BadRequest(format!("{err}.")))?;
    state.store.update_webhook(&owned.webhook).await?;
    let id = owned.webhook.id;
    tracing::info!(webhook = %id, enabled, user = %admin.session.user.name, "webhook updated from the dashboard");
    let notice = if enabled {
        "Enabled: pending deliveries resume."
    } else {
        "Disabled: new events no longer reach it, pending deliveries wait."
    };
    Ok(back_to(&format!("/dashboard/webhooks/{id}"), notice))
}

pub(super) async fn enable(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> DashResult<Redirect> {
    admin.check(&form.csrf)?;
    set_enabled(&state, &admin, &raw, true).await
}

pub(super) async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> DashResult<Redirect> {
    admin.check(&form.csrf)?;
    set_enabled(&state, &admin, &raw, false).await
}

/// POSTs an empty payload, as Tableau's test call does, and says what the destination answered.
pub(super) async fn test(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> DashResult<Redirect> {
    admin.check(&form.csrf)?;
    let owned = load_webhook(&state, &admin, &raw).await?;
    let webhook = &owned.webhook;
    let notice = match state
        .outbound
        .post(webhook.url.url(), json_headers(), Bytes::new())
        .await
    {
        Ok(response) => format!(
            "Test sent: the destination answered HTTP {}.",
            response.status
        ),
        Err(err) => format!("Test failed: the destination could not be reached: {err}."),
    };
    Ok(back_to(
        &format!("/dashboard/webhooks/{}", webhook.id),
        &notice,
    ))
}

/// Fires the webhook's event on its site, as if content changed: every enabled webhook
/// subscribed to it gets a delivery.
pub(super) async fn fire(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> DashResult<Redirect> {
    admin.check(&form.csrf)?;
    let owned = load_webhook(&state, &admin, &raw).await?;
    let kind = owned.webhook.event;
    let event = vizhook_delivery::event_at(
        admin.session.site.id,
        kind,
        kind.default_resource(),
        "vizhook dashboard test",
        &uuid::Uuid::new_v4().to_string(),
        OffsetDateTime::now_utc(),
    );
    let published = state.publish(&[event]).await?;
    let deliveries: u32 = published.iter().map(|p| p.deliveries).sum();
    let notice = format!(
        "Fired {}: {deliveries} deliveries scheduled.",
        kind.api_name()
    );
    Ok(back_to(
        &format!("/dashboard/webhooks/{}", owned.webhook.id),
        &notice,
    ))
}

pub(super) async fn redeliver(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> DashResult<Redirect> {
    admin.check(&form.csrf)?;
    let missing = || DashError::NotFound(format!("There is no delivery '{raw}' on this site."));
    let id: DeliveryId = raw.parse().map_err(|_| missing())?;
    match state
        .store
        .redeliver(admin.session.site.id, id, OffsetDateTime::now_utc())
        .await
    {
        Err(StoreError::NotFound) => return Err(missing()),
        other => other?,
    }
    state.delivery.wake();
    tracing::info!(delivery = %id, user = %admin.session.user.name, "redelivery from the dashboard");
    Ok(back_to(
        &format!("/dashboard/deliveries/{id}"),
        "Scheduled again now, with the same webhook-id.",
    ))
}
