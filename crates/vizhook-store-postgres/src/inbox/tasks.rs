//! Action tasks of the inbox: recording finished attempts and leasing due tasks in one
//! transaction (the engine's round trip per cycle), and the next due time. A leased task's
//! lease end is its `next_attempt_at`, so the partial due index holds exactly what may be
//! claimed; claims skip rows another replica's claim holds (`FOR UPDATE SKIP LOCKED`), so no
//! two claimers ever lease the same task, and a lease that runs out makes the task due for all.

use std::collections::HashSet;

use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use time::OffsetDateTime;
use vizhook_store::{ClaimedTask, StoreResult, TaskClaimRequest, TaskNext, TaskRecord, TaskState};

use super::columns::{count, notice};
use crate::convert::{db_error, from_millis, millis};

/// Records finished attempts, then leases due tasks if asked.
pub(super) async fn exchange(
    pool: &PgPool,
    records: &[TaskRecord],
    claim: Option<&TaskClaimRequest>,
) -> StoreResult<Vec<ClaimedTask>> {
    if records.is_empty() && claim.is_none() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin().await.map_err(db_error)?;
    record(&mut tx, records).await?;
    let claimed = match claim {
        Some(request) => lease(&mut tx, request).await?,
        None => Vec::new(),
    };
    tx.commit().await.map_err(db_error)?;
    Ok(claimed)
}

/// Moves tasks on. Only pending tasks move: a task finished by another claimer (its lease ran
/// out) stays finished. A task recorded twice in one call keeps its last record. A task
/// superseded by its group's recovery while its attempt was under way becomes 'done' if that
/// attempt sent it after all, and otherwise stays superseded (it is not retried).
async fn record(conn: &mut PgConnection, records: &[TaskRecord]) -> StoreResult<()> {
    let mut seen = HashSet::with_capacity(records.len());
    let mut ids = Vec::with_capacity(records.len());
    let mut states = Vec::with_capacity(records.len());
    let mut nexts = Vec::with_capacity(records.len());
    let mut errors = Vec::with_capacity(records.len());
    for r in records.iter().rev().filter(|r| seen.insert(r.id)) {
        let (state, next) = match r.next {
            TaskNext::Delivered => (TaskState::Done, None),
            TaskNext::RetryAt(at) => (TaskState::Pending, Some(millis(at))),
            TaskNext::Failed => (TaskState::Failed, None),
        };
        ids.push(r.id);
        states.push(state.as_str());
        nexts.push(next);
        errors.push(r.error.as_deref());
    }
    if ids.is_empty() {
        return Ok(());
    }
    // The rows are locked in the order of their ids, as a recovery superseding tasks locks
    // them, before they are updated.
    sqlx::query(
        "WITH j AS (SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[]) \
                    AS j (id, state, next, e)), \
              locked AS (SELECT t.id FROM inbox_tasks t WHERE t.id IN (SELECT id FROM j) \
                         ORDER BY t.id FOR UPDATE) \
         UPDATE inbox_tasks t SET \
            state = CASE WHEN t.state = 'pending' OR j.state = 'done' \
                         THEN j.state ELSE t.state END, \
            next_attempt_at = CASE WHEN t.state = 'pending' THEN j.next END, \
            last_error = CASE WHEN t.state = 'pending' OR j.state = 'done' \
                              THEN j.e ELSE t.last_error END \
         FROM j \
         WHERE t.id = j.id AND t.id IN (SELECT id FROM locked) \
           AND t.state IN ('pending', 'superseded')",
    )
    .bind(&ids)
    .bind(&states)
    .bind(&nexts)
    .bind(&errors)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Leases due tasks, oldest first, skipping those another claim holds: the lease end becomes
/// the next attempt time, so a task whose claimer died falls due again when its lease runs
/// out. Each lease counts one attempt.
async fn lease(
    conn: &mut PgConnection,
    request: &TaskClaimRequest,
) -> StoreResult<Vec<ClaimedTask>> {
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    // The update finds the locked rows by their tuple ids, as in the outbox's claim (joined on
    // `id`, the planner hashes the whole table).
    let rows = sqlx::query(
        "WITH due AS MATERIALIZED (SELECT ctid AS row, next_attempt_at FROM inbox_tasks \
                      WHERE state = 'pending' AND next_attempt_at <= $1 \
                        AND receiver <> ALL($2::text[]) \
                      ORDER BY next_attempt_at, id LIMIT $3 \
                      FOR UPDATE SKIP LOCKED) \
         UPDATE inbox_tasks t SET next_attempt_at = $4, attempts = t.attempts + 1 \
         FROM due WHERE t.ctid = ANY(ARRAY(SELECT row FROM due)) AND t.ctid = due.row \
         RETURNING t.id, t.inbox_id, t.receiver, t.notice, t.spec, t.attempts, \
                   due.next_attempt_at",
    )
    .bind(millis(request.now))
    .bind(&request.exclude)
    .bind(i64::from(request.limit))
    .bind(millis(request.lease_until))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        let due: i64 = row.try_get(6).map_err(db_error)?;
        claimed.push((due, claimed_from_row(row)?));
    }
    // RETURNING has no order: put them back in claim order.
    claimed.sort_by_key(|(due, task)| (*due, task.id));
    Ok(claimed.into_iter().map(|(_, task)| task).collect())
}

fn claimed_from_row(row: &PgRow) -> StoreResult<ClaimedTask> {
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

pub(super) async fn next_due(pool: &PgPool) -> StoreResult<Option<OffsetDateTime>> {
    let due: Option<i64> =
        sqlx::query_scalar("SELECT min(next_attempt_at) FROM inbox_tasks WHERE state = 'pending'")
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
    due.map(from_millis).transpose()
}
