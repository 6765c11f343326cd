//! Action tasks of the inbox: recording finished attempts and leasing due tasks in one writer
//! call (the engine's round trip per cycle), and the next due time. A leased task's lease end
//! is its `next_attempt_at`, so the partial due index holds exactly what may be claimed.

use std::collections::{HashMap, HashSet};

use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use time::OffsetDateTime;
use vizhook_store::{ClaimedTask, StoreResult, TaskClaimRequest, TaskNext, TaskRecord, TaskState};

use super::columns::{count, notice, to_json};
use crate::{
    convert::{db_error, from_millis, millis},
    rows::run_chunked,
};

/// A task's move after an attempt, as a batch row.
struct MoveRow<'a> {
    id: i64,
    state: &'static str,
    next: Option<i64>,
    e: Option<&'a str>,
}

/// Records finished attempts, then leases due tasks if asked.
pub(crate) async fn exchange(
    conn: &mut SqliteConnection,
    records: Vec<TaskRecord>,
    claim: Option<TaskClaimRequest>,
) -> StoreResult<Vec<ClaimedTask>> {
    record(conn, &records).await?;
    match claim {
        Some(request) => lease(conn, &request).await,
        None => Ok(Vec::new()),
    }
}

/// Moves tasks on. Only pending tasks move: a task finished by another claimer (its lease ran
/// out) stays finished. A task recorded twice in one call keeps its last record.
async fn record(conn: &mut SqliteConnection, records: &[TaskRecord]) -> StoreResult<()> {
    let mut seen = HashSet::with_capacity(records.len());
    let moves: Vec<MoveRow<'_>> = records
        .iter()
        .rev()
        .filter(|r| seen.insert(r.id))
        .map(|r| {
            let (state, next) = match r.next {
                TaskNext::Delivered => (TaskState::Done, None),
                TaskNext::RetryAt(at) => (TaskState::Pending, Some(millis(at))),
                TaskNext::Failed => (TaskState::Failed, None),
            };
            MoveRow {
                id: r.id,
                state: state.as_str(),
                next,
                e: r.error.as_deref(),
            }
        })
        .collect();
    if moves.is_empty() {
        return Ok(());
    }
    // The VALUES columns are id, state, next, e. A task superseded by its group's recovery
    // while its attempt was under way becomes 'done' if that attempt sent it after all, and
    // otherwise stays superseded (it is not retried).
    run_chunked(
        conn,
        &moves,
        "(?, ?, ?, ?)",
        |values| {
            format!(
                "UPDATE inbox_tasks SET \
                    state = CASE WHEN inbox_tasks.state = 'pending' OR j.column2 = 'done' \
                                 THEN j.column2 ELSE inbox_tasks.state END, \
                    next_attempt_at = CASE WHEN inbox_tasks.state = 'pending' THEN j.column3 END, \
                    last_error = CASE WHEN inbox_tasks.state = 'pending' OR j.column2 = 'done' \
                                      THEN j.column4 ELSE inbox_tasks.last_error END \
                 FROM (VALUES {values}) j \
                 WHERE inbox_tasks.id = j.column1 \
                   AND inbox_tasks.state IN ('pending', 'superseded')"
            )
        },
        |query, m| {
            query
                .bind(m.id)
                .bind(m.state)
                .bind(m.next)
                .bind(m.e.map(str::to_owned))
        },
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Leases due tasks, oldest first: the lease end becomes the next attempt time, so a task whose
/// claimer died falls due again when its lease runs out. Each lease counts one attempt.
async fn lease(
    conn: &mut SqliteConnection,
    request: &TaskClaimRequest,
) -> StoreResult<Vec<ClaimedTask>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM inbox_tasks \
         WHERE state = 'pending' AND next_attempt_at <= ?1 \
           AND receiver NOT IN (SELECT value FROM json_each(?2)) \
         ORDER BY next_attempt_at, id LIMIT ?3",
    )
    .bind(millis(request.now))
    .bind(to_json(&request.exclude)?)
    .bind(i64::from(request.limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "UPDATE inbox_tasks SET next_attempt_at = ?1, attempts = attempts + 1 \
         WHERE id IN (SELECT value FROM json_each(?2)) \
         RETURNING id, inbox_id, receiver, notice, spec, attempts",
    )
    .bind(millis(request.lease_until))
    .bind(to_json(&ids)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut claimed = rows
        .iter()
        .map(claimed_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // RETURNING has no order: put them back in claim order.
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    claimed.sort_by_key(|task| position.get(&task.id).copied());
    Ok(claimed)
}

fn claimed_from_row(row: &SqliteRow) -> StoreResult<ClaimedTask> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    Ok(ClaimedTask {
        id: row.try_get(0).map_err(db_error)?,
        inbox_id: text(1)?,
        receiver: text(2)?,
        notice: notice(&text(3)?)?,
        spec: text(4)?,
        attempt: count(row, 5)?,
    })
}

pub(crate) async fn next_due(pool: &SqlitePool) -> StoreResult<Option<OffsetDateTime>> {
    let due: Option<i64> =
        sqlx::query_scalar("SELECT min(next_attempt_at) FROM inbox_tasks WHERE state = 'pending'")
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
    due.map(from_millis).transpose()
}
