//! Receiving one inbound event in one transaction, safe against other replicas receiving at
//! the same moment: the event's de-duplication keys are taken first, by an insert whose
//! conflicts take over only keys that expired (the unique key decides: of two replicas
//! storing the same key, the second waits on the first's row, then finds it held, and its
//! event is a `Duplicate`); then the event's row, then its alert groups and tasks
//! (`queue.rs`). Every lock is taken in one order (keys, then groups, each sorted by bytes),
//! so two receives never wait for each other in a circle.

use sqlx::{PgConnection, PgPool, Row};
use vizhook_store::{Inbound, Received, StoreResult, TaskClaimRequest};

use super::queue::{Outcome, queue};
use crate::{
    convert::{db_error, millis},
    wakes::Wakes,
};

/// Stores `inbound` once, leasing up to `lease.limit` of its new tasks to the caller if asked.
pub(super) async fn receive(
    pool: &PgPool,
    wakes: &Wakes,
    inbound: &Inbound,
    lease: Option<&TaskClaimRequest>,
) -> StoreResult<Outcome> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    if let Some(original) = take_keys(&mut tx, inbound).await? {
        // The keys this event did take go back as they were.
        tx.rollback().await.map_err(db_error)?;
        return Ok((Received::Duplicate { original }, Vec::new()));
    }
    sqlx::query(
        "INSERT INTO inbox (id, source, dedup_key, body, received_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&inbound.id)
    .bind(&inbound.source)
    .bind(&inbound.dedup_key)
    .bind(&inbound.body)
    .bind(millis(inbound.received_at))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let outcome = queue(&mut tx, wakes, inbound, lease).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(outcome)
}

/// Takes every key of `inbound` that is free at its `received_at` (new, or held until then at
/// the latest), locking the rows of the others. Returns the holder of the first key (in the
/// event's order) that another event holds: the event is then a duplicate, and the caller
/// rolls back.
async fn take_keys(conn: &mut PgConnection, inbound: &Inbound) -> StoreResult<Option<String>> {
    let in_order: Vec<&str> = std::iter::once(&inbound.dedup_key)
        .chain(&inbound.extra_dedup_keys)
        .map(String::as_str)
        .collect();
    let mut sorted = in_order.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let at = millis(inbound.received_at);
    // Rows are inserted (and conflicting rows locked) in the order of `sorted`, by bytes; a
    // conflicting row is locked also when its key is not taken over.
    let taken: Vec<String> = sqlx::query_scalar(
        "INSERT INTO inbox_keys (key, inbox_id, until) \
         SELECT k, $2, $3 FROM UNNEST($1::text[]) WITH ORDINALITY AS u (k, n) ORDER BY n \
         ON CONFLICT (key) DO UPDATE SET inbox_id = excluded.inbox_id, until = excluded.until \
         WHERE inbox_keys.until <= $4 \
         RETURNING key",
    )
    .bind(&sorted)
    .bind(&inbound.id)
    .bind(millis(inbound.dedup_until))
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if taken.len() == sorted.len() {
        return Ok(None);
    }
    // The rows not taken are locked by this transaction: what it reads now stays true.
    let held = sqlx::query(
        "SELECT key, inbox_id FROM inbox_keys \
         WHERE key = ANY($1::text[]) AND NOT (key = ANY($2::text[])) AND until > $3",
    )
    .bind(&sorted)
    .bind(&taken)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut holders = Vec::with_capacity(held.len());
    for row in &held {
        let key: String = row.try_get(0).map_err(db_error)?;
        let holder: String = row.try_get(1).map_err(db_error)?;
        holders.push((key, holder));
    }
    let first = in_order
        .iter()
        .find_map(|key| holders.iter().find(|(k, _)| k == key))
        .map(|(_, holder)| holder.clone());
    match first {
        Some(holder) => Ok(Some(holder)),
        // Not taken yet not held: only if the row changed under a lock, which cannot be.
        None => Err(vizhook_store::StoreError::Corrupt(format!(
            "a de-duplication key of event {} was neither taken nor held",
            inbound.id
        ))),
    }
}
