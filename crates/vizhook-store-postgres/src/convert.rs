//! Conversions between domain values and PostgreSQL columns, and from sqlx errors to store
//! errors (the same variants, and the same constraint names, as the SQLite backend's).

use std::str::FromStr;

use time::OffsetDateTime;
use vizhook_store::StoreError;

/// Unix milliseconds: the time column format, as in SQLite.
pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_millis(millis: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {millis} is out of range")))
}

/// Parses a stored text column into a domain value.
pub(crate) fn parse<T: FromStr>(column: &str, raw: &str) -> Result<T, StoreError> {
    raw.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} '{raw}' does not parse")))
}

/// Maps sqlx errors: unique and foreign-key violations become `Conflict` named by their
/// constraint (unique indexes are named `table.column, …` in the migrations, as SQLite reports
/// them), a missing row `NotFound`, a value the database refuses (SQLSTATE class 22, data
/// exceptions such as a NUL in text, and 54, limits such as an index entry too large)
/// `Rejected`, anything else (a lost connection, a timeout) `Unavailable`.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() || db.is_foreign_key_violation() => {
            let constraint = db.constraint().unwrap_or_else(|| db.message());
            StoreError::Conflict {
                constraint: constraint.to_owned(),
            }
        }
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|code| code.starts_with("22") || code.starts_with("54")) =>
        {
            StoreError::Rejected(db.message().to_owned())
        }
        _ => StoreError::unavailable(error),
    }
}
