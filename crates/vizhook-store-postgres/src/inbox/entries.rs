//! The inbox for inspection and retention in PostgreSQL: the newest events with their tasks,
//! read in one snapshot, and pruning old events, expired keys and quiet alert groups. Pruning
//! locks keys and groups in the order receives lock them (by bytes), so it never waits for a
//! receive that waits for it.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use vizhook_store::{InboxEntry, InboxPruned, StoreResult, TaskRow};

use super::columns::{count, notice, state};
use crate::convert::{db_error, from_millis, millis};

/// The newest events with their tasks, read in one snapshot.
pub(super) async fn entries(pool: &PgPool, limit: u32) -> StoreResult<Vec<InboxEntry>> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db_error)?;
    let rows = sqlx::query(
        "SELECT id, source, dedup_key, body, received_at FROM inbox \
         ORDER BY received_at DESC, id COLLATE \"C\" DESC LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        entries.push(InboxEntry {
            id: row.try_get(0).map_err(db_error)?,
            source: row.try_get(1).map_err(db_error)?,
            dedup_key: row.try_get(2).map_err(db_error)?,
            body: row.try_get(3).map_err(db_error)?,
            received_at: from_millis(row.try_get(4).map_err(db_error)?)?,
            tasks: Vec::new(),
        });
    }
    if entries.is_empty() {
        tx.commit().await.map_err(db_error)?;
        return Ok(entries);
    }
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let tasks = sqlx::query(
        "SELECT inbox_id, id, receiver, notice, state, attempts, next_attempt_at, last_error \
         FROM inbox_tasks WHERE inbox_id = ANY($1::text[]) ORDER BY id",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    let position: HashMap<String, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    for row in &tasks {
        let inbox_id: String = row.try_get(0).map_err(db_error)?;
        let task = TaskRow {
            id: row.try_get(1).map_err(db_error)?,
            receiver: row.try_get(2).map_err(db_error)?,
            notice: notice(&row.try_get::<String, _>(3).map_err(db_error)?)?,
            state: state(&row.try_get::<String, _>(4).map_err(db_error)?)?,
            attempts: count(row, 5)?,
            next_attempt_at: row
                .try_get::<Option<i64>, _>(6)
                .map_err(db_error)?
                .map(from_millis)
                .transpose()?,
            last_error: row.try_get(7).map_err(db_error)?,
        };
        if let Some(&i) = position.get(&inbox_id) {
            entries[i].tasks.push(task);
        }
    }
    Ok(entries)
}

/// Deletes events received before `before` without pending tasks (their tasks go with them by
/// cascade), keys that expired before `before`, and groups that are not firing and last
/// notified before `before`: a group that is not firing decides exactly as one never seen, so
/// dropping it changes no decision, while a firing group is kept for its repeat interval and
/// its recovery however old it is. One step: at most `limit` events and `limit` keys.
pub(super) async fn prune(
    pool: &PgPool,
    before: OffsetDateTime,
    limit: u32,
) -> StoreResult<InboxPruned> {
    let before = millis(before);
    let mut tx = pool.begin().await.map_err(db_error)?;
    let pruned = prune_in(&mut tx, before, i64::from(limit)).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(pruned)
}

async fn prune_in(conn: &mut PgConnection, before: i64, limit: i64) -> StoreResult<InboxPruned> {
    // A task never becomes pending again once it is not, so an event seen without pending
    // tasks stays so. Replicas sweeping at once share the work: a step skips the rows another
    // replica's step holds. Each step's rows are picked once, in a materialised CTE (see the
    // outbox's prune).
    let events = sqlx::query(
        "WITH step AS MATERIALIZED (SELECT id FROM inbox WHERE received_at < $1 \
           AND NOT EXISTS (SELECT 1 FROM inbox_tasks t \
                           WHERE t.inbox_id = inbox.id AND t.state = 'pending') \
           ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
         DELETE FROM inbox i USING step WHERE i.id = step.id",
    )
    .bind(before)
    .bind(limit)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    // The oldest keys of the step, skipping those a receive or another step holds (so it waits
    // for no lock and cannot deadlock); `until` is checked again on the row it deletes, since
    // a receive may have taken the key anew.
    let keys = sqlx::query(
        "WITH step AS MATERIALIZED \
           (SELECT key FROM inbox_keys WHERE until < $1 ORDER BY until LIMIT $2 FOR UPDATE SKIP LOCKED) \
         DELETE FROM inbox_keys k USING step WHERE k.key = step.key AND k.until < $1",
    )
    .bind(before)
    .bind(limit)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    // Groups once per sweep, in its last step: they are one row per receiver and group.
    if events < limit.unsigned_abs() {
        sqlx::query(
            "DELETE FROM alert_groups WHERE (receiver, group_key) IN \
             (SELECT receiver, group_key FROM alert_groups \
              WHERE NOT firing AND (last_notified IS NULL OR last_notified < $1) \
              ORDER BY receiver COLLATE \"C\", group_key COLLATE \"C\" FOR UPDATE)",
        )
        .bind(before)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(InboxPruned { events, keys })
}
