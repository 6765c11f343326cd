//! vizhook-bench: the command line, the shared monotonic clock, and the order in which the
//! scenarios run (ceiling first, so every vizhook figure can be compared with it; the receive
//! scenario measures it too; with `--postgres`, each PostgreSQL scenario right after its
//! SQLite counterpart).

mod ceiling;
mod figures;
mod growth;
mod idle;
mod measure;
mod pg;
mod postgres;
mod postgres_report;
mod procfs;
mod receive;
mod receiver;
mod render;
mod report;
mod scenarios;
mod stats;
mod vizhook;

use std::{
    path::PathBuf,
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::{Parser, ValueEnum};

/// Runs vizhook end to end against a receiver in this process and prints what it achieved.
#[derive(Debug, Clone, Parser)]
#[command(name = "vizhook-bench", version)]
pub(crate) struct Args {
    /// Which scenario to run.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    pub(crate) scenario: Scenario,
    /// Events injected in the throughput scenario (fan-out 1).
    #[arg(long, default_value_t = 100_000)]
    pub(crate) events: u64,
    /// Seconds the loopback ceiling is measured for (after a 0.5 s warm-up).
    #[arg(long, default_value_t = 5.0)]
    pub(crate) duration: f64,
    /// Rounds of the loopback ceiling; the median round is reported.
    #[arg(long, default_value_t = 3)]
    pub(crate) ceiling_rounds: usize,
    /// Concurrent client tasks (keep-alive connections) driving the loopback ceiling.
    #[arg(long, default_value_t = 64)]
    pub(crate) concurrency: usize,
    /// Concurrent senders (keep-alive connections) in the receive scenario's throughput phase.
    /// A durable receiver answers only after its group commit's fsync, so each sender waits
    /// that long per request however idle the machine is: throughput is senders divided by
    /// the commit time, and 64 senders measure this disk's fsync, not the receiver. Tableau
    /// Server posts from many backgrounder processes at once.
    #[arg(long, default_value_t = 256)]
    pub(crate) receive_concurrency: usize,
    /// Events per second injected in the latency scenario.
    #[arg(long, default_value_t = 1000)]
    pub(crate) rate: u64,
    /// Seconds the latency scenario injects for.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) latency_duration: f64,
    /// Webhooks subscribed to the event in the fan-out scenario.
    #[arg(long, default_value_t = 1000)]
    pub(crate) fanout_webhooks: u64,
    /// Events injected in the fan-out scenario (each delivered to every webhook).
    #[arg(long, default_value_t = 100)]
    pub(crate) fanout_events: u64,
    /// Concurrent injector tasks in the throughput scenario.
    #[arg(long, default_value_t = 4)]
    pub(crate) injectors: usize,
    /// Events per injection request in the throughput scenario (at most 1000).
    #[arg(long, default_value_t = 500)]
    pub(crate) batch: u64,
    /// Seconds without a new delivery after which a scenario stops waiting and reports what
    /// arrived.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) stall_timeout: f64,
    /// Distinct events posted to `vizhook receive` as fast as it answers.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) receive_requests: u64,
    /// Exact repeats of accepted events posted afterwards (each must be answered 200
    /// "duplicate").
    #[arg(long, default_value_t = 1000)]
    pub(crate) receive_duplicates: u64,
    /// Requests per second in the receive scenario's latency phase (open loop).
    #[arg(long, default_value_t = 5000)]
    pub(crate) receive_rate: u64,
    /// Seconds of the receive scenario's latency phase.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) receive_duration: f64,
    /// Requests in flight at most in the receive scenario's latency phase (each is a
    /// connection); past it requests wait, which their time from the schedule shows.
    #[arg(long, default_value_t = 1000)]
    pub(crate) receive_max_in_flight: usize,
    /// The action of the receive scenario's receiver.
    #[arg(long, value_enum, default_value_t = receive::ActionKind::Http)]
    pub(crate) receive_action: receive::ActionKind,
    /// Finished deliveries (with their events and attempts) the growth scenario fills the
    /// retained week with; a day's worth more (a seventh) is pruned while it runs.
    #[arg(long, default_value_t = 2_000_000)]
    pub(crate) growth_deliveries: u64,
    /// The vizhook binary; default: `vizhook` beside this benchmark's own binary.
    #[arg(long)]
    pub(crate) vizhook: Option<PathBuf>,
    /// vizhook's log filter (`VIZHOOK_LOG`); it must let `listening on` (info) through.
    #[arg(long, default_value = "info,tower_http=warn,sqlx=warn")]
    pub(crate) vizhook_log: String,
    /// Write vizhook's whole log to this file (`SCENARIO` in the name is replaced by the
    /// scenario's name), e.g. with `--vizhook-log info,sqlx=trace` for every SQL statement
    /// with its time.
    #[arg(long)]
    pub(crate) vizhook_log_file: Option<String>,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Also run the throughput (one node, then two), latency (two nodes) and receive
    /// scenarios on this PostgreSQL server, each on a new schema dropped afterwards, e.g.
    /// postgres://postgres@127.0.0.1:5432/test.
    #[arg(long, value_name = "URL", env = POSTGRES_URL_VAR)]
    pub(crate) postgres: Option<String>,
}

/// The variable `--postgres` is read from when it is not given.
pub(crate) const POSTGRES_URL_VAR: &str = "VIZHOOK_BENCH_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    All,
    Ceiling,
    Throughput,
    Latency,
    Fanout,
    Receive,
    /// The resident memory of `serve` and `receive` just started on empty databases.
    Idle,
    /// `serve` on a database of millions of rows: throughput (beside the empty database's),
    /// delivery log pages, and a day's prune while deliveries flow.
    Growth,
    /// Only the PostgreSQL scenarios (needs `--postgres`), and SQLite's throughput beside them.
    Postgres,
}

impl Scenario {
    fn runs(self, which: Scenario) -> bool {
        self == Scenario::All || self == which
    }
}

static BASE: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the process-wide base instant: the clock both the sender's timestamps and
/// the receiver's arrival times are read from.
pub(crate) fn now_ns() -> u64 {
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// `at` on the clock of [`now_ns`].
pub(crate) fn ns_at(at: Instant) -> u64 {
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

pub(crate) fn secs(duration: f64) -> Duration {
    Duration::from_secs_f64(duration.max(0.0))
}

fn vizhook_binary(args: &Args) -> anyhow::Result<PathBuf> {
    let path = match &args.vizhook {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("cannot locate this benchmark's binary")?
            .parent()
            .context("this benchmark's binary has no directory")?
            .join("vizhook"),
    };
    anyhow::ensure!(
        path.is_file(),
        "no vizhook binary at {}: build it with `cargo build --release` or pass --vizhook PATH",
        path.display()
    );
    Ok(path)
}

/// Writes back what earlier scenarios left in the page cache (`sync`), so that a scenario's
/// fsyncs do not wait behind the previous scenario's database being flushed: in one full run
/// before this, the latency scenario's p99 was 204 ms after the throughput scenario, against
/// 7 to 9 ms when run alone.
pub(crate) async fn settle_disk() {
    match tokio::process::Command::new("sync").status().await {
        Ok(status) if status.success() => {}
        other => eprintln!("warning: `sync` between scenarios did not run: {other:?}"),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    now_ns();
    let args = Args::parse();
    anyhow::ensure!((1..=1000).contains(&args.batch), "--batch must be 1..=1000");
    anyhow::ensure!(
        (1..=100_000).contains(&args.rate),
        "--rate must be 1..=100000 (at most 1000 events per 10 ms request)"
    );
    anyhow::ensure!(args.receive_rate >= 1, "--receive-rate must be at least 1");
    anyhow::ensure!(
        args.scenario != Scenario::Postgres || args.postgres.is_some(),
        "--scenario postgres needs --postgres URL (or {POSTGRES_URL_VAR})"
    );
    let mut postgres = match &args.postgres {
        Some(url)
            if !matches!(
                args.scenario,
                Scenario::Ceiling | Scenario::Fanout | Scenario::Idle | Scenario::Growth
            ) =>
        {
            Some(postgres::PostgresRun::connect(url).await?)
        }
        _ => None,
    };
    let mut report = report::Report::new();
    if args.scenario.runs(Scenario::Ceiling) || args.scenario == Scenario::Receive {
        report.ceiling = Some(ceiling::ceiling(&args).await?);
    }
    if args.scenario != Scenario::Ceiling {
        let binary = vizhook_binary(&args)?;
        report.vizhook_binary = Some(binary.display().to_string());
        let sqlite = &scenarios::Target::SQLITE;
        if args.scenario.runs(Scenario::Idle) {
            report.idle = Some(idle::idle(&binary, &args.vizhook_log).await?);
        }
        let throughput_too = matches!(args.scenario, Scenario::Postgres | Scenario::Growth);
        if args.scenario.runs(Scenario::Throughput) || throughput_too {
            report.throughput = Some(scenarios::throughput(&args, &binary, sqlite).await?);
        }
        if let Some(pg) = &mut postgres
            && args.scenario.runs_on_postgres(Scenario::Throughput)
        {
            pg.throughput(&args, &binary).await;
        }
        if args.scenario.runs(Scenario::Latency) {
            settle_disk().await;
            report.latency = Some(scenarios::latency(&args, &binary, sqlite).await?);
        }
        if let Some(pg) = &mut postgres
            && args.scenario.runs_on_postgres(Scenario::Latency)
        {
            pg.latency(&args, &binary).await;
        }
        if args.scenario.runs(Scenario::Fanout) {
            settle_disk().await;
            report.fanout = Some(scenarios::fanout(&args, &binary).await?);
        }
        if args.scenario.runs(Scenario::Growth) {
            settle_disk().await;
            let empty = report.throughput.as_ref();
            report.growth = Some(growth::growth(&args, &binary, empty).await?);
        }
        if args.scenario.runs(Scenario::Receive) {
            settle_disk().await;
            report.receive = Some(receive::receive(&args, &binary, None).await?);
        }
        if let Some(pg) = &mut postgres
            && args.scenario.runs_on_postgres(Scenario::Receive)
        {
            pg.receive(&args, &binary).await;
        }
    }
    if let Some(pg) = postgres {
        report.postgres = Some(pg.finish().await);
    }
    report.judge();
    render::print(&report.render())?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
