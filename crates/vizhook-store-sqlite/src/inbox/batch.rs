//! Storing a batch of accepted inbound events in one writer job: a few multi-row statements
//! per table (`rows.rs`) for their de-duplication keys (appended to the log, see `keys.rs`),
//! the events, their alert groups and their tasks. Repeats were settled before, in memory.

use std::collections::HashMap;

use sqlx::{Row, SqliteConnection};
use vizhook_core::notify::{GroupState, Intent, Notice, decide};
use vizhook_store::{ClaimedTask, Inbound, StoreError, StoreResult, TaskClaimRequest, TaskState};

use crate::{
    convert::{db_error, from_millis, millis},
    rows::run_chunked,
};

/// A receiver's group: (receiver, group key).
type GroupKey = (String, String);

/// A group's new state, as a batch row.
struct GroupRow<'a> {
    r: &'a str,
    g: &'a str,
    f: bool,
    n: Option<i64>,
}

struct KeyRow<'a> {
    k: &'a str,
    i: &'a str,
    u: i64,
}

struct TaskRow<'a> {
    i: &'a str,
    r: &'a str,
    g: &'a str,
    n: &'static str,
    s: &'a str,
    t: i64,
    state: &'static str,
    /// The event's position in the batch.
    owner: usize,
    notice: Notice,
    /// Leased to the event's caller until then: written as a claim leaves a task.
    lease: Option<i64>,
}

/// What storing one event queued (receiver and notice, in plan order), and the tasks of it
/// leased to its caller.
pub(crate) type Queued = (Vec<(String, Notice)>, Vec<ClaimedTask>);

/// Why a superseded task was not sent.
const SUPERSEDED: &str = "superseded: its group recovered before it was sent";

/// Every de-duplication key of `inbound`: its own, then the extra ones.
pub(crate) fn keys(inbound: &Inbound) -> impl Iterator<Item = &String> {
    std::iter::once(&inbound.dedup_key).chain(&inbound.extra_dedup_keys)
}

/// Stores `accepted` (none a repeat) in order, each with the lease its caller asked for.
/// Returns each event's queued tasks and the tasks leased to its caller.
pub(crate) async fn store_accepted(
    conn: &mut SqliteConnection,
    accepted: &[(&Inbound, Option<&TaskClaimRequest>)],
) -> StoreResult<Vec<Queued>> {
    let key_rows: Vec<KeyRow<'_>> = accepted
        .iter()
        .flat_map(|(inbound, _)| {
            keys(inbound).map(|key| KeyRow {
                k: key,
                i: &inbound.id,
                u: millis(inbound.dedup_until),
            })
        })
        .collect();
    // In order, so that a later row for the same key replaces an earlier one when loaded.
    run_chunked(
        conn,
        &key_rows,
        "(?, ?, ?)",
        |values| format!("INSERT INTO inbox_keys (key, inbox_id, until) VALUES {values}"),
        |query, row| {
            query
                .bind(row.k.to_owned())
                .bind(row.i.to_owned())
                .bind(row.u)
        },
    )
    .await
    .map_err(db_error)?;
    run_chunked(
        conn,
        accepted,
        "(?, ?, ?, ?, ?)",
        |values| {
            format!("INSERT INTO inbox (id, source, dedup_key, body, received_at) VALUES {values}")
        },
        |query, (inbound, _)| {
            query
                .bind(inbound.id.clone())
                .bind(inbound.source.clone())
                .bind(inbound.dedup_key.clone())
                .bind(inbound.body.clone())
                .bind(millis(inbound.received_at))
        },
    )
    .await
    .map_err(db_error)?;
    notify(conn, accepted).await
}

/// Decides every planned notification of the accepted events against its group's stored
/// state, event after event and plan after plan (later plans see earlier decisions), saves the
/// states that changed and queues the notices, leasing pending ones to callers that asked.
/// Returns each event's queued and leased tasks.
async fn notify(
    conn: &mut SqliteConnection,
    accepted: &[(&Inbound, Option<&TaskClaimRequest>)],
) -> StoreResult<Vec<Queued>> {
    let plans = accepted
        .iter()
        .flat_map(|(inbound, _)| &inbound.notifications);
    let grouped = plans.clone().any(|p| !p.group_key.is_empty());
    let wanted: Vec<GroupRow<'_>> = plans
        .filter(|p| !p.group_key.is_empty())
        .map(|p| GroupRow {
            r: &p.receiver,
            g: &p.group_key,
            f: false,
            n: None,
        })
        .collect();
    let rows = if !grouped {
        Vec::new()
    } else {
        run_chunked(
            conn,
            &wanted,
            "(?, ?)",
            |values| {
                format!(
                    "SELECT receiver, group_key, firing, last_notified FROM alert_groups \
                     WHERE (receiver, group_key) IN (VALUES {values})"
                )
            },
            |query, row| query.bind(row.r.to_owned()).bind(row.g.to_owned()),
        )
        .await
        .map_err(db_error)?
    };
    let mut stored: HashMap<GroupKey, GroupState> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let state = GroupState {
            firing: row.try_get(2).map_err(db_error)?,
            last_notified: row
                .try_get::<Option<i64>, _>(3)
                .map_err(db_error)?
                .map(from_millis)
                .transpose()?,
        };
        let key = (
            row.try_get(0).map_err(db_error)?,
            row.try_get(1).map_err(db_error)?,
        );
        stored.insert(key, state);
    }

    let mut states = stored.clone();
    let mut queued = Vec::with_capacity(accepted.len());
    let mut tasks = Vec::new();
    // Groups that recovered in this batch: (receiver, group key).
    let mut recovered: Vec<(&str, &str)> = Vec::new();
    for (owner, (inbound, _)) in accepted.iter().enumerate() {
        let mut mine = Vec::new();
        for plan in &inbound.notifications {
            let notice = if plan.group_key.is_empty() {
                // Not grouped: an ordinary match always notifies and nothing is remembered.
                (plan.intent == Intent::Fire).then_some(Notice::Firing)
            } else {
                let key = (plan.receiver.clone(), plan.group_key.clone());
                let (notice, next) = decide(
                    plan.intent,
                    states.get(&key).copied(),
                    plan.repeat_interval,
                    inbound.received_at,
                );
                states.insert(key, next);
                notice
            };
            if let Some(notice) = notice {
                if notice == Notice::Resolved {
                    // Earlier firing tasks of this batch for the group are not sent.
                    for earlier in tasks.iter_mut().filter(|t: &&mut TaskRow<'_>| {
                        t.r == plan.receiver
                            && t.g == plan.group_key
                            && t.n == Notice::Firing.as_str()
                    }) {
                        earlier.state = TaskState::Superseded.as_str();
                    }
                    recovered.push((plan.receiver.as_str(), plan.group_key.as_str()));
                }
                tasks.push(TaskRow {
                    i: &inbound.id,
                    r: &plan.receiver,
                    g: &plan.group_key,
                    n: notice.as_str(),
                    s: &plan.spec,
                    t: millis(inbound.received_at),
                    state: TaskState::Pending.as_str(),
                    owner,
                    notice,
                    lease: None,
                });
                mine.push((plan.receiver.clone(), notice));
            }
        }
        queued.push(mine);
    }

    // Only states that changed are written: a success for a group that never failed leaves no
    // row behind.
    let blank = GroupState {
        firing: false,
        last_notified: None,
    };
    let changed: Vec<GroupRow<'_>> = states
        .iter()
        .filter(|(key, state)| stored.get(*key).copied().unwrap_or(blank) != **state)
        .map(|((receiver, group), state)| GroupRow {
            r: receiver,
            g: group,
            f: state.firing,
            n: state.last_notified.map(millis),
        })
        .collect();
    if !changed.is_empty() {
        run_chunked(
            conn,
            &changed,
            "(?, ?, ?, ?)",
            |values| {
                format!(
                    "INSERT INTO alert_groups (receiver, group_key, firing, last_notified) \
                     VALUES {values} ON CONFLICT (receiver, group_key) DO UPDATE SET \
                        firing = excluded.firing, last_notified = excluded.last_notified"
                )
            },
            |query, row| {
                query
                    .bind(row.r.to_owned())
                    .bind(row.g.to_owned())
                    .bind(row.f)
                    .bind(row.n)
            },
        )
        .await
        .map_err(db_error)?;
    }
    if !recovered.is_empty() {
        // Firing tasks of earlier batches still waiting to be sent (or to be retried): the
        // recovery replaces them. The new tasks are written after this, so none is touched.
        recovered.sort_unstable();
        recovered.dedup();
        run_chunked(
            conn,
            &recovered,
            "(?, ?)",
            |values| {
                format!(
                    "UPDATE inbox_tasks SET state = 'superseded', next_attempt_at = NULL, \
                        last_error = '{SUPERSEDED}' \
                     WHERE state = 'pending' AND notice = 'firing' AND group_key <> '' \
                       AND (receiver, group_key) IN (VALUES {values})"
                )
            },
            |query, (receiver, group)| query.bind((*receiver).to_owned()).bind((*group).to_owned()),
        )
        .await
        .map_err(db_error)?;
    }
    let leased = lease(accepted, &mut tasks);
    let mut queued: Vec<Queued> = queued.into_iter().map(|q| (q, Vec::new())).collect();
    if !tasks.is_empty() {
        // In plan order, so task ids follow it. Leased tasks are returned with their ids.
        let returning = if leased > 0 {
            " RETURNING id, inbox_id, receiver, group_key, notice, attempts"
        } else {
            ""
        };
        let rows = run_chunked(
            conn,
            &tasks,
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            |values| {
                format!(
                    "INSERT INTO inbox_tasks (inbox_id, receiver, group_key, notice, spec, state, \
                     attempts, next_attempt_at, created_at, last_error) VALUES {values}{returning}"
                )
            },
            |query, t| {
                let pending = t.state == TaskState::Pending.as_str();
                query
                    .bind(t.i.to_owned())
                    .bind(t.r.to_owned())
                    .bind(t.g.to_owned())
                    .bind(t.n)
                    .bind(t.s.to_owned())
                    .bind(t.state)
                    .bind(i64::from(t.lease.is_some()))
                    .bind(t.lease.or(pending.then_some(t.t)))
                    .bind(t.t)
                    .bind((!pending).then_some(SUPERSEDED))
            },
        )
        .await
        .map_err(db_error)?;
        if leased > 0 {
            hand_leased(&rows, &tasks, &mut queued)?;
        }
    }
    Ok(queued)
}

/// Leases pending tasks to the callers that asked, up to each caller's limit and skipping its
/// excluded receivers. Returns how many it leased.
fn lease(accepted: &[(&Inbound, Option<&TaskClaimRequest>)], tasks: &mut [TaskRow<'_>]) -> usize {
    let mut room: Vec<u32> = accepted
        .iter()
        .map(|(_, lease)| lease.map_or(0, |l| l.limit))
        .collect();
    let mut leased = 0;
    for task in tasks
        .iter_mut()
        .filter(|t| t.state == TaskState::Pending.as_str())
    {
        let Some(request) = accepted[task.owner].1 else {
            continue;
        };
        if room[task.owner] == 0 || request.exclude.iter().any(|r| r == task.r) {
            continue;
        }
        room[task.owner] -= 1;
        task.lease = Some(millis(request.lease_until));
        leased += 1;
    }
    leased
}

/// Gives each leased task its id from the insert's RETURNING rows (whose order SQLite does not
/// promise) and adds it, ready to run, to its event's outcome.
fn hand_leased(
    rows: &[sqlx::sqlite::SqliteRow],
    tasks: &[TaskRow<'_>],
    queued: &mut [Queued],
) -> StoreResult<()> {
    // Leased rows (one attempt counted) by what tells tasks apart, ids ascending (insert order).
    let mut ids: HashMap<(String, String, String, String), Vec<i64>> = HashMap::new();
    for row in rows {
        let attempts: i64 = row.try_get(5).map_err(db_error)?;
        if attempts != 1 {
            continue;
        }
        let key = (
            row.try_get(1).map_err(db_error)?,
            row.try_get(2).map_err(db_error)?,
            row.try_get(3).map_err(db_error)?,
            row.try_get(4).map_err(db_error)?,
        );
        ids.entry(key)
            .or_default()
            .push(row.try_get(0).map_err(db_error)?);
    }
    for list in ids.values_mut() {
        list.sort_unstable_by(|a, b| b.cmp(a));
    }
    for task in tasks.iter().filter(|t| t.lease.is_some()) {
        let key = (
            task.i.to_owned(),
            task.r.to_owned(),
            task.g.to_owned(),
            task.n.to_owned(),
        );
        let id = ids
            .get_mut(&key)
            .and_then(Vec::pop)
            .ok_or_else(|| StoreError::Corrupt("a leased task was not inserted".into()))?;
        queued[task.owner].1.push(ClaimedTask {
            id,
            inbox_id: task.i.to_owned(),
            receiver: task.r.to_owned(),
            notice: task.notice,
            spec: task.s.to_owned(),
            attempt: 1,
        });
    }
    Ok(())
}
