//! The engine's bookkeeping of keys: how many items of each key run or wait ([`Slots`]), and
//! which keys were full when a claim last came back short ([`Exhausted`]).

use std::collections::{HashMap, VecDeque};

use super::work::Work;

/// The keys that were full when a claim last came back short: until something wakes the
/// engine, claiming with the same (or a larger) set excluded would find nothing new.
pub(super) struct Exhausted<K>(pub(super) Option<Vec<K>>);

impl<K: Ord> Exhausted<K> {
    pub(super) fn remember(&mut self, mut full: Vec<K>) {
        full.sort_unstable();
        self.0 = Some(full);
    }

    pub(super) fn forget(&mut self) {
        self.0 = None;
    }

    /// Whether `full` excludes at least what the short claim excluded.
    pub(super) fn covers(&self, full: &[K]) -> bool {
        self.0
            .as_ref()
            .is_some_and(|before| before.iter().all(|key| full.contains(key)))
    }
}

/// Items this engine holds: running (at most `per_key` per key) and claimed but waiting for a
/// slot of their key. Waiting ones are few (at most `per_key` plus a claim batch per key), and
/// the lease covers their wait. How many it holds in all is counted in the [`HandOff`] room.
pub(super) struct Slots<W: Work> {
    per_key: usize,
    running: HashMap<W::Key, usize>,
    waiting: HashMap<W::Key, VecDeque<W::Item>>,
}

impl<W: Work> Slots<W> {
    pub(super) fn new(per_key: usize) -> Self {
        Self {
            per_key,
            running: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// A key's share: the engine's per-key cap, or the key's own when lower.
    pub(super) fn share(&self, work: &W, key: &W::Key) -> usize {
        work.key_limit(key)
            .map_or(self.per_key, |limit| limit.clamp(1, self.per_key))
    }

    /// Takes a claimed item: returns it if it may run now, else queues it.
    pub(super) fn admit(&mut self, work: &W, item: W::Item) -> Option<W::Item> {
        let key = W::item_key(&item);
        let share = self.share(work, &key);
        let running = self.running.entry(key.clone()).or_default();
        if *running < share {
            *running += 1;
            return Some(item);
        }
        self.waiting.entry(key).or_default().push_back(item);
        None
    }

    /// Frees a finished item's slot; returns the next item of that key to run.
    pub(super) fn release(&mut self, key: &W::Key) -> Option<W::Item> {
        if let Some(next) = self.waiting.get_mut(key).and_then(VecDeque::pop_front) {
            if self.waiting.get(key).is_some_and(VecDeque::is_empty) {
                self.waiting.remove(key);
            }
            return Some(next);
        }
        if let Some(count) = self.running.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.running.remove(key);
            }
        }
        None
    }

    /// Keys that may not take more work now: those running their full share with as many
    /// again waiting, so that the next batch is at hand while a cycle commits.
    pub(super) fn full(&self, work: &W) -> Vec<W::Key> {
        self.running
            .iter()
            .filter(|(key, running)| {
                let waiting = self.waiting.get(*key).map_or(0, VecDeque::len);
                **running + waiting >= 2 * self.share(work, key)
            })
            .map(|(key, _)| key.clone())
            .collect()
    }
}
