//! Multi-row statements: a batch of rows travels as `VALUES (?, …), (?, …)` with plain bound
//! parameters, in chunks of a few fixed sizes so that each statement has a handful of cached
//! shapes. Cheaper than one JSON parameter read with `json_each`, whose `->>` lookups parse
//! every row's text again.

use sqlx::{
    AssertSqlSafe, Sqlite, SqliteConnection,
    query::Query,
    sqlite::{SqliteArguments, SqliteRow},
};

/// The largest chunk. Chunk sizes are powers of two up to this, so a statement has at most
/// eight prepared shapes (sixteen for the task insert, with and without `RETURNING`), and a
/// chunk of the widest row (10 parameters, a task) binds 1,280, far below SQLite's limit of
/// 32,766.
pub(crate) const MAX_CHUNK: usize = 128;

/// Splits `rows` into chunk lengths: as many `MAX_CHUNK`s as fit, then the remainder's binary
/// digits, largest first.
pub(crate) fn chunks(rows: usize) -> impl Iterator<Item = usize> {
    let full = rows / MAX_CHUNK;
    let rest = rows % MAX_CHUNK;
    std::iter::repeat_n(MAX_CHUNK, full).chain(
        (0..MAX_CHUNK.trailing_zeros())
            .rev()
            .map(|bit| 1usize << bit)
            .filter(move |size| rest & size != 0),
    )
}

/// `rows` copies of one row's placeholders, comma-separated: `(?, ?), (?, ?)`.
pub(crate) fn values(rows: usize, row: &str) -> String {
    vec![row; rows].join(", ")
}

/// A statement over multi-row `VALUES`, ready for its parameters.
pub(crate) type Statement = Query<'static, Sqlite, SqliteArguments>;

/// Runs `statement(values)` once per chunk of `rows`, where `values` is the chunk's `VALUES`
/// list built from `row` (one row's placeholders), binding each row with `bind`. Returns every
/// row the statements return, in chunk order.
pub(crate) async fn run_chunked<R>(
    conn: &mut SqliteConnection,
    rows: &[R],
    row: &str,
    statement: impl Fn(&str) -> String,
    bind: impl Fn(Statement, &R) -> Statement,
) -> Result<Vec<SqliteRow>, sqlx::Error> {
    let mut found = Vec::new();
    let mut rest = rows;
    for size in chunks(rows.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let query = chunk.iter().fold(
            sqlx::query(AssertSqlSafe(statement(&values(size, row)))),
            &bind,
        );
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_with_few_sizes() {
        for rows in 0..1_000 {
            let sizes: Vec<usize> = chunks(rows).collect();
            assert_eq!(sizes.iter().sum::<usize>(), rows, "{rows}");
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= MAX_CHUNK));
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        }
        assert_eq!(chunks(300).collect::<Vec<_>>(), vec![128, 128, 32, 8, 4]);
    }

    #[test]
    fn values_repeat_one_row() {
        assert_eq!(values(2, "(?, 'x', ?)"), "(?, 'x', ?), (?, 'x', ?)");
        assert_eq!(values(1, "(?)"), "(?)");
    }
}
