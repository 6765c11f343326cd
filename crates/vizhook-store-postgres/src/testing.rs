//! For tests (this crate's, the server's, the receiver's and the binary's): a fresh, empty
//! schema per test on the PostgreSQL server named by `VIZHOOK_TEST_POSTGRES_URL`, so tests run
//! in parallel on one database, and when the variable is unset, a line saying by name which test was skipped. The line goes straight to
//! the process's standard error, past the test harness's capture, so a skipped test never
//! passes silently.

use std::{
    io::Write,
    time::{SystemTime, UNIX_EPOCH},
};

use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

/// The variable that names the test server (`.ci/run` sets it when one answers).
pub const URL_VAR: &str = "VIZHOOK_TEST_POSTGRES_URL";

/// Schemas this old or older are left over from earlier runs and dropped.
const STALE_SECS: u64 = 6 * 3600;

/// The test server's URL, or `None` after saying that `test` is skipped.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED on PostgreSQL: {test} ({URL_VAR} is not set)"
            );
            None
        }
    }
}

/// A URL of the test server whose connections see only a new, empty schema of their own, or
/// `None` after saying that `test` is skipped. Panics when the variable is set but the server
/// cannot be used: a configured server that fails is a failure, not a skip.
pub async fn fresh_url(test: &str) -> Option<String> {
    let base = server_url(test)?;
    let mut conn = PgConnection::connect(&base)
        .await
        .unwrap_or_else(|err| panic!("the server named by {URL_VAR} does not answer: {err}"));
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let _ = sweep(&base).await;
        })
        .await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let schema = format!(
        "vt_{now}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|err| panic!("cannot create a test schema: {err}"));
    let _ = conn.close().await;
    Some(with_search_path(&base, &schema))
}

/// `base` with its connections' `search_path` set to `schema`.
pub fn with_search_path(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}

/// Drops test schemas left over from runs more than `STALE_SECS` ago.
async fn sweep(base: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(base).await?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'vt\\_%'")
            .fetch_all(&mut conn)
            .await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for name in names {
        let created = name
            .split('_')
            .nth(1)
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|at| at + STALE_SECS < now) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE"
            )))
            .execute(&mut conn)
            .await?;
        }
    }
    conn.close().await
}
