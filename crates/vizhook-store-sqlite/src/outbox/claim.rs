//! Leasing due deliveries in SQLite: a lease is the delivery's `next_attempt_at`, moved to the
//! lease's end, so a delivery whose claimer died falls due again; and the next due time.

use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use time::OffsetDateTime;
use vizhook_store::{ClaimRequest, ClaimedDelivery, QueueGauges, StoreResult};

use crate::{
    convert::{db_error, from_millis, millis, parse},
    rows::run_chunked,
};

pub(crate) async fn claim(
    conn: &mut SqliteConnection,
    request: ClaimRequest,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let exclude: Vec<String> = request.exclude.iter().map(ToString::to_string).collect();
    // The lease is the next attempt time: if the claimer dies, the delivery falls due again
    // when the lease ends. Only enabled webhooks have 'pending' deliveries.
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE deliveries SET next_attempt_at = ?1 WHERE id IN ( \
           SELECT id FROM deliveries \
           WHERE state = 'pending' AND next_attempt_at <= ?2 \
             AND webhook_id NOT IN (SELECT value FROM json_each(?3)) \
           ORDER BY next_attempt_at LIMIT ?4) \
         RETURNING id",
    )
    .bind(millis(request.lease_until))
    .bind(millis(request.now))
    .bind(serde_json::to_string(&exclude).unwrap_or_else(|_| "[]".to_owned()))
    .bind(i64::from(request.limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = run_chunked(
        conn,
        &ids,
        "(?)",
        |values| {
            format!(
                "SELECT d.id, d.event_id, d.webhook_id, d.site_id, d.attempts, d.round_attempts, \
                        w.url, w.signing_secret, e.payload \
                 FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 JOIN events e ON e.id = d.event_id WHERE d.id IN (VALUES {values})"
            )
        },
        |query, id| query.bind(id.clone()),
    )
    .await
    .map_err(db_error)?;
    rows.iter().map(claimed_from_row).collect()
}

fn claimed_from_row(row: &SqliteRow) -> StoreResult<ClaimedDelivery> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let count = |i: usize| {
        row.try_get::<i64, _>(i)
            .map_err(db_error)
            .map(|n| u32::try_from(n).unwrap_or(0))
    };
    Ok(ClaimedDelivery {
        id: parse("delivery id", &text(0)?)?,
        event_id: parse("event id", &text(1)?)?,
        webhook_id: parse("webhook id", &text(2)?)?,
        site_id: parse("site id", &text(3)?)?,
        attempt: count(4)? + 1,
        round_attempt: count(5)? + 1,
        url: text(6)?,
        signing_secret: row.try_get(7).map_err(db_error)?,
        payload: text(8)?.into_bytes(),
    })
}

pub(crate) async fn next_due(pool: &SqlitePool) -> StoreResult<Option<OffsetDateTime>> {
    let due: Option<i64> =
        sqlx::query_scalar("SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'")
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
    due.map(from_millis).transpose()
}

/// Pending deliveries, the earliest next attempt among them, and disabled webhooks.
pub(crate) async fn queue_gauges(pool: &SqlitePool) -> StoreResult<QueueGauges> {
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
