//! Columns of the inbox's tables as PostgreSQL stores them: a task's notice and state, and
//! attempt counts; and which database failures are worth running a transaction again for.

use sqlx::{Row, postgres::PgRow};
use vizhook_core::notify::Notice;
use vizhook_store::{StoreError, StoreResult, TaskState};

use crate::convert::db_error;

pub(super) fn notice(raw: &str) -> StoreResult<Notice> {
    Notice::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("task notice '{raw}'")))
}

pub(super) fn state(raw: &str) -> StoreResult<TaskState> {
    TaskState::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("task state '{raw}'")))
}

pub(super) fn count(row: &PgRow, i: usize) -> StoreResult<u32> {
    let n: i32 = row.try_get(i).map_err(db_error)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("attempt count {n}")))
}

/// Whether `error` is PostgreSQL giving up on a transaction that may succeed when run again:
/// a deadlock it broke (only a prune racing a receive or a record can take row locks in an
/// order of its own) or a serialization failure.
pub(super) fn is_transient(error: &StoreError) -> bool {
    let StoreError::Unavailable(source) = error else {
        return false;
    };
    match source.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Database(db)) => {
            matches!(db.code().as_deref(), Some("40P01" | "40001"))
        }
        _ => false,
    }
}

/// How many times a transaction that failed transiently is run again.
pub(super) const RETRIES: usize = 3;
