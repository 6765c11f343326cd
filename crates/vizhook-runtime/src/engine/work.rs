//! `Work`: what a kind of durable work tells the engine: how to lease it, run it and record it.

use std::{future::Future, hash::Hash, sync::Arc};

use time::OffsetDateTime;

use super::limits::Claim;

/// A kind of durable work: how to lease it, run it and record it. The engine is generic over
/// it (never a trait object), so its methods are native `async fn`s whose futures are `Send`.
pub trait Work: Send + Sync + 'static {
    /// A leased unit of work.
    type Item: Send + 'static;
    /// The outcome of running one item.
    type Record: Send + 'static;
    /// What the per-key cap counts by.
    type Key: Clone + Eq + Hash + Ord + Send + Sync + 'static;

    fn item_key(item: &Self::Item) -> Self::Key;
    fn record_key(record: &Self::Record) -> Self::Key;
    /// A key's own cap on work in flight, when lower than the engine's per-key cap (an action
    /// that runs at most one at a time).
    fn key_limit(&self, _key: &Self::Key) -> Option<usize> {
        None
    }
    /// Records outcomes and leases `claim`, in one transaction. `None` when the store failed
    /// (the implementation logs why): the records are then lost, but their leases run out and
    /// the work is retried (at least once, never lost).
    fn exchange(
        &self,
        records: Vec<Self::Record>,
        claim: Option<Claim<Self::Key>>,
    ) -> impl Future<Output = Option<Vec<Self::Item>>> + Send;
    /// Runs one item. Never fails: a failure is an outcome.
    fn perform(self: Arc<Self>, item: Self::Item) -> impl Future<Output = Self::Record> + Send;
    /// When the item a record is about, if retried, falls due again: the engine wakes then,
    /// rather than at its next poll.
    fn retry_at(_record: &Self::Record) -> Option<OffsetDateTime> {
        None
    }
    /// When a record says its key's destination asked to slow down (`429`, or `503` with
    /// `Retry-After`), the time until which the engine takes no more work of that key; it also
    /// halves the key's share, which then grows back by one with each success.
    fn pause_until(_record: &Self::Record) -> Option<OffsetDateTime> {
        None
    }
    /// Whether a record is a success (which lets a slowed key's share grow back).
    fn succeeded(_record: &Self::Record) -> bool {
        true
    }
    /// When the next item falls due, if known.
    fn next_due(&self) -> impl Future<Output = Option<OffsetDateTime>> + Send;
}
