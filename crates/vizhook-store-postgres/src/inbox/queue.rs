//! The tasks an event queues, in its receive's transaction: every planned notification is
//! decided against its group's state, locked by `groups.rs` (plans of one event see each
//! other's decisions, in plan order), the states that changed are saved, and the notices are
//! written as tasks in one insert, in plan order. Pending tasks the caller asked to lease are
//! written with their lease and one attempt counted; the others notify every replica's
//! workers when the transaction commits.

use sqlx::PgConnection;
use vizhook_core::notify::{Intent, Notice, decide};
use vizhook_store::{
    ClaimedTask, Inbound, Received, StoreError, StoreResult, TaskClaimRequest, TaskState,
};

use super::groups::{self, Group, SUPERSEDED};
use crate::{
    convert::{db_error, millis},
    wakes::{Wakes, notify},
};

struct TaskRow<'a> {
    receiver: &'a str,
    group: &'a str,
    notice: Notice,
    spec: &'a str,
    state: TaskState,
    /// Leased to the caller until then: written as a claim leaves a task.
    lease: Option<i64>,
}

/// What storing an event did, and the tasks leased to its caller.
pub(super) type Outcome = (Received, Vec<ClaimedTask>);

/// Decides `inbound`'s notifications and queues their tasks, leasing some to the caller if
/// `lease` asks. The event's row is written already.
pub(super) async fn queue(
    conn: &mut PgConnection,
    wakes: &Wakes,
    inbound: &Inbound,
    lease: Option<&TaskClaimRequest>,
) -> StoreResult<Outcome> {
    let stored = groups::lock(conn, inbound).await?;
    let mut states = stored.clone();
    let mut tasks: Vec<TaskRow<'_>> = Vec::with_capacity(inbound.notifications.len());
    let mut recovered: Vec<Group<'_>> = Vec::new();
    for plan in &inbound.notifications {
        let group = (plan.receiver.as_str(), plan.group_key.as_str());
        let notice = if plan.group_key.is_empty() {
            // Not grouped: an ordinary match always notifies and nothing is remembered.
            (plan.intent == Intent::Fire).then_some(Notice::Firing)
        } else {
            let (notice, next) = decide(
                plan.intent,
                states.get(&group).copied(),
                plan.repeat_interval,
                inbound.received_at,
            );
            states.insert(group, next);
            notice
        };
        let Some(notice) = notice else {
            continue;
        };
        if notice == Notice::Resolved {
            // Earlier firing tasks of this event for the group are not sent.
            for earlier in tasks
                .iter_mut()
                .filter(|t| (t.receiver, t.group) == group && t.notice == Notice::Firing)
            {
                earlier.state = TaskState::Superseded;
            }
            recovered.push(group);
        }
        tasks.push(TaskRow {
            receiver: &plan.receiver,
            group: &plan.group_key,
            notice,
            spec: &plan.spec,
            state: TaskState::Pending,
            lease: None,
        });
    }
    groups::save(conn, &stored, &states).await?;
    if !recovered.is_empty() {
        // Tasks of earlier events; this event's are written after this, so none is touched.
        recovered.sort_unstable();
        recovered.dedup();
        groups::supersede(conn, &recovered).await?;
    }
    let queued: Vec<(String, Notice)> = tasks
        .iter()
        .map(|t| (t.receiver.to_owned(), t.notice))
        .collect();
    let leased = lease_to_caller(&mut tasks, lease);
    let claimed = insert(conn, inbound, &tasks, leased).await?;
    if tasks
        .iter()
        .any(|t| t.state == TaskState::Pending && t.lease.is_none())
    {
        notify(conn, &wakes.inbox_channel).await?;
    }
    Ok((Received::Stored { tasks: queued }, claimed))
}

/// Leases pending tasks to the caller, in plan order, up to its limit and skipping its
/// excluded receivers. Returns how many it leased.
fn lease_to_caller(tasks: &mut [TaskRow<'_>], lease: Option<&TaskClaimRequest>) -> usize {
    let Some(request) = lease else {
        return 0;
    };
    let until = millis(request.lease_until);
    let mut leased = 0;
    for task in tasks.iter_mut().filter(|t| t.state == TaskState::Pending) {
        if leased == request.limit as usize {
            break;
        }
        if request.exclude.iter().any(|r| r == task.receiver) {
            continue;
        }
        task.lease = Some(until);
        leased += 1;
    }
    leased
}

/// Writes `tasks` in plan order, and returns the leased ones, in plan order, ready to run.
async fn insert(
    conn: &mut PgConnection,
    inbound: &Inbound,
    tasks: &[TaskRow<'_>],
    leased: usize,
) -> StoreResult<Vec<ClaimedTask>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let at = millis(inbound.received_at);
    let mut columns = TaskColumns::default();
    for t in tasks {
        let pending = t.state == TaskState::Pending;
        columns.receiver.push(t.receiver);
        columns.group.push(t.group);
        columns.notice.push(t.notice.as_str());
        columns.spec.push(t.spec);
        columns.state.push(t.state.as_str());
        columns.attempts.push(i32::from(t.lease.is_some()));
        columns.next.push(t.lease.or(pending.then_some(at)));
        columns.error.push((!pending).then_some(SUPERSEDED));
    }
    // Rows go in in plan order, so their ids (drawn as they go in) ascend in plan order.
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO inbox_tasks (inbox_id, created_at, receiver, group_key, notice, spec, \
         state, attempts, next_attempt_at, last_error) \
         SELECT $1, $2, r, g, n, s, st, a, na, e \
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::integer[], \
                     $9::bigint[], $10::text[]) WITH ORDINALITY AS u (r, g, n, s, st, a, na, e, o) \
         ORDER BY o \
         RETURNING id",
    )
    .bind(&inbound.id)
    .bind(at)
    .bind(&columns.receiver)
    .bind(&columns.group)
    .bind(&columns.notice)
    .bind(&columns.spec)
    .bind(&columns.state)
    .bind(&columns.attempts)
    .bind(&columns.next)
    .bind(&columns.error)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if ids.len() != tasks.len() {
        return Err(StoreError::Corrupt(
            "an event's tasks were not all inserted".into(),
        ));
    }
    ids.sort_unstable();
    let mut claimed = Vec::with_capacity(leased);
    for (task, id) in tasks.iter().zip(ids) {
        if task.lease.is_some() {
            claimed.push(ClaimedTask {
                id,
                inbox_id: inbound.id.clone(),
                receiver: task.receiver.to_owned(),
                notice: task.notice,
                spec: task.spec.to_owned(),
                attempt: 1,
            });
        }
    }
    Ok(claimed)
}

/// The columns of a task insert, one array each.
#[derive(Default)]
struct TaskColumns<'a> {
    receiver: Vec<&'a str>,
    group: Vec<&'a str>,
    notice: Vec<&'static str>,
    spec: Vec<&'a str>,
    state: Vec<&'static str>,
    attempts: Vec<i32>,
    next: Vec<Option<i64>>,
    error: Vec<Option<&'static str>>,
}
