//! Publishing in SQLite: events and, in the same transaction, one pending delivery per enabled
//! webhook that subscribes to each, as multi-row statements; optionally leasing some of the new
//! deliveries to the caller, as a claim would.

use std::collections::HashMap;

use sqlx::{Row, SqliteConnection};
use uuid::Uuid;
use vizhook_core::{DeliveryId, WebhookId};
use vizhook_store::{
    ClaimRequest, ClaimedDelivery, Publication, PublishEvent, Published, StoreResult,
};

use crate::{
    convert::{db_error, millis, parse},
    rows::run_chunked,
};

/// Writes events and their deliveries; used by `publish_events` and by every content change
/// that fires events, inside that change's transaction.
pub(crate) async fn publish(
    conn: &mut SqliteConnection,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    Ok(publish_leasing(conn, events, None).await?.published)
}

/// Writes events and their deliveries, leasing up to `lease.limit` of the deliveries to the
/// caller: those are written with the lease as their next attempt time, exactly as a claim
/// leaves a delivery, and returned ready to send.
pub(crate) async fn publish_leasing(
    conn: &mut SqliteConnection,
    events: &[PublishEvent],
    lease: Option<&ClaimRequest>,
) -> StoreResult<Publication> {
    if events.is_empty() {
        return Ok(Publication::default());
    }
    let rows: Vec<EventRow<'_>> = events
        .iter()
        .map(|p| {
            let e = &p.event;
            EventRow {
                id: e.id.to_string(),
                site: e.site_id.to_string(),
                kind: e.kind.api_name(),
                resource: e.resource.as_str(),
                name: &e.resource_name,
                luid: &e.resource_luid,
                at: millis(e.created_at),
                payload: std::str::from_utf8(&p.payload).unwrap_or("{}"),
            }
        })
        .collect();
    run_chunked(
        conn,
        &rows,
        "(?, ?, ?, ?, ?, ?, ?, ?)",
        |values| {
            format!(
                "INSERT INTO events (id, site_id, event_type, resource, resource_name, \
                 resource_luid, created_at, payload) VALUES {values}"
            )
        },
        |query, row| {
            query
                .bind(row.id.clone())
                .bind(row.site.clone())
                .bind(row.kind)
                .bind(row.resource)
                .bind(row.name.to_owned())
                .bind(row.luid.to_owned())
                .bind(row.at)
                .bind(row.payload.to_owned())
        },
    )
    .await
    .map_err(db_error)?;

    let mut kinds: Vec<(&str, &str)> = rows.iter().map(|r| (r.site.as_str(), r.kind)).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let found = run_chunked(
        conn,
        &kinds,
        "(?, ?)",
        |values| {
            format!(
                "SELECT w.id, w.site_id, w.event, w.url, w.signing_secret FROM webhooks w \
                 WHERE w.enabled = 1 AND (w.site_id, w.event) IN (VALUES {values})"
            )
        },
        |query, (site, kind)| query.bind(site.to_string()).bind(*kind),
    )
    .await
    .map_err(db_error)?;
    let mut subscribers: HashMap<(String, String), Vec<Subscriber>> = HashMap::new();
    for row in &found {
        let key = (
            row.try_get::<String, _>(1).map_err(db_error)?,
            row.try_get::<String, _>(2).map_err(db_error)?,
        );
        let id: String = row.try_get(0).map_err(db_error)?;
        subscribers.entry(key).or_default().push(Subscriber {
            webhook_id: parse("webhook id", &id)?,
            id,
            url: row.try_get(3).map_err(db_error)?,
            signing_secret: row.try_get(4).map_err(db_error)?,
        });
    }
    // How many deliveries may still be leased to the caller, and to which webhooks.
    let mut lease_room = lease.map_or(0, |l| l.limit as usize);
    let lease_until = lease.map(|l| millis(l.lease_until));

    let mut deliveries = Vec::new();
    let mut published = Vec::with_capacity(events.len());
    let mut leased = Vec::new();
    for (p, row) in events.iter().zip(&rows) {
        let key = (row.site.clone(), row.kind.to_owned());
        let webhooks = subscribers.get(&key).map(Vec::as_slice).unwrap_or_default();
        for webhook in webhooks {
            // Time-ordered ids keep the deliveries index append-only.
            let id = Uuid::now_v7();
            let mut next = row.at;
            // Only what is due now: an injected event may carry a later time.
            if let (Some(lease), Some(until)) = (lease, lease_until)
                && lease_room > 0
                && row.at <= millis(lease.now)
                && !lease.exclude.contains(&webhook.webhook_id)
            {
                lease_room -= 1;
                next = until;
                leased.push(ClaimedDelivery {
                    id: DeliveryId::from_uuid(id),
                    event_id: p.event.id,
                    webhook_id: webhook.webhook_id,
                    site_id: p.event.site_id,
                    url: webhook.url.clone(),
                    signing_secret: webhook.signing_secret.clone(),
                    payload: p.payload.clone(),
                    attempt: 1,
                    round_attempt: 1,
                });
            }
            deliveries.push(DeliveryRow {
                id: id.to_string(),
                event: &row.id,
                webhook: &webhook.id,
                site: &row.site,
                next,
                at: row.at,
            });
        }
        published.push(Published {
            event_id: p.event.id,
            deliveries: u32::try_from(webhooks.len()).unwrap_or(u32::MAX),
        });
    }
    run_chunked(
        conn,
        &deliveries,
        "(?, ?, ?, ?, 'pending', ?, ?)",
        |values| {
            format!(
                "INSERT INTO deliveries (id, event_id, webhook_id, site_id, state, \
                 next_attempt_at, created_at) VALUES {values}"
            )
        },
        |query, d| {
            query
                .bind(d.id.clone())
                .bind(d.event.to_owned())
                .bind(d.webhook.to_owned())
                .bind(d.site.to_owned())
                .bind(d.next)
                .bind(d.at)
        },
    )
    .await
    .map_err(db_error)?;
    Ok(Publication { published, leased })
}

/// An enabled webhook subscribed to a published event.
struct Subscriber {
    id: String,
    webhook_id: WebhookId,
    url: String,
    signing_secret: Option<String>,
}

/// An event as a batch row.
struct EventRow<'a> {
    id: String,
    site: String,
    kind: &'static str,
    resource: &'static str,
    name: &'a str,
    luid: &'a str,
    at: i64,
    payload: &'a str,
}

struct DeliveryRow<'a> {
    id: String,
    event: &'a str,
    webhook: &'a str,
    site: &'a str,
    /// The next attempt: at once, or when the caller's lease ends.
    next: i64,
    at: i64,
}
