//! What the PostgreSQL server spent on a scenario: the CPU of vizhook's own backends (found by
//! their client ports), of the server's other processes and of other clients' backends over
//! the measured window, what vizhook's connections carried (round trips, bytes), and, read
//! once vizhook's connections have ended and flushed their statistics, the WAL written and
//! synced, the transactions of the database and the rows written in the scenario's schema.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::Duration,
};

use anyhow::Context as _;
use serde::Serialize;
use sqlx::{PgPool, Row as _};

use super::{Database, traffic};
use crate::{procfs, vizhook::Vizhook};

/// `pg_stat_wal` between two readings (server-wide: other clients' work included).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Wal {
    pub(crate) records: i64,
    pub(crate) full_page_images: i64,
    pub(crate) bytes: i64,
    pub(crate) writes: i64,
    /// fsyncs (or fdatasyncs) of the WAL.
    pub(crate) syncs: i64,
    /// Milliseconds spent in them (0 unless `track_wal_io_timing` is on).
    pub(crate) sync_time_ms: f64,
}

/// What the server spent on one scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct PgServerUse {
    pub(crate) schema: String,
    /// vizhook's connections at the window's end (their backends), and their CPU seconds over
    /// the window.
    pub(crate) vizhook_backends: u64,
    pub(crate) vizhook_backends_cpu_s: f64,
    /// TCP data segments vizhook's connections sent the server over the window: about its
    /// round trips (`ss -tin`; `None` without `ss`), and the bytes each way.
    pub(crate) round_trips: Option<u64>,
    pub(crate) bytes_to_server: u64,
    pub(crate) bytes_from_server: u64,
    /// The server's processes that serve no client: postmaster, WAL writer, checkpointer,
    /// background writer, autovacuum (vizhook's writes are most of their work).
    pub(crate) server_cpu_s: f64,
    /// Other clients' backends that used CPU meanwhile (other work on the same server: it
    /// competes for the cores and shows in the server-wide counters below).
    pub(crate) other_clients: u64,
    pub(crate) other_clients_cpu_s: f64,
    /// Server-wide, from the window's start until vizhook's connections ended.
    pub(crate) wal: Option<Wal>,
    /// Transactions of this database (all its clients) committed and rolled back, likewise.
    pub(crate) commits: Option<i64>,
    pub(crate) rollbacks: Option<i64>,
    /// Rows inserted, updated (of which HOT) and deleted in the scenario's schema: vizhook's
    /// alone.
    pub(crate) rows_inserted: i64,
    pub(crate) rows_updated: i64,
    pub(crate) rows_hot_updated: i64,
    pub(crate) rows_deleted: i64,
}

/// Server-wide counters at one moment.
#[derive(Debug, Clone, Default)]
struct Counters {
    wal: Option<Wal>,
    commits: Option<i64>,
    rollbacks: Option<i64>,
    rows: [i64; 4],
}

/// Watches the server over one scenario; does nothing on SQLite.
pub(crate) struct Watch(Option<Watching>);

struct Watching {
    pool: PgPool,
    schema: String,
    port: u16,
    processes: BTreeMap<u32, (String, u64)>,
    traffic: HashMap<u16, (u64, u64, u64)>,
    counters: Counters,
    /// Set at the window's end.
    closed: Option<(PgServerUse, Vec<i32>)>,
}

impl Watch {
    /// Opens the window on `database`'s server (when there is one); call it right before the
    /// scenario's `Window::open`.
    pub(crate) async fn open(database: Option<&Database>) -> anyhow::Result<Self> {
        let Some(db) = database else {
            return Ok(Self(None));
        };
        let counters = counters(&db.pool, &db.schema).await?;
        Ok(Self(Some(Watching {
            pool: db.pool.clone(),
            schema: db.schema.clone(),
            port: db.port,
            processes: procfs::all_processes(),
            traffic: traffic::connections(db.port),
            counters,
            closed: None,
        })))
    }

    /// Closes the CPU window while `nodes` still run (their sockets tell their backends).
    pub(crate) async fn close(&mut self, nodes: &[Vizhook]) -> anyhow::Result<()> {
        let Some(w) = &mut self.0 else {
            return Ok(());
        };
        let ports: HashSet<u16> = nodes
            .iter()
            .flat_map(|n| procfs::tcp_local_ports(n.pid))
            .collect();
        let sessions = sqlx::query(
            "SELECT pid, client_port, backend_type FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid()",
        )
        .fetch_all(&w.pool)
        .await
        .context("cannot read pg_stat_activity")?;
        let (mut ours, mut clients) = (HashSet::new(), HashSet::new());
        for row in sessions {
            let pid: i32 = row.try_get("pid")?;
            let port: Option<i32> = row.try_get("client_port")?;
            let kind: Option<String> = row.try_get("backend_type")?;
            let pid = u32::try_from(pid).unwrap_or(0);
            if port.is_some_and(|p| u16::try_from(p).is_ok_and(|p| ports.contains(&p))) {
                ours.insert(pid);
            } else if kind.as_deref() == Some("client backend") {
                clients.insert(pid);
            }
        }
        let after = procfs::all_processes();
        let sent = traffic::since(&w.traffic, &traffic::connections(w.port), &ports);
        let mut used = PgServerUse {
            schema: w.schema.clone(),
            vizhook_backends: ours.len() as u64,
            round_trips: (!w.traffic.is_empty() || sent.0 > 0).then_some(sent.0),
            bytes_to_server: sent.1,
            bytes_from_server: sent.2,
            ..PgServerUse::default()
        };
        for pid in postgres_pids(&after) {
            let ticks = after.get(&pid).map_or(0, |(_, t)| *t);
            let before = w.processes.get(&pid).map_or(0, |(_, t)| *t);
            let cpu_s = ticks.saturating_sub(before) as f64 / 100.0;
            if ours.contains(&pid) {
                used.vizhook_backends_cpu_s += cpu_s;
            } else if clients.contains(&pid) {
                if cpu_s > 0.0 {
                    used.other_clients += 1;
                }
                used.other_clients_cpu_s += cpu_s;
            } else {
                used.server_cpu_s += cpu_s;
            }
        }
        let ours = ours.into_iter().filter_map(|p| i32::try_from(p).ok());
        w.closed = Some((used, ours.collect()));
        Ok(())
    }

    /// The figures, once the nodes were stopped: waits (5 s at most) until their backends
    /// have ended, which flushes their statistics, then reads the counters.
    pub(crate) async fn finish(self) -> anyhow::Result<Option<PgServerUse>> {
        let Some(w) = self.0 else {
            return Ok(None);
        };
        let (mut used, ours) = w.closed.context("the watch was not closed")?;
        for _ in 0..50 {
            let left: i64 =
                sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)")
                    .bind(&ours)
                    .fetch_one(&w.pool)
                    .await?;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let after = counters(&w.pool, &w.schema).await?;
        let before = &w.counters;
        used.wal = after.wal.zip(before.wal.as_ref()).map(|(a, b)| Wal {
            records: a.records - b.records,
            full_page_images: a.full_page_images - b.full_page_images,
            bytes: a.bytes - b.bytes,
            writes: a.writes - b.writes,
            syncs: a.syncs - b.syncs,
            sync_time_ms: a.sync_time_ms - b.sync_time_ms,
        });
        used.commits = after.commits.zip(before.commits).map(|(a, b)| a - b);
        used.rollbacks = after.rollbacks.zip(before.rollbacks).map(|(a, b)| a - b);
        let rows = |i: usize| after.rows[i] - before.rows[i];
        used.rows_inserted = rows(0);
        used.rows_updated = rows(1);
        used.rows_hot_updated = rows(2);
        used.rows_deleted = rows(3);
        Ok(Some(used))
    }
}

/// Pids of the PostgreSQL server's processes among `processes`.
fn postgres_pids(processes: &BTreeMap<u32, (String, u64)>) -> impl Iterator<Item = u32> + '_ {
    processes
        .iter()
        .filter(|(_, (name, _))| name == "postgres" || name.starts_with("postgres:"))
        .map(|(pid, _)| *pid)
}

/// The server-wide WAL and transaction counters and the schema's row counters. The WAL
/// figures need PostgreSQL 14 or later; without them the rest is still read.
async fn counters(pool: &PgPool, schema: &str) -> anyhow::Result<Counters> {
    let wal = sqlx::query(
        "SELECT wal_records, wal_fpi, wal_bytes::bigint AS wal_bytes, wal_write, wal_sync, \
         wal_sync_time FROM pg_stat_wal",
    )
    .fetch_one(pool)
    .await
    .ok()
    .and_then(|row| {
        Some(Wal {
            records: row.try_get("wal_records").ok()?,
            full_page_images: row.try_get("wal_fpi").ok()?,
            bytes: row.try_get("wal_bytes").ok()?,
            writes: row.try_get("wal_write").ok()?,
            syncs: row.try_get("wal_sync").ok()?,
            sync_time_ms: row.try_get("wal_sync_time").ok()?,
        })
    });
    let database = sqlx::query(
        "SELECT xact_commit, xact_rollback FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .fetch_optional(pool)
    .await
    .context("cannot read pg_stat_database")?;
    let (commits, rollbacks) = match database {
        Some(row) => (
            row.try_get("xact_commit").ok(),
            row.try_get("xact_rollback").ok(),
        ),
        None => (None, None),
    };
    let row = sqlx::query(
        "SELECT coalesce(sum(n_tup_ins), 0)::bigint AS ins, coalesce(sum(n_tup_upd), 0)::bigint AS upd, \
         coalesce(sum(n_tup_hot_upd), 0)::bigint AS hot, coalesce(sum(n_tup_del), 0)::bigint AS del \
         FROM pg_stat_user_tables WHERE schemaname = $1",
    )
    .bind(schema)
    .fetch_one(pool)
    .await
    .context("cannot read pg_stat_user_tables")?;
    Ok(Counters {
        wal,
        commits,
        rollbacks,
        rows: [
            row.try_get("ins")?,
            row.try_get("upd")?,
            row.try_get("hot")?,
            row.try_get("del")?,
        ],
    })
}

/// Rows of the receiver's inbox and its tasks by state, in `database`'s schema.
pub(crate) async fn inbox_rows(
    database: &Database,
) -> anyhow::Result<(u64, BTreeMap<String, u64>)> {
    let schema = &database.schema;
    let inbox: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {schema}.inbox"
    )))
    .fetch_one(&database.pool)
    .await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT state, count(*) FROM {schema}.inbox_tasks GROUP BY state"
    )))
    .fetch_all(&database.pool)
    .await?;
    let tasks = rows
        .into_iter()
        .map(|(state, n)| (state, u64::try_from(n).unwrap_or(0)))
        .collect();
    Ok((u64::try_from(inbox).unwrap_or(0), tasks))
}
