//! What a step of retention removed, for each role: a step deletes at most a limit of rows per
//! table, and a count that reached the limit says that more may be left.

/// What one step of `serve`'s retention removed ([`Outbox::prune`](crate::Outbox::prune)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStats {
    pub deliveries: u64,
    pub events: u64,
}

impl PruneStats {
    /// Whether a step stopped at its `limit` in either table, so that more may be left.
    pub fn reached(&self, limit: u32) -> bool {
        self.deliveries >= u64::from(limit) || self.events >= u64::from(limit)
    }
}

impl std::ops::AddAssign for PruneStats {
    fn add_assign(&mut self, step: Self) {
        self.deliveries += step.deliveries;
        self.events += step.events;
    }
}

/// What one step of `receive`'s retention removed ([`Inbox::prune_inbox`](crate::Inbox::prune_inbox)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxPruned {
    pub events: u64,
    pub keys: u64,
}

impl InboxPruned {
    /// Whether the step stopped at its `limit` in either table, so that more may be left.
    pub fn reached(&self, limit: u32) -> bool {
        self.events >= u64::from(limit) || self.keys >= u64::from(limit)
    }
}

impl std::ops::AddAssign for InboxPruned {
    fn add_assign(&mut self, step: Self) {
        self.events += step.events;
        self.keys += step.keys;
    }
}
