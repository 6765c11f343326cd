//! The storage error type: what callers may branch on, with the backend's cause kept as source.

use std::{error::Error, sync::Arc};

pub type StoreResult<T> = Result<T, StoreError>;

/// What went wrong in a backend, reduced to what a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference the database enforces. `constraint` names it: the columns of
    /// a unique index as `table.column, table.column`, or an index's name where the index is
    /// on an expression.
    #[error("conflicts with existing data ({constraint})")]
    Conflict { constraint: String },
    /// Stored data that no longer parses as a domain value: a bug or a manual edit.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A value the backend cannot store as given, which another backend might (PostgreSQL's
    /// text holds no NUL character; its b-tree entries are limited to about 2.7 kB). The
    /// request's fault, not the backend's: retrying it cannot help.
    #[error("the database cannot store a value of the request: {0}")]
    Rejected(String),
    /// The backend failed: disk, connection, or a bug. Shared so that every request in a
    /// failed group commit can carry the same cause.
    #[error("storage backend failed")]
    Unavailable(#[source] Arc<dyn Error + Send + Sync>),
}

impl StoreError {
    /// Whether this is a conflict on `name`: a `table.column` of the violated unique index,
    /// or the index's name.
    pub fn is_conflict_on(&self, name: &str) -> bool {
        matches!(self, Self::Conflict { constraint } if constraint.contains(name))
    }

    pub fn unavailable(source: impl Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Arc::new(source))
    }
}
