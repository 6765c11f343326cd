//! The engine's room, shared with writers that hand it work directly: an item leased by the
//! transaction that wrote it (a delivery leased as its event is published) goes straight to the
//! engine instead of waiting for a claim, which saves a store round trip per batch and starts
//! the first attempt as soon as the write commits.
//!
//! Everything the engine holds, claims under way and hand-offs under way count against one
//! room (`max_in_flight`). A writer reserves room before it writes, leases at most that many
//! items, and hands them over after its commit; what it did not use goes back. The engine
//! refreshes a window at each cycle and after each batch of finished or handed items: until the
//! next refresh, hand-offs take at most a claim batch and skip the keys that were full, so an
//! item waits for a slot of its key no longer than a claimed one would, and its lease covers the
//! wait. If the process dies, the leases run out and the items are claimed
//! again, as any claimed item would be.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

/// The room shared by an engine and the writers handing it work; `K` is the engine's key, `I`
/// its item.
#[derive(Debug)]
pub struct HandOff<K, I> {
    counts: Mutex<Counts<K>>,
    items: mpsc::UnboundedSender<Vec<I>>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Vec<I>>>>,
}

#[derive(Debug)]
struct Counts<K> {
    /// The engine's room: zero while it is not running, so nothing is handed to nobody.
    capacity: usize,
    /// Items the engine holds: running, or waiting for a slot of their key.
    held: usize,
    /// Room taken by claims and hand-offs under way.
    reserved: usize,
    /// What hand-offs may still take before the engine's next refresh.
    window: usize,
    /// Keys that were full at the engine's last refresh.
    exclude: Arc<[K]>,
}

/// Room reserved for a hand-off. What is not handed over goes back when this is dropped.
#[derive(Debug)]
pub struct Reservation<K, I> {
    hand_off: Arc<HandOff<K, I>>,
    count: usize,
    exclude: Arc<[K]>,
}

impl<K, I> HandOff<K, I> {
    pub fn new() -> Arc<Self> {
        let (items, receiver) = mpsc::unbounded_channel();
        Arc::new(Self {
            counts: Mutex::new(Counts {
                capacity: 0,
                held: 0,
                reserved: 0,
                window: 0,
                exclude: Arc::from(Vec::new()),
            }),
            items,
            receiver: Mutex::new(Some(receiver)),
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts<K>> {
        // The counts stay consistent under a panic elsewhere: every update is one statement.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves room for up to `want` items, if the engine has any for hand-offs now.
    pub fn reserve(self: &Arc<Self>, want: usize) -> Option<Reservation<K, I>> {
        let mut counts = self.counts();
        let room = counts
            .capacity
            .saturating_sub(counts.held + counts.reserved);
        let count = want.min(room).min(counts.window);
        if count == 0 {
            return None;
        }
        counts.reserved += count;
        counts.window -= count;
        Some(Reservation {
            hand_off: self.clone(),
            count,
            exclude: counts.exclude.clone(),
        })
    }

    // The engine's side.

    /// The receiving end of hand-offs, for the engine that runs with this room (once).
    pub fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Vec<I>>> {
        self.receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The engine starts (with this room) or stops (zero).
    pub fn set_capacity(&self, capacity: usize) {
        self.counts().capacity = capacity;
    }

    /// Room free for a claim now, and how many items the engine holds.
    pub fn room(&self) -> (usize, usize) {
        let counts = self.counts();
        let room = counts
            .capacity
            .saturating_sub(counts.held + counts.reserved);
        (room, counts.held)
    }

    /// Opens the window for hand-offs until the next refresh: at most `window` items, none of
    /// the keys in `exclude`.
    pub fn open(&self, window: usize, exclude: Vec<K>) {
        let mut counts = self.counts();
        counts.window = window;
        counts.exclude = Arc::from(exclude);
    }

    /// Takes room for a claim of up to `limit` items.
    pub fn reserve_claim(&self, limit: usize) {
        self.counts().reserved += limit;
    }

    /// A claim of up to `limit` items brought `count`, or a hand-off of `count` arrived
    /// (`limit == count`): they are held now, and their reservation is over.
    pub fn arrived(&self, limit: usize, count: usize) {
        let mut counts = self.counts();
        counts.reserved = counts.reserved.saturating_sub(limit);
        counts.held += count;
    }

    /// An item the engine held has finished.
    pub fn released(&self) {
        let mut counts = self.counts();
        counts.held = counts.held.saturating_sub(1);
    }
}

impl<K, I> Reservation<K, I> {
    /// At most how many items to lease.
    pub fn limit(&self) -> usize {
        self.count
    }

    /// Keys not to lease for: they were full at the engine's last refresh.
    pub fn exclude(&self) -> &[K] {
        &self.exclude
    }

    /// Hands the leased items to the engine (at most [`limit`](Self::limit) of them). If the
    /// engine has stopped they are dropped, and their leases bring them back.
    pub fn hand(mut self, mut items: Vec<I>) {
        items.truncate(self.count);
        let count = items.len();
        if count > 0 && self.hand_off.items.send(items).is_ok() {
            // The engine releases their room when it takes them.
            self.count -= count;
        }
    }
}

impl<K, I> Drop for Reservation<K, I> {
    fn drop(&mut self) {
        if self.count > 0 {
            let mut counts = self.hand_off.counts();
            counts.reserved = counts.reserved.saturating_sub(self.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_offs_share_the_engines_room() {
        let room: Arc<HandOff<u8, u32>> = HandOff::new();
        assert!(room.reserve(10).is_none(), "nothing before the engine runs");
        room.set_capacity(8);
        room.open(6, vec![3]);
        let first = room.reserve(4).expect("room");
        assert_eq!((first.limit(), first.exclude()), (4, &[3][..]));
        let second = room.reserve(4).expect("room");
        assert_eq!(
            second.limit(),
            2,
            "the window bounds hand-offs between refreshes"
        );
        assert!(room.reserve(1).is_none());
        assert_eq!(room.room(), (2, 0), "reservations take room from claims");

        let mut receiver = room.take_receiver().expect("receiver");
        first.hand(vec![1, 2]);
        drop(second);
        assert_eq!(room.room(), (6, 0), "what was not handed over went back");
        let items = receiver.try_recv().expect("handed");
        assert_eq!(items, [1, 2]);
        room.arrived(items.len(), items.len());
        assert_eq!(room.room(), (6, 2));
        room.released();
        assert_eq!(room.room(), (7, 1));

        room.set_capacity(0);
        room.open(6, Vec::new());
        assert!(room.reserve(1).is_none(), "nothing after the engine stops");
    }
}
