//! Leasing due deliveries in PostgreSQL: a lease is the delivery's `next_attempt_at`, moved to
//! the lease's end, so a delivery whose claimer died falls due again for every node. Claimers
//! lock the rows they lease with `FOR UPDATE SKIP LOCKED`, so concurrent claims on any node
//! never share a delivery and never wait for each other. Also the next due time.

use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use time::OffsetDateTime;
use vizhook_store::{ClaimRequest, ClaimedDelivery, QueueGauges, StoreResult};

use crate::convert::{db_error, from_millis, millis, parse};

/// Leases up to `request.limit` due deliveries of enabled webhooks (none of
/// `request.exclude`), oldest first. Attempts are counted when recorded, not when claimed, so
/// a lease that runs out unrecorded does not count as an attempt.
pub(crate) async fn claim(
    conn: &mut PgConnection,
    request: &ClaimRequest,
) -> StoreResult<Vec<ClaimedDelivery>> {
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let exclude: Vec<String> = request.exclude.iter().map(ToString::to_string).collect();
    // Only enabled webhooks have 'pending' deliveries; the join on `enabled` also keeps back a
    // delivery that a publication raced into a webhook being disabled. The update finds the
    // locked rows by their tuple ids (stable while locked), as an array: joined on `id`, the
    // planner hashes the whole table (a claim then costs as much as there are deliveries).
    let rows = sqlx::query(
        "WITH due AS MATERIALIZED ( \
           SELECT d.ctid AS row, d.next_attempt_at AS due_at \
           FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
           WHERE d.state = 'pending' AND d.next_attempt_at <= $2 AND w.enabled \
             AND d.webhook_id <> ALL($3::text[]) \
           ORDER BY d.next_attempt_at LIMIT $4 \
           FOR UPDATE OF d SKIP LOCKED) \
         UPDATE deliveries d SET next_attempt_at = $1 \
         FROM due, webhooks w, events e \
         WHERE d.ctid = ANY(ARRAY(SELECT row FROM due)) AND d.ctid = due.row \
           AND w.id = d.webhook_id AND e.id = d.event_id \
         RETURNING d.id, d.event_id, d.webhook_id, d.site_id, d.attempts, d.round_attempts, \
                   w.url, w.signing_secret, e.payload, due.due_at",
    )
    .bind(millis(request.lease_until))
    .bind(millis(request.now))
    .bind(&exclude)
    .bind(i64::from(request.limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<i64, _>(9).map_err(db_error)?,
                claimed_from_row(row)?,
            ))
        })
        .collect::<StoreResult<Vec<(i64, ClaimedDelivery)>>>()?;
    // Oldest first, as they were chosen (RETURNING keeps no order).
    claimed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Ok(claimed.into_iter().map(|(_, c)| c).collect())
}

fn claimed_from_row(row: &PgRow) -> StoreResult<ClaimedDelivery> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let count = |i: usize| {
        row.try_get::<i32, _>(i)
            .map_err(db_error)
            .map(|n| u32::try_from(n).unwrap_or(0))
    };
    Ok(ClaimedDelivery {
        id: parse("delivery id", &text(0)?)?,
        event_id: parse("event id", &text(1)?)?,
        webhook_id: parse("webhook id", &text(2)?)?,
        site_id: parse("site id", &text(3)?)?,
        attempt: count(4)?.saturating_add(1),
        round_attempt: count(5)?.saturating_add(1),
        url: text(6)?,
        signing_secret: row.try_get(7).map_err(db_error)?,
        payload: text(8)?.into_bytes(),
    })
}

/// When the next pending delivery of an enabled webhook falls due, if any.
pub(crate) async fn next_due(pool: &PgPool) -> StoreResult<Option<OffsetDateTime>> {
    let due: Option<i64> = sqlx::query_scalar(
        "SELECT min(d.next_attempt_at) FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.state = 'pending' AND w.enabled",
    )
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    due.map(from_millis).transpose()
}

/// Pending deliveries, the earliest next attempt among them, and disabled webhooks.
pub(crate) async fn queue_gauges(pool: &PgPool) -> StoreResult<QueueGauges> {
    let (pending, oldest, disabled): (i64, Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending'), \
                (SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'), \
                (SELECT count(*) FROM webhooks WHERE NOT enabled)",
    )
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    Ok(QueueGauges {
        pending: u64::try_from(pending).unwrap_or(0),
        oldest_due: oldest.map(from_millis).transpose()?,
        disabled_webhooks: u64::try_from(disabled).unwrap_or(0),
    })
}
