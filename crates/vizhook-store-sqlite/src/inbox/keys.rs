//! The de-duplication keys, looked up in memory and kept on disk as an append-only log.
//!
//! A key is a hash, so an index on it puts every new key on a random page: with a B-tree on the
//! key, each stored event rewrote a page of its own at every commit, and that was most of the
//! receiver's write cost (measured with `examples/inbox_profile.rs`: 11k to 12k events/s with
//! the index, 19k/s with this log). Here the table `inbox_keys` is only appended to (in the order of its
//! rowid, with an index on the expiry time, which grows with it), and lookups go to this map,
//! loaded from the table when the store opens. The receive queue (`queue.rs`) owns it: every
//! receive of this store goes through that one task, and it changes the map only after the
//! rows are committed, so the map is always what the table says.
//!
//! Memory: one entry per key still inside its window, 150 to 200 bytes: the map holds a 128-bit
//! digest of the key (SipHash under two random keys chosen when the store opens; a false
//! match needs about 2^64 keys) and the holder's id, shared by that event's keys. Entries leave
//! the map once the newest event's time is `EVICT_AFTER` past their expiry; an expired entry
//! that is still here is never a holder.

use std::{
    collections::{HashMap, VecDeque},
    hash::{BuildHasher, RandomState},
    sync::Arc,
};

use sqlx::{Row, SqliteConnection};
use vizhook_store::StoreResult;

use crate::convert::db_error;

/// How long past its expiry (in milliseconds of event time) a key stays in memory: events may
/// arrive with times slightly out of order, and a key must not leave before the last event
/// that could still be its repeat.
const EVICT_AFTER: i64 = 10 * 60 * 1000;

#[derive(Debug, Clone)]
struct Holder {
    inbox_id: Arc<str>,
    until: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Keys {
    /// Two independent SipHash keys: a key's digest is both hashes side by side.
    digest: (RandomState, RandomState),
    held: HashMap<u128, Holder>,
    /// Keys in the order they were taken, with the expiry they were taken with.
    taken: VecDeque<(i64, u128)>,
    /// The latest event time seen.
    newest: i64,
}

impl Keys {
    fn digest(&self, key: &str) -> u128 {
        (u128::from(self.digest.0.hash_one(key)) << 64) | u128::from(self.digest.1.hash_one(key))
    }

    /// Reads every stored key; later rows replace earlier ones.
    pub(crate) async fn load(conn: &mut SqliteConnection) -> StoreResult<Self> {
        let rows = sqlx::query("SELECT key, inbox_id, until FROM inbox_keys ORDER BY seq")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let mut keys = Self::default();
        for row in &rows {
            let key: &str = row.try_get(0).map_err(db_error)?;
            let inbox_id: &str = row.try_get(1).map_err(db_error)?;
            keys.take(key, &Arc::from(inbox_id), row.try_get(2).map_err(db_error)?);
        }
        Ok(keys)
    }

    /// The event that holds `key` at `at` (milliseconds), if any.
    pub(crate) fn holder(&self, key: &str, at: i64) -> Option<Arc<str>> {
        self.held
            .get(&self.digest(key))
            .filter(|holder| holder.until > at)
            .map(|holder| holder.inbox_id.clone())
    }

    /// Records that `inbox_id` holds `key` until `until`; call only once the row is committed.
    pub(crate) fn take(&mut self, key: &str, inbox_id: &Arc<str>, until: i64) {
        let key = self.digest(key);
        self.taken.push_back((until, key));
        self.held.insert(
            key,
            Holder {
                inbox_id: inbox_id.clone(),
                until,
            },
        );
    }

    /// Notes that an event arrived at `at` and forgets keys long expired by then.
    pub(crate) fn advance(&mut self, at: i64) {
        self.newest = self.newest.max(at);
        let horizon = self.newest.saturating_sub(EVICT_AFTER);
        while let Some((until, _)) = self.taken.front() {
            if *until > horizon {
                break;
            }
            if let Some((until, key)) = self.taken.pop_front() {
                // A key taken again later has a later expiry: keep that holder.
                if self
                    .held
                    .get(&key)
                    .is_some_and(|holder| holder.until == until)
                {
                    self.held.remove(&key);
                }
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_until_its_expiry() {
        let mut keys = Keys::default();
        keys.take("k", &Arc::from("e1"), 1_000);
        assert_eq!(keys.holder("k", 999).as_deref(), Some("e1"));
        assert_eq!(keys.holder("k", 1_000), None);
        assert_eq!(keys.holder("other", 0), None);
    }

    #[test]
    fn expired_keys_leave_memory_but_a_retaken_key_stays() {
        let mut keys = Keys::default();
        keys.take("old", &Arc::from("e1"), 1_000);
        keys.take("again", &Arc::from("e2"), 1_000);
        keys.take("again", &Arc::from("e3"), 1_000 + EVICT_AFTER + 5_000);
        keys.advance(1_000 + EVICT_AFTER - 1);
        assert_eq!(
            keys.len(),
            2,
            "nothing leaves before EVICT_AFTER past its expiry"
        );
        keys.advance(1_000 + EVICT_AFTER);
        assert_eq!(keys.len(), 1);
        assert_eq!(
            keys.holder("again", 1_000 + EVICT_AFTER).as_deref(),
            Some("e3")
        );
    }

    #[test]
    fn time_going_backwards_evicts_nothing_more() {
        let mut keys = Keys::default();
        keys.take("k", &Arc::from("e1"), 1_000);
        keys.advance(1_000 + EVICT_AFTER - 1);
        keys.advance(0);
        assert_eq!(keys.len(), 1);
    }
}
