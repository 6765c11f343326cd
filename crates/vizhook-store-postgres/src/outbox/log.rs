//! The delivery log in PostgreSQL: a webhook's deliveries with their attempts, one delivery,
//! per-minute attempt counts and failure counts for the dashboard,
//! scheduling one again (`redeliver`, which wakes every node's dispatcher), and retention
//! (`prune`).

use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use time::OffsetDateTime;
use vizhook_core::{DeliveryId, EventKind, SiteId, WebhookId};
use vizhook_store::{
    AttemptRow, DeliveryQuery, DeliveryRecord, DeliveryState, MinuteStats, PruneStats, StoreError,
    StoreResult,
};

use crate::convert::{db_error, from_millis, millis, parse};

/// The delivery log's rows, newest first, with their attempts.
macro_rules! select_deliveries {
    ($clause:literal) => {
        concat!(
            "SELECT d.id, d.event_id, d.webhook_id, e.event_type, d.state, d.next_attempt_at, \
                    d.created_at, d.completed_at, e.payload \
             FROM deliveries d JOIN events e ON e.id = d.event_id ",
            $clause
        )
    };
}

pub(crate) async fn deliveries(
    pool: &PgPool,
    site: SiteId,
    webhook: WebhookId,
    query: &DeliveryQuery,
) -> StoreResult<Vec<DeliveryRecord>> {
    let rows = sqlx::query(select_deliveries!(
        "WHERE d.site_id = $1 AND d.webhook_id = $2 AND d.created_at < $3 AND d.created_at >= $4 \
           AND ($5::text IS NULL OR d.state = $5) AND ($6::text IS NULL OR e.event_type = $6) \
         ORDER BY d.created_at DESC, d.id LIMIT $7"
    ))
    .bind(site.to_string())
    .bind(webhook.to_string())
    .bind(query.before.map_or(i64::MAX, millis))
    .bind(query.since.map_or(i64::MIN, millis))
    .bind(query.state.map(DeliveryState::as_str))
    .bind(query.event.map(EventKind::api_name))
    .bind(i64::from(query.limit))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    with_attempts(pool, rows).await
}

pub(crate) async fn delivery(
    pool: &PgPool,
    site: SiteId,
    id: DeliveryId,
) -> StoreResult<Option<DeliveryRecord>> {
    let rows = sqlx::query(select_deliveries!("WHERE d.site_id = $1 AND d.id = $2"))
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    Ok(with_attempts(pool, rows).await?.pop())
}

fn record_from_row(row: &PgRow) -> StoreResult<DeliveryRecord> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let state = text(4)?;
    let state = DeliveryState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state}")))?;
    Ok(DeliveryRecord {
        id: parse("delivery id", &text(0)?)?,
        event_id: parse("event id", &text(1)?)?,
        webhook_id: parse("webhook id", &text(2)?)?,
        event_type: parse("event type", &text(3)?)?,
        state,
        next_attempt_at: match state {
            DeliveryState::Pending | DeliveryState::Paused => {
                Some(from_millis(row.try_get(5).map_err(db_error)?)?)
            }
            DeliveryState::Delivered | DeliveryState::Failed => None,
        },
        created_at: from_millis(row.try_get(6).map_err(db_error)?)?,
        completed_at: row
            .try_get::<Option<i64>, _>(7)
            .map_err(db_error)?
            .map(from_millis)
            .transpose()?,
        payload: text(8)?,
        attempts: Vec::new(),
    })
}

fn attempt_from_row(row: &PgRow) -> StoreResult<(DeliveryId, AttemptRow)> {
    let id: DeliveryId = parse(
        "delivery id",
        &row.try_get::<String, _>(0).map_err(db_error)?,
    )?;
    let attempt = AttemptRow {
        number: u32::try_from(row.try_get::<i32, _>(1).map_err(db_error)?).unwrap_or(0),
        started_at: from_millis(row.try_get(2).map_err(db_error)?)?,
        latency_ms: u32::try_from(row.try_get::<i64, _>(3).map_err(db_error)?).unwrap_or(0),
        status: row
            .try_get::<Option<i32>, _>(4)
            .map_err(db_error)?
            .and_then(|s| u16::try_from(s).ok()),
        error: row.try_get(5).map_err(db_error)?,
        response_excerpt: row.try_get(6).map_err(db_error)?,
    };
    Ok((id, attempt))
}

/// The deliveries of `rows`, each with its attempts (one query for all of them).
/// Attempts of a webhook's deliveries created since `since`, by the minute they started.
pub(crate) async fn attempt_stats(
    pool: &PgPool,
    site: SiteId,
    webhook: WebhookId,
    since: OffsetDateTime,
) -> StoreResult<Vec<MinuteStats>> {
    let rows: Vec<(i64, i64, i64, f64, i64)> = sqlx::query_as(
        "SELECT a.started_at / 60000, count(*), \
                sum(CASE WHEN a.status BETWEEN 200 AND 299 THEN 1 ELSE 0 END)::bigint, \
                avg(a.latency_ms)::float8, max(a.latency_ms) \
         FROM deliveries d JOIN attempts a ON a.delivery_id = d.id \
         WHERE d.webhook_id = $1 AND d.site_id = $2 AND d.created_at >= $3 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(webhook.to_string())
    .bind(site.to_string())
    .bind(millis(since))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.into_iter()
        .map(|(minute, attempts, succeeded, mean, max)| {
            Ok(MinuteStats {
                minute: from_millis(minute.saturating_mul(60_000))?,
                attempts: count(attempts),
                succeeded: count(succeeded),
                mean_latency_ms: count(mean.round() as i64),
                max_latency_ms: count(max),
            })
        })
        .collect()
}

pub(crate) async fn failure_counts(
    pool: &PgPool,
    site: SiteId,
) -> StoreResult<Vec<(WebhookId, u32)>> {
    let rows: Vec<(String, i32)> =
        sqlx::query_as("SELECT id, consecutive_failures FROM webhooks WHERE site_id = $1")
            .bind(site.to_string())
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
    rows.into_iter()
        .map(|(id, failures)| Ok((parse("webhook id", &id)?, count(i64::from(failures)))))
        .collect()
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

async fn with_attempts(pool: &PgPool, rows: Vec<PgRow>) -> StoreResult<Vec<DeliveryRecord>> {
    let mut records = rows
        .iter()
        .map(record_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    if records.is_empty() {
        return Ok(records);
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
    let attempts = sqlx::query(
        "SELECT delivery_id, number, started_at, latency_ms, status, error, response_excerpt \
         FROM attempts WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, number",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    for row in &attempts {
        let (id, attempt) = attempt_from_row(row)?;
        if let Some(record) = records.iter_mut().find(|r| r.id == id) {
            record.attempts.push(attempt);
        }
    }
    Ok(records)
}

/// Schedules a delivery again, now, with a fresh retry schedule: pending if its webhook is
/// enabled, paused otherwise. The webhook's row is share-locked first, so a concurrent
/// disabling either sees this delivery pending (and pauses it) or is seen here (and it is
/// paused): a disabled webhook never keeps a pending delivery.
pub(crate) async fn redeliver(
    conn: &mut PgConnection,
    site: SiteId,
    id: DeliveryId,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let enabled: Option<bool> = sqlx::query_scalar(
        "SELECT w.enabled FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.site_id = $1 AND d.id = $2 FOR SHARE OF w",
    )
    .bind(site.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(enabled) = enabled else {
        return Err(StoreError::NotFound);
    };
    let result = sqlx::query(
        "UPDATE deliveries SET state = $1, round_attempts = 0, next_attempt_at = $2, \
            completed_at = NULL WHERE site_id = $3 AND id = $4",
    )
    .bind(if enabled { "pending" } else { "paused" })
    .bind(millis(now))
    .bind(site.to_string())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(enabled)
}

pub(crate) async fn prune(
    conn: &mut PgConnection,
    before: OffsetDateTime,
    limit: u32,
) -> StoreResult<PruneStats> {
    let before = millis(before);
    // The partial index on completed_at holds exactly the finished states. Nodes sweeping at
    // once share the work: a step skips the rows another node's step holds. The conditions are
    // repeated outside the step's subquery, which reads a snapshot: a delivery redelivered
    // meanwhile is pending again when the delete gets its row, and is rechecked and kept.
    // The step's rows are picked once, in a materialised CTE: as an `IN` subquery, a locking
    // `LIMIT` may run again for the delete and pick more rows than the limit.
    let deliveries = sqlx::query(
        "WITH step AS MATERIALIZED \
           (SELECT id FROM deliveries WHERE state IN ('delivered', 'failed') AND completed_at < $1 \
            ORDER BY completed_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         DELETE FROM deliveries d USING step WHERE d.id = step.id \
           AND d.state IN ('delivered', 'failed') AND d.completed_at < $1",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    let events = sqlx::query(
        "WITH step AS MATERIALIZED \
           (SELECT id FROM events WHERE created_at < $1 \
              AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id) \
            ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         DELETE FROM events e USING step WHERE e.id = step.id",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    Ok(PruneStats { deliveries, events })
}
