//! The PostgreSQL mode (`--postgres URL`): the server the bench connects to, a fresh schema
//! per scenario (`pg/`), and the order in which the PostgreSQL scenarios run beside
//! their SQLite counterparts. A scenario that fails is recorded and the others still run.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{
    Args, Scenario,
    pg::{Database, redact},
    postgres_report::PostgresReport,
    receive, scenarios,
    scenarios::Target,
};

/// Schemas this bench created that are this old or older are left over from runs that were
/// killed, and dropped.
const STALE_SECS: u64 = 6 * 3600;

/// The PostgreSQL scenarios of one run and what they measured.
pub(crate) struct PostgresRun {
    base: String,
    port: u16,
    pool: PgPool,
    report: PostgresReport,
}

impl PostgresRun {
    /// Connects to the server at `url` (failing if it does not answer: the run was asked for
    /// it), notes its version and the settings that bear on commit cost, and drops schemas
    /// left over from earlier runs that were killed.
    pub(crate) async fn connect(url: &str) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url
            .parse()
            .with_context(|| format!("--postgres {} is not a PostgreSQL URL", redact(url)))?;
        let port = options.get_port();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.application_name("vizhook-bench"))
            .await
            .with_context(|| format!("cannot connect to {}", redact(url)))?;
        let version: String = sqlx::query_scalar("SELECT version()")
            .fetch_one(&pool)
            .await?;
        let mut settings = Vec::new();
        for name in [
            "synchronous_commit",
            "fsync",
            "wal_sync_method",
            "commit_delay",
            "shared_buffers",
            "max_connections",
            "shared_preload_libraries",
        ] {
            let value: Option<String> =
                sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&pool)
                    .await?;
            settings.push((name.to_owned(), value.unwrap_or_else(|| "?".to_owned())));
        }
        if let Err(err) = sweep(&pool).await {
            eprintln!("warning: could not drop old bench schemas: {err:#}");
        }
        Ok(Self {
            base: url.to_owned(),
            port,
            pool,
            report: PostgresReport::new(redact(url), version, settings),
        })
    }

    /// Runs `run` on a fresh schema and drops the schema afterwards, whatever happened; a
    /// failure is recorded under `name` and yields `None`.
    async fn on_fresh_schema<T>(
        &mut self,
        name: &str,
        run: impl AsyncFnOnce(&Database) -> anyhow::Result<T>,
    ) -> Option<T> {
        crate::settle_disk().await;
        let outcome = match Database::create(&self.base, &self.pool, self.port).await {
            Ok(db) => {
                let outcome = run(&db).await;
                if let Err(err) = db.drop().await {
                    eprintln!("warning: {err:#}");
                }
                outcome
            }
            Err(err) => Err(err),
        };
        match outcome {
            Ok(figures) => Some(figures),
            Err(err) => {
                eprintln!("{name} FAILED: {err:#}");
                self.report
                    .failures
                    .push((name.to_owned(), format!("{err:#}")));
                None
            }
        }
    }

    /// Throughput at fan-out 1 with one `serve` node, then with two sharing the schema.
    pub(crate) async fn throughput(&mut self, args: &Args, binary: &Path) {
        for nodes in [1, 2] {
            let name = format!("postgres throughput, {nodes} node{}", plural(nodes));
            let figures = self
                .on_fresh_schema(&name, async |db| {
                    let target = Target {
                        postgres: Some(db),
                        nodes,
                    };
                    scenarios::throughput(args, binary, &target).await
                })
                .await;
            match nodes {
                1 => self.report.throughput_1_node = figures,
                _ => self.report.throughput_2_nodes = figures,
            }
        }
    }

    /// Latency at `--rate` with two nodes, the injection split between them.
    pub(crate) async fn latency(&mut self, args: &Args, binary: &Path) {
        self.report.latency_2_nodes = self
            .on_fresh_schema("postgres latency, 2 nodes", async |db| {
                let target = Target {
                    postgres: Some(db),
                    nodes: 2,
                };
                scenarios::latency(args, binary, &target).await
            })
            .await;
    }

    /// The receive scenario's throughput phase with one `vizhook receive`.
    pub(crate) async fn receive(&mut self, args: &Args, binary: &Path) {
        self.report.receive = self
            .on_fresh_schema("postgres receive", async |db| {
                receive::receive(args, binary, Some(db)).await
            })
            .await;
    }

    pub(crate) async fn finish(self) -> PostgresReport {
        self.pool.close().await;
        self.report
    }
}

impl Scenario {
    /// Whether this scenario choice runs `which` on PostgreSQL too (given `--postgres`).
    pub(crate) fn runs_on_postgres(self, which: Scenario) -> bool {
        matches!(self, Scenario::All | Scenario::Postgres) || self == which
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Drops `bench_SECS_*` schemas older than [`STALE_SECS`].
async fn sweep(pool: &PgPool) -> anyhow::Result<()> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'")
            .fetch_all(pool)
            .await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for name in names {
        let created = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|at| at + STALE_SECS < now) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE"
            )))
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}
