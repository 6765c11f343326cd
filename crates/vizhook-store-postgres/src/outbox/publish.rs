//! Publishing in PostgreSQL: events and, in the same transaction, one pending delivery per
//! enabled webhook that subscribes to each, as one `UNNEST` insert per table whatever the
//! batch's size; optionally leasing some of the new deliveries to the caller, as a claim would.
//! Deliveries left for any node's workers notify the outbox channel, on commit.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};
use uuid::Uuid;
use vizhook_core::{DeliveryId, WebhookId};
use vizhook_store::{
    ClaimRequest, ClaimedDelivery, Publication, PublishEvent, Published, StoreResult,
};

use crate::{
    convert::{db_error, millis, parse},
    wakes::{Wakes, notify},
};

/// Writes events and their deliveries; used by `publish_events` and by every content change
/// that fires events, inside that change's transaction.
pub(crate) async fn publish(
    conn: &mut PgConnection,
    wakes: &Wakes,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    Ok(publish_leasing(conn, wakes, events, None).await?.published)
}

/// Writes events and their deliveries, leasing up to `lease.limit` of the deliveries to the
/// caller: those are written with the lease as their next attempt time, exactly as a claim
/// leaves a delivery, and returned ready to send.
pub(crate) async fn publish_leasing(
    conn: &mut PgConnection,
    wakes: &Wakes,
    events: &[PublishEvent],
    lease: Option<&ClaimRequest>,
) -> StoreResult<Publication> {
    if events.is_empty() {
        return Ok(Publication::default());
    }
    let mut columns = EventColumns::default();
    for p in events {
        let e = &p.event;
        columns.id.push(e.id.to_string());
        columns.site.push(e.site_id.to_string());
        columns.kind.push(e.kind.api_name());
        columns.resource.push(e.resource.as_str());
        columns.name.push(&e.resource_name);
        columns.luid.push(&e.resource_luid);
        columns.at.push(millis(e.created_at));
        columns
            .payload
            .push(std::str::from_utf8(&p.payload).unwrap_or("{}"));
    }
    sqlx::query(
        "INSERT INTO events (id, site_id, event_type, resource, resource_name, resource_luid, \
         created_at, payload) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::bigint[], $8::text[])",
    )
    .bind(&columns.id)
    .bind(&columns.site)
    .bind(&columns.kind)
    .bind(&columns.resource)
    .bind(&columns.name)
    .bind(&columns.luid)
    .bind(&columns.at)
    .bind(&columns.payload)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;

    let mut kinds: Vec<(&str, &str)> = columns
        .site
        .iter()
        .map(String::as_str)
        .zip(columns.kind.iter().copied())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    let (sites, types): (Vec<&str>, Vec<&str>) = kinds.into_iter().unzip();
    let found = sqlx::query(
        "SELECT w.id, w.site_id, w.event, w.url, w.signing_secret FROM webhooks w \
         JOIN UNNEST($1::text[], $2::text[]) AS k (site_id, event) \
           ON w.site_id = k.site_id AND w.event = k.event \
         WHERE w.enabled",
    )
    .bind(&sites)
    .bind(&types)
    .fetch_all(&mut *conn)
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
    // Subscribers in a fixed order, so every delivery of a publication is inserted in the
    // same order of webhooks (and concurrent publications lock alike).
    for list in subscribers.values_mut() {
        list.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    }
    // How many deliveries may still be leased to the caller, and to which webhooks.
    let mut lease_room = lease.map_or(0, |l| l.limit as usize);
    let lease_until = lease.map(|l| millis(l.lease_until));

    let mut rows = DeliveryColumns::default();
    let mut published = Vec::with_capacity(events.len());
    let mut leased = Vec::new();
    let mut left_for_workers = false;
    for (i, p) in events.iter().enumerate() {
        let at = columns.at[i];
        let key = (columns.site[i].clone(), columns.kind[i].to_owned());
        let webhooks = subscribers.get(&key).map(Vec::as_slice).unwrap_or_default();
        for webhook in webhooks {
            // Time-ordered ids keep the deliveries index append-only.
            let id = Uuid::now_v7();
            let mut next = at;
            // Only what is due now: an injected event may carry a later time.
            if let (Some(lease), Some(until)) = (lease, lease_until)
                && lease_room > 0
                && at <= millis(lease.now)
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
            } else {
                left_for_workers = true;
            }
            rows.id.push(id.to_string());
            rows.event.push(&columns.id[i]);
            rows.webhook.push(&webhook.id);
            rows.site.push(&columns.site[i]);
            rows.next.push(next);
            rows.at.push(at);
        }
        published.push(Published {
            event_id: p.event.id,
            deliveries: u32::try_from(webhooks.len()).unwrap_or(u32::MAX),
        });
    }
    if !rows.id.is_empty() {
        sqlx::query(
            "INSERT INTO deliveries (id, event_id, webhook_id, site_id, state, \
             next_attempt_at, created_at) \
             SELECT id, event_id, webhook_id, site_id, 'pending', next_attempt_at, created_at \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
             $6::bigint[]) AS d (id, event_id, webhook_id, site_id, next_attempt_at, created_at)",
        )
        .bind(&rows.id)
        .bind(&rows.event)
        .bind(&rows.webhook)
        .bind(&rows.site)
        .bind(&rows.next)
        .bind(&rows.at)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    if left_for_workers {
        notify(conn, &wakes.outbox_channel).await?;
    }
    Ok(Publication { published, leased })
}

/// An enabled webhook subscribed to a published event.
struct Subscriber {
    id: String,
    webhook_id: WebhookId,
    url: String,
    signing_secret: Option<String>,
}

/// A batch of events, column by column, as `UNNEST` takes them.
#[derive(Default)]
struct EventColumns<'a> {
    id: Vec<String>,
    site: Vec<String>,
    kind: Vec<&'static str>,
    resource: Vec<&'static str>,
    name: Vec<&'a str>,
    luid: Vec<&'a str>,
    at: Vec<i64>,
    payload: Vec<&'a str>,
}

/// A batch of deliveries, column by column.
#[derive(Default)]
struct DeliveryColumns<'a> {
    id: Vec<String>,
    event: Vec<&'a str>,
    webhook: Vec<&'a str>,
    site: Vec<&'a str>,
    /// The next attempt: at once, or when the caller's lease ends.
    next: Vec<i64>,
    at: Vec<i64>,
}
