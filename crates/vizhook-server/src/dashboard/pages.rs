//! The dashboard's pages: the site's webhooks with their health, one webhook with its charts
//! and recent deliveries, the site's delivery log with its filters, and one delivery with
//! every attempt. Each reads the store and hands plain view structs to a template.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use vizhook_core::{DeliveryId, EventKind, WebhookId};
use vizhook_store::{DeliveryQuery, DeliveryRecord, DeliveryState, OwnedWebhook};

use super::{
    auth::Admin,
    charts,
    render::{DashError, DashResult, Page, render},
    view::{self, Chrome},
};
use crate::state::AppState;

fn ser(value: &impl Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// Deliveries on one page of the log.
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Serialize)]
struct WebhookView {
    id: String,
    name: String,
    event: &'static str,
    url: String,
    enabled: bool,
    reason: String,
    failures: u32,
    owner: String,
    last: Option<DeliveryView>,
}

#[derive(Debug, Serialize)]
pub(super) struct DeliveryView {
    id: String,
    webhook_id: String,
    webhook_name: String,
    event: &'static str,
    state: &'static str,
    created_at: String,
    next_attempt_at: Option<String>,
    completed_at: Option<String>,
    payload: String,
    attempts: Vec<AttemptView>,
}

#[derive(Debug, Serialize)]
struct AttemptView {
    number: u32,
    started_at: String,
    latency_ms: u32,
    ok: bool,
    outcome: String,
    response: String,
}

fn delivery_view(record: &DeliveryRecord, names: &HashMap<WebhookId, String>) -> DeliveryView {
    let payload = serde_json::from_str::<serde_json::Value>(&record.payload)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| record.payload.clone());
    DeliveryView {
        id: record.id.to_string(),
        webhook_id: record.webhook_id.to_string(),
        webhook_name: names
            .get(&record.webhook_id)
            .cloned()
            .unwrap_or_else(|| record.webhook_id.to_string()),
        event: record.event_type.api_name(),
        state: record.state.as_str(),
        created_at: view::time(record.created_at),
        next_attempt_at: record.next_attempt_at.map(view::time),
        completed_at: record.completed_at.map(view::time),
        payload,
        attempts: record
            .attempts
            .iter()
            .map(|a| AttemptView {
                number: a.number,
                started_at: view::time(a.started_at),
                latency_ms: a.latency_ms,
                ok: a.status.is_some_and(|s| (200..300).contains(&s)),
                outcome: match (a.status, &a.error) {
                    (Some(status), _) => format!("HTTP {status}"),
                    (None, Some(error)) => error.clone(),
                    (None, None) => "no answer".to_owned(),
                },
                response: a.response_excerpt.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

async fn webhook_views(
    state: &AppState,
    admin: &Admin,
    webhooks: &[OwnedWebhook],
) -> DashResult<Vec<WebhookView>> {
    let site = admin.session.site.id;
    let failures: HashMap<WebhookId, u32> = state
        .store
        .failure_counts(site)
        .await?
        .into_iter()
        .collect();
    let names = names(webhooks);
    let newest = DeliveryQuery {
        limit: 1,
        ..DeliveryQuery::default()
    };
    let mut views = Vec::with_capacity(webhooks.len());
    for owned in webhooks {
        let hook = &owned.webhook;
        let last = state.store.deliveries(site, hook.id, &newest).await?;
        views.push(WebhookView {
            id: hook.id.to_string(),
            name: hook.name.as_str().to_owned(),
            event: hook.event.api_name(),
            url: hook.url.as_str().to_owned(),
            enabled: hook.enabled,
            reason: hook.status_change_reason.clone(),
            failures: failures.get(&hook.id).copied().unwrap_or(0),
            owner: owned.owner_name.clone(),
            last: last.first().map(|record| delivery_view(record, &names)),
        });
    }
    Ok(views)
}

fn names(webhooks: &[OwnedWebhook]) -> HashMap<WebhookId, String> {
    webhooks
        .iter()
        .map(|owned| (owned.webhook.id, owned.webhook.name.as_str().to_owned()))
        .collect()
}

#[derive(Debug, Deserialize)]
pub(super) struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /dashboard/`: the site's webhooks and their health.
pub(super) async fn webhooks(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<NoticeQuery>,
) -> DashResult<Page> {
    let chrome = Chrome::new(&state, &admin, query.notice).await?;
    let owned = state.store.webhooks(admin.session.site.id).await?;
    let webhooks = webhook_views(&state, &admin, &owned).await?;
    render(
        "webhooks.html",
        chrome.with(minijinja::context! { webhooks => ser(&webhooks) }),
    )
}

/// `GET /dashboard/webhooks/{id}`: one webhook, its last hour in charts, and its newest
/// deliveries.
pub(super) async fn webhook(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> DashResult<Page> {
    let site = admin.session.site.id;
    let owned = load_webhook(&state, &admin, &raw).await?;
    let chrome = Chrome::new(&state, &admin, query.notice).await?;
    let hook = webhook_views(&state, &admin, std::slice::from_ref(&owned))
        .await?
        .pop();
    let now = OffsetDateTime::now_utc();
    let since = now - Duration::minutes(charts::MINUTES as i64);
    let stats = state
        .store
        .attempt_stats(site, owned.webhook.id, since)
        .await?;
    let (charts, totals) = charts::draw(&stats, now);
    let recent = DeliveryQuery {
        limit: 20,
        ..DeliveryQuery::default()
    };
    let names = names(std::slice::from_ref(&owned));
    let deliveries: Vec<DeliveryView> = state
        .store
        .deliveries(site, owned.webhook.id, &recent)
        .await?
        .iter()
        .map(|record| delivery_view(record, &names))
        .collect();
    render(
        "webhook.html",
        chrome.with(minijinja::context! { hook => ser(&hook), charts => ser(&charts), totals => ser(&totals), deliveries => ser(&deliveries) }),
    )
}

pub(super) async fn load_webhook(
    state: &AppState,
    admin: &Admin,
    raw: &str,
) -> DashResult<OwnedWebhook> {
    let missing = || DashError::NotFound(format!("There is no webhook '{raw}' on this site."));
    let id: WebhookId = raw.parse().map_err(|_| missing())?;
    state
        .store
        .webhook(admin.session.site.id, id)
        .await?
        .ok_or_else(missing)
}

/// The log's filters, as the form sends them; empty means any.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(super) struct LogFilter {
    #[serde(default)]
    webhook: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    since: String,
    #[serde(default, skip_serializing)]
    before: String,
    #[serde(default, skip_serializing)]
    notice: Option<String>,
}

/// The time windows of the log's `since` filter.
const WINDOWS: &[(&str, &str, i64)] = &[
    ("", "any time", 0),
    ("15m", "last 15 minutes", 15),
    ("1h", "last hour", 60),
    ("24h", "last 24 hours", 24 * 60),
    ("7d", "last 7 days", 7 * 24 * 60),
];

/// `GET /dashboard/deliveries`: the site's delivery log, newest first, filtered.
pub(super) async fn deliveries(
    State(state): State<AppState>,
    admin: Admin,
    Query(mut filter): Query<LogFilter>,
) -> DashResult<Page> {
    let site = admin.session.site.id;
    let chrome = Chrome::new(&state, &admin, filter.notice.take()).await?;
    let owned = state.store.webhooks(site).await?;
    let bad = |what: &str, raw: &str| {
        DashError::BadRequest(format!("{what} '{raw}' is not one the filter knows."))
    };
    let state_filter = match filter.state.as_str() {
        "" => None,
        raw => Some(DeliveryState::parse(raw).ok_or_else(|| bad("The state", raw))?),
    };
    let event = match filter.event.as_str() {
        "" => None,
        raw => Some(EventKind::parse_lenient(raw).map_err(|_| bad("The event", raw))?),
    };
    let minutes = WINDOWS
        .iter()
        .find(|(value, _, _)| *value == filter.since)
        .map(|(_, _, minutes)| *minutes)
        .ok_or_else(|| bad("The time window", &filter.since))?;
    let now = OffsetDateTime::now_utc();
    let before = match filter.before.as_str() {
        "" => None,
        raw => Some(
            OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .map_err(|_| bad("The page", raw))?,
        ),
    };
    let query = DeliveryQuery {
        limit: PAGE_SIZE,
        before,
        since: (minutes > 0).then(|| now - Duration::minutes(minutes)),
        state: state_filter,
        event,
    };
    let chosen: Vec<WebhookId> = match filter.webhook.as_str() {
        "" => owned.iter().map(|o| o.webhook.id).collect(),
        raw => vec![load_webhook(&state, &admin, raw).await?.webhook.id],
    };
    let names = names(&owned);
    let records = state.store.site_deliveries(site, &chosen, &query).await?;
    let older = (records.len() == PAGE_SIZE as usize)
        .then(|| records.last())
        .flatten()
        .map(|last| view::older_link(&filter_pairs(&filter), last.created_at));
    let deliveries: Vec<DeliveryView> = records.iter().map(|r| delivery_view(r, &names)).collect();
    let webhooks: Vec<_> = owned
        .iter()
        .map(|o| minijinja::context! { id => o.webhook.id.to_string(), name => o.webhook.name.as_str() })
        .collect();
    let states = ["pending", "paused", "delivered", "failed"];
    let events: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.api_name()).collect();
    let windows: Vec<_> = WINDOWS
        .iter()
        .map(|(value, label, _)| minijinja::context! { value => ser(&value), label => ser(&label) })
        .collect();
    filter.event = event
        .map(|kind| kind.api_name().to_owned())
        .unwrap_or_default();
    render(
        "deliveries.html",
        chrome.with(minijinja::context! { deliveries => ser(&deliveries), filter => ser(&filter), webhooks => ser(&webhooks), states => ser(&states), events => ser(&events), windows => ser(&windows), older => ser(&older) }),
    )
}

fn filter_pairs(filter: &LogFilter) -> Vec<(&'static str, String)> {
    vec![
        ("webhook", filter.webhook.clone()),
        ("state", filter.state.clone()),
        ("event", filter.event.clone()),
        ("since", filter.since.clone()),
    ]
}

/// `GET /dashboard/deliveries/{id}`: one delivery, its payload and every attempt.
pub(super) async fn delivery(
    State(state): State<AppState>,
    admin: Admin,
    Path(raw): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> DashResult<Page> {
    let site = admin.session.site.id;
    let missing = || DashError::NotFound(format!("There is no delivery '{raw}' on this site."));
    let id: DeliveryId = raw.parse().map_err(|_| missing())?;
    let record = state.store.delivery(site, id).await?.ok_or_else(missing)?;
    let chrome = Chrome::new(&state, &admin, query.notice).await?;
    let owned = state.store.webhooks(site).await?;
    let d = delivery_view(&record, &names(&owned));
    render(
        "delivery.html",
        chrome.with(minijinja::context! { d => ser(&d) }),
    )
}
