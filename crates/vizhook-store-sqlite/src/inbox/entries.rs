//! The inbox for inspection and retention in SQLite: the newest events with their tasks, read
//! in one snapshot, and pruning old events, expired keys and quiet alert groups.

use std::collections::HashMap;

use sqlx::{Row, SqliteConnection, SqlitePool};
use time::OffsetDateTime;
use vizhook_store::{InboxEntry, InboxPruned, StoreError, StoreResult, TaskRow, TaskState};

use super::columns::{count, notice, to_json};
use crate::convert::{db_error, from_millis, millis};

/// The newest events with their tasks, read in one snapshot.
pub(crate) async fn entries(pool: &SqlitePool, limit: u32) -> StoreResult<Vec<InboxEntry>> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let rows = sqlx::query(
        "SELECT id, source, dedup_key, body, received_at FROM inbox \
         ORDER BY received_at DESC, id DESC LIMIT ?",
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
        return Ok(entries);
    }
    let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let tasks = sqlx::query(
        "SELECT inbox_id, id, receiver, notice, state, attempts, next_attempt_at, last_error \
         FROM inbox_tasks WHERE inbox_id IN (SELECT value FROM json_each(?)) ORDER BY id",
    )
    .bind(to_json(&ids)?)
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
        let state: String = row.try_get(4).map_err(db_error)?;
        let task = TaskRow {
            id: row.try_get(1).map_err(db_error)?,
            receiver: row.try_get(2).map_err(db_error)?,
            notice: notice(&row.try_get::<String, _>(3).map_err(db_error)?)?,
            state: TaskState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("task state '{state}'")))?,
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

/// One step of retention: deletes at most `limit` events received before `before` without
/// pending tasks (their tasks go with them by cascade), oldest first, at most `limit` keys
/// that expired before `before`, and groups that are not firing and last notified before
/// `before`: a group that is not firing decides exactly as one never seen, so dropping it
/// changes no decision, while a firing group is kept for its repeat interval and its recovery
/// however old it is. Groups (one row per receiver and group) go in a step that found fewer
/// than `limit` events, the sweep's last.
pub(crate) async fn prune(
    conn: &mut SqliteConnection,
    before: OffsetDateTime,
    limit: u32,
) -> StoreResult<InboxPruned> {
    let before = millis(before);
    let events = sqlx::query(
        "DELETE FROM inbox WHERE id IN (SELECT id FROM inbox WHERE received_at < ?1 \
           AND NOT EXISTS (SELECT 1 FROM inbox_tasks t \
                           WHERE t.inbox_id = inbox.id AND t.state = 'pending') \
         ORDER BY received_at LIMIT ?2)",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    let keys = sqlx::query(
        "DELETE FROM inbox_keys WHERE seq IN \
         (SELECT seq FROM inbox_keys WHERE until < ?1 ORDER BY until LIMIT ?2)",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    // Groups once per sweep, in its last step.
    if events < u64::from(limit) {
        sqlx::query(
            "DELETE FROM alert_groups \
             WHERE firing = 0 AND (last_notified IS NULL OR last_notified < ?)",
        )
        .bind(before)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(InboxPruned { events, keys })
}
