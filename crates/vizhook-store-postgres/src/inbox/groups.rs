//! Alert groups in a receive's transaction: locking the rows of the event's groups before
//! reading them (a group seen for the first time gets a blank row, locked as it is inserted),
//! so that a replica receiving an event of the same group waits and then decides on this
//! one's outcome; saving the states that changed; and superseding, when a group recovers, its
//! firing tasks still waiting to be sent.
//!
//! A blank state (not firing, never notified) decides as no row at all, so a row left blank
//! by the event is deleted again: a success for a group that never failed leaves no row
//! behind, as in SQLite.

use std::collections::{BTreeMap, HashMap};

use sqlx::{PgConnection, Row};
use vizhook_core::notify::GroupState;
use vizhook_store::{Inbound, StoreResult};

use crate::convert::{db_error, from_millis, millis};

/// A receiver's group: (receiver, group key).
pub(super) type Group<'a> = (&'a str, &'a str);

/// Why a superseded task was not sent.
pub(super) const SUPERSEDED: &str = "superseded: its group recovered before it was sent";

pub(super) const BLANK: GroupState = GroupState {
    firing: false,
    last_notified: None,
};

/// Locks the groups of `inbound`'s plans, in order, and reads their stored states (blank for
/// a group without one).
pub(super) async fn lock<'a>(
    conn: &mut PgConnection,
    inbound: &'a Inbound,
) -> StoreResult<BTreeMap<Group<'a>, GroupState>> {
    let mut states: BTreeMap<Group<'a>, GroupState> = inbound
        .notifications
        .iter()
        .filter(|plan| !plan.group_key.is_empty())
        .map(|plan| ((plan.receiver.as_str(), plan.group_key.as_str()), BLANK))
        .collect();
    if states.is_empty() {
        return Ok(states);
    }
    // In the map's order: by receiver, then by group, by bytes.
    let (receivers, groups): (Vec<&str>, Vec<&str>) = states.keys().copied().unzip();
    // New groups are inserted blank; existing rows are locked (`WHERE false` updates none).
    let inserted = sqlx::query(
        "INSERT INTO alert_groups (receiver, group_key, firing, last_notified) \
         SELECT r, g, false, NULL \
         FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS u (r, g, n) ORDER BY n \
         ON CONFLICT (receiver, group_key) DO UPDATE SET firing = alert_groups.firing \
         WHERE false \
         RETURNING receiver",
    )
    .bind(&receivers)
    .bind(&groups)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if inserted.len() == states.len() {
        return Ok(states);
    }
    let rows = sqlx::query(
        "SELECT a.receiver, a.group_key, a.firing, a.last_notified FROM alert_groups a \
         JOIN UNNEST($1::text[], $2::text[]) AS u (r, g) \
           ON a.receiver = u.r AND a.group_key = u.g",
    )
    .bind(&receivers)
    .bind(&groups)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut stored: HashMap<(String, String), GroupState> = HashMap::with_capacity(rows.len());
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
    for ((receiver, group), state) in states.iter_mut() {
        if let Some(found) = stored.get(&((*receiver).to_owned(), (*group).to_owned())) {
            *state = *found;
        }
    }
    Ok(states)
}

/// Writes the states of `states` that differ from `stored`, and deletes the rows of the
/// groups whose state is blank.
pub(super) async fn save(
    conn: &mut PgConnection,
    stored: &BTreeMap<Group<'_>, GroupState>,
    states: &BTreeMap<Group<'_>, GroupState>,
) -> StoreResult<()> {
    let mut receivers = Vec::new();
    let mut groups = Vec::new();
    let mut firing = Vec::new();
    let mut notified = Vec::new();
    for (&(receiver, group), state) in states {
        if stored.get(&(receiver, group)) == Some(state) && *state != BLANK {
            continue;
        }
        receivers.push(receiver);
        groups.push(group);
        firing.push(state.firing);
        notified.push(state.last_notified.map(millis));
    }
    if receivers.is_empty() {
        return Ok(());
    }
    // The rows are this transaction's, locked by `lock`.
    sqlx::query(
        "WITH u AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::boolean[], $4::bigint[]) \
                    AS u (r, g, f, n)), \
              gone AS (DELETE FROM alert_groups a USING u \
                       WHERE a.receiver = u.r AND a.group_key = u.g \
                         AND NOT u.f AND u.n IS NULL) \
         UPDATE alert_groups a SET firing = u.f, last_notified = u.n FROM u \
         WHERE a.receiver = u.r AND a.group_key = u.g AND (u.f OR u.n IS NOT NULL)",
    )
    .bind(&receivers)
    .bind(&groups)
    .bind(&firing)
    .bind(&notified)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Supersedes the firing tasks of `recovered` groups still waiting to be sent (or to be
/// retried): the recovery replaces them. Their rows are locked by id, in the order every
/// record of attempts locks tasks.
pub(super) async fn supersede(conn: &mut PgConnection, recovered: &[Group<'_>]) -> StoreResult<()> {
    let (receivers, groups): (Vec<&str>, Vec<&str>) = recovered.iter().copied().unzip();
    sqlx::query(
        "UPDATE inbox_tasks SET state = 'superseded', next_attempt_at = NULL, last_error = $3 \
         WHERE id IN (SELECT t.id FROM inbox_tasks t \
                      JOIN UNNEST($1::text[], $2::text[]) AS u (r, g) \
                        ON t.receiver = u.r AND t.group_key = u.g \
                      WHERE t.state = 'pending' AND t.notice = 'firing' AND t.group_key <> '' \
                      ORDER BY t.id FOR UPDATE OF t)",
    )
    .bind(&receivers)
    .bind(&groups)
    .bind(SUPERSEDED)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
