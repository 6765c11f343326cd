//! Fills a stopped `serve`'s SQLite database with finished deliveries as weeks of production
//! leave them: one event, one delivery and its attempts per row, spread evenly over a time
//! span, written straight into the tables by SQL (a recursive series, in chunks), with the ids
//! and payloads vizhook itself writes: time-ordered (UUIDv7 layout, the time being the row's)
//! and a Tableau payload of the usual size. One row in 20 took a retry 100 ms later.

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, SqliteConnection, sqlite::SqliteConnectOptions};

/// Rows per statement: large enough that the statement's own cost vanishes, small enough to
/// keep each transaction's log short.
const CHUNK: u64 = 100_000;

/// The series of rows `?1 <= i < ?2`, each at time `at` (Unix ms), evenly from `?3` (the time
/// of row `?4`) over `?5` ms per `?6` rows; then `eid` and `did`, the ids of its event and its
/// delivery.
const SERIES: &str = "WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2), \
    t(i, at) AS (SELECT i, ?3 + (i - ?4) * ?5 / ?6 FROM s), \
    r(i, at, eid, did) AS (SELECT i, at, \
        printf('%08x-%04x-7000-8000-%012x', at >> 16, at & 65535, i), \
        printf('%08x-%04x-7001-8000-%012x', at >> 16, at & 65535, i) FROM t) ";

/// After the series' parameters: `?7`, the site.
const EVENTS: &str = "INSERT INTO events (id, site_id, event_type, resource, resource_name, \
        resource_luid, created_at, payload) \
    SELECT eid, ?7, 'ViewDeleted', 'VIEW', 'Regional sales ' || i, \
        printf('00000000-0000-4000-8000-%012x', i), at, \
        printf('{\"resource\":\"VIEW\",\"event_type\":\"ViewDeleted\",\"resource_name\":\"Regional sales %d\",\"site_luid\":\"%s\",\"resource_luid\":\"00000000-0000-4000-8000-%012x\",\"created_at\":\"%s\"}', \
            i, ?7, i, strftime('%Y-%m-%dT%H:%M:%SZ', at / 1000, 'unixepoch')) \
    FROM r";

/// After the series' parameters: `?7`, the site, and `?8`, the webhook.
const DELIVERIES: &str = "INSERT INTO deliveries (id, event_id, webhook_id, site_id, state, \
        attempts, round_attempts, next_attempt_at, created_at, completed_at) \
    SELECT did, eid, ?8, ?7, 'delivered', 1 + (i % 20 = 0), 1 + (i % 20 = 0), at, at, \
        at + CASE WHEN i % 20 = 0 THEN 140 ELSE 40 END \
    FROM r";

const ATTEMPTS: &str = "INSERT INTO attempts (delivery_id, number, started_at, latency_ms, \
        status, error, response_excerpt) \
    SELECT did, 1, at + 2, 38, CASE WHEN i % 20 = 0 THEN 500 ELSE 200 END, NULL, \
        CASE WHEN i % 20 = 0 THEN 'Internal Server Error' ELSE 'ok' END FROM r \
    UNION ALL SELECT did, 2, at + 102, 38, 200, NULL, 'ok' FROM r WHERE i % 20 = 0";

/// The database of a stopped `serve`, open for filling.
pub(crate) struct Filler {
    conn: SqliteConnection,
    site: String,
    webhook: String,
    /// The next row's number: ids stay unique across [`Filler::rows`] calls.
    next: u64,
    /// Attempts written so far.
    pub(crate) attempts: u64,
}

impl Filler {
    /// Opens `path` and finds `webhook`'s site.
    pub(crate) async fn open(path: &std::path::Path, webhook: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Off)
            .pragma("cache_size", "-262144");
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .with_context(|| format!("cannot open {} to fill it", path.display()))?;
        let site: String = sqlx::query_scalar("SELECT site_id FROM webhooks WHERE id = ?")
            .bind(webhook)
            .fetch_one(&mut conn)
            .await
            .context("the webhook to fill the log of is not in the database")?;
        Ok(Self {
            conn,
            site,
            webhook: webhook.to_owned(),
            next: 0,
            attempts: 0,
        })
    }

    /// Writes `rows` finished deliveries created evenly from `from` over `span` (Unix time).
    pub(crate) async fn rows(
        &mut self,
        rows: u64,
        from: Duration,
        span: Duration,
    ) -> anyhow::Result<()> {
        let (first, from_ms) = (self.next, from.as_millis() as i64);
        let span_ms = span.as_millis() as i64;
        let mut start = first;
        while start < first + rows {
            let end = (start + CHUNK).min(first + rows);
            let mut tx = self.conn.begin().await?;
            // Each statement with the parameters it numbers: SQLite refuses more.
            for (table, names) in [(EVENTS, 1), (DELIVERIES, 2), (ATTEMPTS, 0)] {
                let statement = sqlx::AssertSqlSafe(format!("{SERIES}{table}"));
                let mut query = sqlx::query(statement)
                    .bind(start as i64)
                    .bind(end as i64)
                    .bind(from_ms)
                    .bind(first as i64)
                    .bind(span_ms)
                    .bind(rows.max(1) as i64);
                for value in [&self.site, &self.webhook].into_iter().take(names) {
                    query = query.bind(value.clone());
                }
                let done = query
                    .execute(&mut *tx)
                    .await
                    .context("filling the database")?;
                if table == ATTEMPTS {
                    self.attempts += done.rows_affected();
                }
            }
            tx.commit().await?;
            start = end;
        }
        self.next = first + rows;
        Ok(())
    }

    /// Moves the write-ahead log into the database and empties it.
    pub(crate) async fn checkpoint(&mut self) -> anyhow::Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    /// Checkpoints and closes, so that `serve` starts on a database file of its full size
    /// and an empty log.
    pub(crate) async fn finish(mut self) -> anyhow::Result<()> {
        self.checkpoint().await?;
        self.conn.close().await?;
        Ok(())
    }
}

/// The database file and its log, and the database's free pages, read while `serve` runs.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct FileSize {
    pub(crate) database_mib: f64,
    pub(crate) log_mib: f64,
    /// Pages freed by deletes that new rows will reuse (SQLite never shrinks the file by
    /// itself).
    pub(crate) free_mib: f64,
}

impl FileSize {
    pub(crate) async fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let mib = |p: &std::path::Path| {
            std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
        };
        let mut log = path.as_os_str().to_owned();
        log.push("-wal");
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&mut conn)
            .await?;
        let page: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        Ok(Self {
            database_mib: mib(path),
            log_mib: mib(std::path::Path::new(&log)),
            free_mib: (free * page) as f64 / (1024.0 * 1024.0),
        })
    }
}

/// Times `work`, for the progress lines.
pub(crate) async fn timed<T>(
    work: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, f64)> {
    let started = Instant::now();
    let value = work.await?;
    Ok((value, started.elapsed().as_secs_f64()))
}
