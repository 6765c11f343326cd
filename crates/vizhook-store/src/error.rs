//! The storage error type: what callers may branch on, with the backend's cause kept as source.

use std::{error::Error, sync::Arc};

pub type StoreResult<T> = Result<T, StoreError>;

/// What went wrong in a backend, reduced to what a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflicts with existing data ({constraint})")]
    Conflict { constraint: String },
    /// Stored data that no longer parses as a domain value: a bug or a manual edit.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed: disk, connection, or a bug. Shared so that every request in a
    /// failed group commit can carry the same cause.
    #[error("storage backend failed")]
    Unavailable(#[source] Arc<dyn Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(source: impl Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Arc::new(source))
    }
}
