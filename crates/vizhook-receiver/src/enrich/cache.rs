//! A small in-memory cache whose entries each expire after their own time to live, bounded in
//! size: answers and (briefly) failures of the Tableau lookups.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// Beyond this many entries, expired ones are dropped, and if that is not enough, all.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(super) struct TtlCache<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub(super) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value under `key`, unless it expired.
    pub(super) fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(expires, _)| Instant::now() < *expires)
            .map(|(_, value)| value.clone())
    }

    /// Keeps `value` under `key` for `ttl` (a zero `ttl` keeps nothing).
    pub(super) fn put(&self, key: String, value: V, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        // A time to live too long for the clock is kept for a year.
        let year = Duration::from_secs(365 * 86_400);
        let Some(expires) = now.checked_add(ttl).or_else(|| now.checked_add(year)) else {
            return;
        };
        entries.insert(key, (expires, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_zero_ttl_keeps_nothing() {
        let cache = TtlCache::new();
        cache.put("a".into(), 1, Duration::from_secs(60));
        cache.put("b".into(), 2, Duration::ZERO);
        cache.put("c".into(), 3, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("c"), None);
    }
}
