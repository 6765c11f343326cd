//! Recording attempts in PostgreSQL, with Tableau's failure accounting, and pausing a
//! webhook's deliveries.
//!
//! Several nodes may record attempts of one webhook at once, so the count of consecutive
//! failed deliveries is kept under the webhook's row lock: a batch first locks the rows of its
//! webhooks whose count may change in id order (one order for every recorder, so recorders
//! never deadlock, and the same webhook-before-delivery order as disabling a webhook; a
//! healthy webhook with only deliveries to record is not locked), then moves its deliveries,
//! then writes the counts it computed from the locked rows. Only the batch that disables a
//! webhook writes its notice (`disable.rs`): any later one finds it disabled.
//!
//! A record applies only to the attempt its delivery is waiting for: a delivery that is still
//! undelivered and has `number - 1` recorded attempts. A record that lost its lease and whose
//! attempt another node recorded first (both sent attempt `number`) is dropped, delivery move,
//! attempt row and failure count alike, so the log, the counts and the retry schedule stay
//! those of one attempt.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, Row};
use vizhook_core::WebhookId;
use vizhook_store::{AttemptNext, AttemptRecord, DisabledWebhook, FailurePolicy, StoreResult};

use super::disable::{LockedWebhook, disable};
use crate::convert::{db_error, millis};

pub(crate) async fn record(
    conn: &mut PgConnection,
    records: &[AttemptRecord],
    failure: &FailurePolicy,
) -> StoreResult<Vec<DisabledWebhook>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    // One record per delivery: a delivery waits for one attempt at a time.
    let mut seen = HashSet::new();
    let records: Vec<&AttemptRecord> = records
        .iter()
        .filter(|r| seen.insert(r.delivery_id))
        .collect();
    let locked = lock_webhooks(conn, &records).await?;
    let applied = move_deliveries(conn, &records, failure).await?;
    if locked.is_empty() {
        return Ok(Vec::new());
    }

    // Per webhook, in record order: whether a success reset the count, and failures since.
    let mut accounting: Vec<(WebhookId, bool, u32)> = Vec::new();
    for r in applied.iter().map(|&i| records[i]) {
        let position = match accounting.iter().position(|(id, _, _)| *id == r.webhook_id) {
            Some(position) => position,
            None => {
                accounting.push((r.webhook_id, false, 0));
                accounting.len() - 1
            }
        };
        let entry = &mut accounting[position];
        match r.next {
            AttemptNext::Delivered => *entry = (r.webhook_id, true, 0),
            AttemptNext::Failed => entry.2 = entry.2.saturating_add(1),
            AttemptNext::RetryAt(_) => {}
        }
    }
    let mut counts = Counts::default();
    let mut disabled = Vec::new();
    for (id, reset, failed) in accounting {
        let key = id.to_string();
        let Some(webhook) = locked.get(&key) else {
            continue;
        };
        if !reset && failed == 0 {
            continue;
        }
        if reset && failed == 0 && webhook.failures == 0 {
            continue;
        }
        let count = if reset {
            failed
        } else {
            webhook.failures.saturating_add(failed)
        };
        let disables =
            failure.disable_after > 0 && webhook.enabled && count >= failure.disable_after;
        if disables {
            disabled.push((id, webhook));
        }
        counts.id.push(key);
        counts.count.push(i32::try_from(count).unwrap_or(i32::MAX));
        counts.disable.push(disables);
    }
    if counts.id.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query(
        "UPDATE webhooks w SET consecutive_failures = u.count, \
            enabled = w.enabled AND NOT u.disable, \
            status_change_reason = CASE WHEN u.disable THEN $4 ELSE w.status_change_reason END, \
            updated_at = CASE WHEN u.disable THEN $5 ELSE w.updated_at END \
         FROM UNNEST($1::text[], $2::int[], $3::bool[]) AS u (id, count, disable) \
         WHERE w.id = u.id",
    )
    .bind(&counts.id)
    .bind(&counts.count)
    .bind(&counts.disable)
    .bind(&failure.reason)
    .bind(millis(failure.now))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if disabled.is_empty() {
        return Ok(Vec::new());
    }
    disable(conn, &disabled, failure).await
}

/// Locks the rows of the records' webhooks whose accounting may change, in id order, and reads
/// their state.
///
/// A webhook whose records are all deliveries (no failure, no retry) and whose count is 0
/// already is neither locked nor written: its count stays 0 whatever order its records take
/// among other nodes' (they are ordered before any concurrent failure, which their
/// transaction did not see), so a healthy webhook's recorders on several nodes do not wait
/// for each other's transactions.
async fn lock_webhooks(
    conn: &mut PgConnection,
    records: &[&AttemptRecord],
) -> StoreResult<HashMap<String, LockedWebhook>> {
    let mut ids: Vec<String> = records.iter().map(|r| r.webhook_id.to_string()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut troubled: HashSet<String> = records
        .iter()
        .filter(|r| !matches!(r.next, AttemptNext::Delivered))
        .map(|r| r.webhook_id.to_string())
        .collect();
    if troubled.len() < ids.len() {
        // Webhooks with only deliveries: only those with failures to reset need the lock.
        let counted: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM webhooks WHERE id = ANY($1::text[]) AND consecutive_failures > 0",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        troubled.extend(counted);
        ids.retain(|id| troubled.contains(id));
    }
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // NO KEY UPDATE: publications' foreign-key checks (KEY SHARE) do not wait for it.
    let rows = sqlx::query(
        "SELECT id, site_id, name, owner_id, enabled, consecutive_failures FROM webhooks \
         WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut locked = HashMap::with_capacity(rows.len());
    for row in &rows {
        let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
        locked.insert(
            text(0)?,
            LockedWebhook {
                site_id: text(1)?,
                name: text(2)?,
                owner_id: text(3)?,
                enabled: row.try_get(4).map_err(db_error)?,
                failures: u32::try_from(row.try_get::<i32, _>(5).map_err(db_error)?).unwrap_or(0),
            },
        );
    }
    Ok(locked)
}

/// Moves each delivery on and writes its attempt, in one statement; returns the positions in
/// `records` of the records that applied. A delivery to be retried stays paused if its
/// webhook was disabled while it was in flight (or is disabled now).
async fn move_deliveries(
    conn: &mut PgConnection,
    records: &[&AttemptRecord],
    failure: &FailurePolicy,
) -> StoreResult<Vec<usize>> {
    let now = millis(failure.now);
    let mut rows = AttemptColumns::default();
    for r in records {
        let (state, next, done) = match r.next {
            AttemptNext::Delivered => ("delivered", None, Some(now)),
            AttemptNext::RetryAt(at) => ("pending", Some(millis(at)), None),
            AttemptNext::Failed => ("failed", None, Some(now)),
        };
        rows.delivery.push(r.delivery_id.to_string());
        rows.webhook.push(r.webhook_id.to_string());
        rows.number
            .push(i32::try_from(r.number).unwrap_or(i32::MAX));
        rows.state.push(state);
        rows.next.push(next);
        rows.done.push(done);
        rows.started.push(millis(r.started_at));
        rows.latency.push(i64::from(r.latency_ms));
        rows.status.push(r.status.map(i32::from));
        rows.error.push(r.error.as_deref());
        rows.excerpt.push(r.response_excerpt.as_deref());
    }
    let applied: Vec<i64> = sqlx::query_scalar(
        "WITH j AS MATERIALIZED ( \
           SELECT * FROM UNNEST($1::text[], $2::text[], $3::int[], $4::text[], $5::bigint[], \
             $6::bigint[], $7::bigint[], $8::bigint[], $9::int[], $10::text[], $11::text[]) \
           WITH ORDINALITY AS j (delivery_id, webhook_id, number, state, next_at, done_at, \
             started_at, latency_ms, status, error, excerpt, i)), \
         moved AS ( \
           UPDATE deliveries d SET \
             state = CASE WHEN j.state = 'pending' AND (d.state = 'paused' OR NOT w.enabled) \
                          THEN 'paused' ELSE j.state END, \
             next_attempt_at = coalesce(j.next_at, d.next_attempt_at), \
             attempts = d.attempts + 1, \
             round_attempts = d.round_attempts + 1, \
             completed_at = j.done_at \
           FROM j JOIN webhooks w ON w.id = j.webhook_id \
           WHERE d.id = j.delivery_id AND d.webhook_id = j.webhook_id \
             AND d.state IN ('pending', 'paused') AND d.attempts = j.number - 1 \
           RETURNING j.i), \
         written AS ( \
           INSERT INTO attempts (delivery_id, number, started_at, latency_ms, status, error, \
             response_excerpt) \
           SELECT j.delivery_id, j.number, j.started_at, j.latency_ms, j.status, j.error, \
             j.excerpt FROM j JOIN moved ON moved.i = j.i \
           ON CONFLICT (delivery_id, number) DO UPDATE SET started_at = excluded.started_at, \
             latency_ms = excluded.latency_ms, status = excluded.status, \
             error = excluded.error, response_excerpt = excluded.response_excerpt) \
         SELECT i FROM moved ORDER BY i",
    )
    .bind(&rows.delivery)
    .bind(&rows.webhook)
    .bind(&rows.number)
    .bind(&rows.state)
    .bind(&rows.next)
    .bind(&rows.done)
    .bind(&rows.started)
    .bind(&rows.latency)
    .bind(&rows.status)
    .bind(&rows.error)
    .bind(&rows.excerpt)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(applied
        .into_iter()
        .filter_map(|i| usize::try_from(i).ok()?.checked_sub(1))
        .filter(|&i| i < records.len())
        .collect())
}

/// A batch of attempts and their deliveries' moves, column by column, as `UNNEST` takes them.
#[derive(Default)]
struct AttemptColumns<'a> {
    delivery: Vec<String>,
    webhook: Vec<String>,
    number: Vec<i32>,
    state: Vec<&'static str>,
    next: Vec<Option<i64>>,
    done: Vec<Option<i64>>,
    started: Vec<i64>,
    latency: Vec<i64>,
    status: Vec<Option<i32>>,
    error: Vec<Option<&'a str>>,
    excerpt: Vec<Option<&'a str>>,
}

/// The webhooks' new counts of consecutive failed deliveries, and which of them to disable.
#[derive(Default)]
struct Counts {
    id: Vec<String>,
    count: Vec<i32>,
    disable: Vec<bool>,
}

/// Pauses (or resumes) a webhook's undelivered deliveries when it is disabled (or enabled).
pub(crate) async fn pause(conn: &mut PgConnection, webhook: &str, paused: bool) -> StoreResult<()> {
    let (from, to) = if paused {
        ("pending", "paused")
    } else {
        ("paused", "pending")
    };
    sqlx::query("UPDATE deliveries SET state = $1 WHERE webhook_id = $2 AND state = $3")
        .bind(to)
        .bind(webhook)
        .bind(from)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
