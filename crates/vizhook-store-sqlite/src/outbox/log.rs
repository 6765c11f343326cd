//! The delivery log in SQLite: a webhook's deliveries with their attempts, one delivery,
//! scheduling one again (`redeliver`), and retention (`prune`).

use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
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

/// A page of one webhook's delivery log, newest first, from `before` back: the index on
/// `(webhook_id, created_at)` gives the rows in order, so a page deep in the log costs what the
/// newest does.
pub(crate) const LOG_PAGE: &str = select_deliveries!(
    "WHERE d.site_id = ?1 AND d.webhook_id = ?2 AND d.created_at < ?3 AND d.created_at >= ?4 \
       AND (?5 IS NULL OR d.state = ?5) AND (?6 IS NULL OR e.event_type = ?6) \
     ORDER BY d.created_at DESC, d.id LIMIT ?7"
);

pub(crate) async fn deliveries(
    pool: &SqlitePool,
    site: SiteId,
    webhook: WebhookId,
    query: DeliveryQuery,
) -> StoreResult<Vec<DeliveryRecord>> {
    let rows = sqlx::query(LOG_PAGE)
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
    pool: &SqlitePool,
    site: SiteId,
    id: DeliveryId,
) -> StoreResult<Option<DeliveryRecord>> {
    let rows = sqlx::query(select_deliveries!("WHERE d.site_id = ? AND d.id = ?"))
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    Ok(with_attempts(pool, rows).await?.pop())
}

/// Attempts of a webhook's deliveries created since `since`, by the minute they started.
pub(crate) async fn attempt_stats(
    pool: &SqlitePool,
    site: SiteId,
    webhook: WebhookId,
    since: OffsetDateTime,
) -> StoreResult<Vec<MinuteStats>> {
    let rows: Vec<(i64, i64, i64, f64, i64)> = sqlx::query_as(
        "SELECT a.started_at / 60000, count(*), \
                sum(CASE WHEN a.status BETWEEN 200 AND 299 THEN 1 ELSE 0 END), \
                avg(a.latency_ms), max(a.latency_ms) \
         FROM deliveries d JOIN attempts a ON a.delivery_id = d.id \
         WHERE d.webhook_id = ? AND d.site_id = ? AND d.created_at >= ? \
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
    pool: &SqlitePool,
    site: SiteId,
) -> StoreResult<Vec<(WebhookId, u32)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, consecutive_failures FROM webhooks WHERE site_id = ?")
            .bind(site.to_string())
            .fetch_all(pool)
            .await
            .map_err(db_error)?;
    rows.into_iter()
        .map(|(id, failures)| Ok((parse("webhook id", &id)?, count(failures))))
        .collect()
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

async fn with_attempts(
    pool: &SqlitePool,
    rows: Vec<SqliteRow>,
) -> StoreResult<Vec<DeliveryRecord>> {
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
        let state = text(4)?;
        let state = DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state}")))?;
        records.push(DeliveryRecord {
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
        });
    }
    if records.is_empty() {
        return Ok(records);
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
    let attempts = sqlx::query(
        "SELECT delivery_id, number, started_at, latency_ms, status, error, response_excerpt \
         FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, number",
    )
    .bind(serde_json::to_string(&ids).unwrap_or_default())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    for row in &attempts {
        let id: DeliveryId = parse(
            "delivery id",
            &row.try_get::<String, _>(0).map_err(db_error)?,
        )?;
        let attempt = AttemptRow {
            number: u32::try_from(row.try_get::<i64, _>(1).map_err(db_error)?).unwrap_or(0),
            started_at: from_millis(row.try_get(2).map_err(db_error)?)?,
            latency_ms: u32::try_from(row.try_get::<i64, _>(3).map_err(db_error)?).unwrap_or(0),
            status: row
                .try_get::<Option<i64>, _>(4)
                .map_err(db_error)?
                .and_then(|s| u16::try_from(s).ok()),
            error: row.try_get(5).map_err(db_error)?,
            response_excerpt: row.try_get(6).map_err(db_error)?,
        };
        if let Some(record) = records.iter_mut().find(|r| r.id == id) {
            record.attempts.push(attempt);
        }
    }
    Ok(records)
}

pub(crate) async fn redeliver(
    conn: &mut SqliteConnection,
    site: SiteId,
    id: DeliveryId,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE deliveries SET \
            state = CASE WHEN (SELECT enabled FROM webhooks w WHERE w.id = deliveries.webhook_id) \
                         THEN 'pending' ELSE 'paused' END, \
            round_attempts = 0, next_attempt_at = ?, completed_at = NULL WHERE site_id = ? AND id = ?",
    )
    .bind(millis(now))
    .bind(site.to_string())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Finished deliveries past retention, oldest first, a step's worth: the partial index on
/// `completed_at` holds exactly these states, so the step reads only what it deletes however
/// large the table is (`state <> 'pending'` would not match the index and scan every row).
pub(crate) const PRUNE_DELIVERIES: &str = "DELETE FROM deliveries WHERE rowid IN \
    (SELECT rowid FROM deliveries WHERE state IN ('delivered', 'failed') AND completed_at < ?1 \
     ORDER BY completed_at LIMIT ?2)";

/// Events past retention that no delivery refers to any more, a step's worth, by the index on
/// `created_at`.
pub(crate) const PRUNE_EVENTS: &str = "DELETE FROM events WHERE rowid IN \
    (SELECT rowid FROM events WHERE created_at < ?1 \
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id) \
     ORDER BY created_at LIMIT ?2)";

pub(crate) async fn prune(
    conn: &mut SqliteConnection,
    before: OffsetDateTime,
    limit: u32,
) -> StoreResult<PruneStats> {
    let before = millis(before);
    let mut delete = async |statement: &'static str| {
        sqlx::query(statement)
            .bind(before)
            .bind(i64::from(limit))
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected())
            .map_err(db_error)
    };
    let deliveries = delete(PRUNE_DELIVERIES).await?;
    let events = delete(PRUNE_EVENTS).await?;
    Ok(PruneStats { deliveries, events })
}
