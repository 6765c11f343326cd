//! Columns of the inbox's tables as SQLite stores them: JSON parameters, a task's notice, and
//! attempt counts.

use serde::Serialize;
use sqlx::{Row, sqlite::SqliteRow};
use vizhook_core::notify::Notice;
use vizhook_store::{StoreError, StoreResult};

use crate::convert::db_error;

pub(super) fn to_json(value: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|err| StoreError::Corrupt(err.to_string()))
}

pub(super) fn notice(raw: &str) -> StoreResult<Notice> {
    Notice::parse(raw).ok_or_else(|| StoreError::Corrupt(format!("task notice '{raw}'")))
}

pub(super) fn count(row: &SqliteRow, i: usize) -> StoreResult<u32> {
    let n: i64 = row.try_get(i).map_err(db_error)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("attempt count {n}")))
}
