//! The engine's bookkeeping of keys: how many items of each key run or wait ([`Slots`]), which
//! keys are slowed because their destination asked ([`Slots::slow_down`]), and which keys were
//! full when a claim last came back short ([`Exhausted`]).

use std::collections::{HashMap, VecDeque};

use time::OffsetDateTime;

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

    /// Whether a short claim is remembered: what is due belongs to keys it excluded.
    pub(super) fn is_set(&self) -> bool {
        self.0.is_some()
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
    slowed: HashMap<W::Key, Slowed>,
}

/// A key whose destination asked to slow down: a smaller share, and no new work before
/// `until`.
#[derive(Debug, Clone, Copy)]
struct Slowed {
    share: usize,
    until: OffsetDateTime,
}

impl<W: Work> Slots<W> {
    pub(super) fn new(per_key: usize) -> Self {
        Self {
            per_key,
            running: HashMap::new(),
            waiting: HashMap::new(),
            slowed: HashMap::new(),
        }
    }

    /// A key's share: the engine's per-key cap, or the key's own when lower, or less while
    /// the key is slowed.
    pub(super) fn share(&self, work: &W, key: &W::Key) -> usize {
        let share = self.usual_share(work, key);
        self.slowed
            .get(key)
            .map_or(share, |slowed| slowed.share.min(share))
    }

    fn usual_share(&self, work: &W, key: &W::Key) -> usize {
        work.key_limit(key)
            .map_or(self.per_key, |limit| limit.clamp(1, self.per_key))
    }

    /// A destination asked to slow down: halve its key's share (to one at least) and take no
    /// new work of it before `until`. Returns how many of its claimed items were waiting for a
    /// slot if `until` is still to come: they are dropped, left to their leases (they fall due
    /// again when those end, and claims exclude the key until its pause is over), so none is
    /// sent into the pause.
    pub(super) fn slow_down(&mut self, work: &W, key: &W::Key, until: OffsetDateTime) -> usize {
        let share = (self.share(work, key) / 2).max(1);
        let slowed = self
            .slowed
            .entry(key.clone())
            .or_insert(Slowed { share, until });
        slowed.share = share;
        slowed.until = slowed.until.max(until);
        if slowed.until <= OffsetDateTime::now_utc() {
            return 0;
        }
        self.waiting.remove(key).map_or(0, |waiting| waiting.len())
    }

    /// Whether `key` is paused now: its items are not to start.
    pub(super) fn paused(&self, key: &W::Key) -> bool {
        !self.slowed.is_empty()
            && self
                .slowed
                .get(key)
                .is_some_and(|slowed| slowed.until > OffsetDateTime::now_utc())
    }

    /// A success of a slowed key: its share grows back by one, and once whole and past its
    /// pause the key is no longer slowed.
    pub(super) fn speed_up(&mut self, work: &W, key: &W::Key) {
        if self.slowed.is_empty() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let usual = self.usual_share(work, key);
        if let Some(slowed) = self.slowed.get_mut(key) {
            slowed.share = (slowed.share + 1).min(usual);
            if slowed.share >= usual && slowed.until <= now {
                self.slowed.remove(key);
            }
        }
    }

    /// The earliest end of a pause still to come, for the engine to wake at. Keys whose pause
    /// is over and that hold nothing are forgotten (a key that never succeeds again, or is
    /// gone, would otherwise stay slowed for ever).
    pub(super) fn next_pause_end(&mut self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        if self.slowed.is_empty() {
            return None;
        }
        let (running, waiting) = (&self.running, &self.waiting);
        self.slowed.retain(|key, slowed| {
            slowed.until > now || running.contains_key(key) || waiting.contains_key(key)
        });
        self.slowed
            .values()
            .map(|slowed| slowed.until)
            .filter(|until| *until > now)
            .min()
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
    /// again waiting, so that the next batch is at hand while a cycle commits, and those
    /// paused because their destination asked.
    pub(super) fn full(&self, work: &W) -> Vec<W::Key> {
        let now = OffsetDateTime::now_utc();
        let paused = self
            .slowed
            .iter()
            .filter(|(_, slowed)| slowed.until > now)
            .map(|(key, _)| key);
        let busy = self
            .running
            .iter()
            .filter(|(key, running)| {
                let waiting = self.waiting.get(*key).map_or(0, VecDeque::len);
                **running + waiting >= 2 * self.share(work, key)
            })
            .map(|(key, _)| key);
        let mut full: Vec<W::Key> = paused.chain(busy).cloned().collect();
        full.sort_unstable();
        full.dedup();
        full
    }
}
