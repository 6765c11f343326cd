//! The receiver scenario: `vizhook receive` with one Tableau source, a SQLite inbox and one
//! action (by default an `http` action posting to this process's receiver). It measures how
//! many distinct events per second it accepts (202: stored, de-duplication key taken and the
//! action task queued, all committed) from many keep-alive connections, that exact repeats are
//! answered 200 "duplicate" and queue nothing, and the round trip at a fixed open-loop rate.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

mod load;

use self::load::{OpenLoop, accepted, closed_loop, duplicate, event_counters, open_loop};
use clap::ValueEnum;
use reqwest::Client;

use crate::{
    Args,
    ceiling::tableau_body,
    now_ns,
    receiver::Receiver,
    report::{InboxCheck, Receive, ReceiveLatency},
    scenarios::Window,
    secs,
    stats::Latencies,
    vizhook::Vizhook,
};

/// The source's secret URL segment.
const TOKEN: &str = "bench-receive-token-5f0c2a9e7d41b386";

/// What the routed receiver does with each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ActionKind {
    /// An `http` action POSTing the context as JSON to the bench's own receiver.
    Http,
    /// A `file` action appending one JSON line per event in the temporary folder.
    File,
    /// A receiver without actions: events are stored and de-duplicated, no task is queued.
    None,
}

impl ActionKind {
    fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::File => "file",
            Self::None => "none",
        }
    }
}

/// The receiver configuration: one source without a rate limit, the inbox in `dir`, and the
/// action engine sized like `vizhook serve`'s in the delivery scenarios.
fn config(dir: &Path, action: ActionKind, hook_url: &str) -> String {
    let action = match action {
        ActionKind::Http => {
            format!("\n  [[receiver.action]]\n  type = \"http\"\n  url = \"{hook_url}\"\n")
        }
        ActionKind::File => {
            "\n  [[receiver.action]]\n  type = \"file\"\n  path = \"actions.jsonl\"\n".to_owned()
        }
        ActionKind::None => String::new(),
    };
    format!(
        r#"[storage]
database = "sqlite://{db}"

[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"
rate_limit = 0

[route]
receiver = "bench"

[[receiver]]
name = "bench"
{action}
[delivery]
max_in_flight = 512
max_in_flight_per_action = 256
claim_batch = 256
lease = "60s"
attempt_timeout = "10s"
poll_interval = "50ms"
"#,
        db = dir.join("receive.db").display(),
    )
}

/// Where the actions land, and how many have.
enum Sink {
    Http(Receiver),
    /// The JSON lines file, and how much of it was counted: (bytes, lines).
    File(PathBuf, (u64, u64)),
    None,
}

impl Sink {
    /// Actions performed so far.
    fn count(&mut self) -> u64 {
        match self {
            Self::Http(receiver) => receiver.count(),
            Self::File(path, (offset, lines)) => {
                use std::io::{Read as _, Seek as _, SeekFrom};
                if let Ok(mut file) = std::fs::File::open(&*path)
                    && file.seek(SeekFrom::Start(*offset)).is_ok()
                {
                    let mut new = Vec::new();
                    if let Ok(read) = file.read_to_end(&mut new) {
                        *offset += read as u64;
                        *lines += new.iter().filter(|b| **b == b'\n').count() as u64;
                    }
                }
                *lines
            }
            Self::None => 0,
        }
    }

    /// Waits until `expected` actions were performed, or none for `stall`; returns whether all
    /// were, and when the last one counted arrived.
    async fn wait_for(&mut self, expected: u64, stall: Duration) -> (bool, u64) {
        if matches!(self, Self::None) {
            return (true, now_ns());
        }
        let mut last = self.count();
        let mut last_ns = now_ns();
        loop {
            let now = self.count();
            if now != last {
                last = now;
                last_ns = now_ns();
            }
            if now >= expected {
                // The receiver knows the exact arrival time of the last one.
                if let Self::Http(receiver) = self {
                    last_ns = receiver.hits().last().map_or(last_ns, |h| h.at_ns);
                }
                return (true, last_ns);
            }
            if now_ns() - last_ns >= stall.as_nanos() as u64 {
                eprintln!("  stalled: {now} of {expected} actions, nothing new for {stall:?}");
                return (false, last_ns);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Rows of the inbox and its tasks by state, read with the `sqlite3` command (read-only) if it
/// is installed.
fn inbox_rows(database: &Path) -> Option<(u64, BTreeMap<String, u64>)> {
    let output = Command::new("sqlite3")
        .arg("-readonly")
        .arg(database)
        .arg(
            "SELECT 'inbox', count(*) FROM inbox; \
             SELECT 'task ' || state, count(*) FROM inbox_tasks GROUP BY state;",
        )
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut inbox = 0;
    let mut tasks = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let (name, n) = line.split_once('|')?;
        let n: u64 = n.trim().parse().ok()?;
        match name.strip_prefix("task ") {
            Some(state) => {
                tasks.insert(state.to_owned(), n);
            }
            None => inbox = n,
        }
    }
    Some((inbox, tasks))
}

pub(crate) async fn receive(args: &Args, binary: &Path) -> anyhow::Result<Receive> {
    let (requests, dups, action) = (
        args.receive_requests,
        args.receive_duplicates,
        args.receive_action,
    );
    anyhow::ensure!(
        dups <= requests,
        "--receive-duplicates must be at most --receive-requests"
    );
    eprintln!(
        "receive: {requests} events over {} connections, {dups} duplicates, then {}/s for {} s; action: {}",
        args.receive_concurrency,
        args.receive_rate,
        args.receive_duration,
        action.name()
    );
    let receiver = Receiver::start().await?;
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("receive.toml");
    std::fs::write(
        &config_path,
        config(dir.path(), action, &receiver.url("/hook/0")),
    )?;
    let database = dir.path().join("receive.db");
    let mut sink = match action {
        ActionKind::Http => Sink::Http(receiver),
        ActionKind::File => Sink::File(dir.path().join("actions.jsonl"), (0, 0)),
        ActionKind::None => Sink::None,
    };
    let log_file = args
        .vizhook_log_file
        .as_ref()
        .map(|f| PathBuf::from(f.replace("SCENARIO", "receive")));
    let mut vizhook = Vizhook::start_receive(
        binary,
        dir,
        &config_path,
        &args.vizhook_log,
        log_file.as_deref(),
    )
    .await?;
    let client = Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{}/tableau/{TOKEN}", vizhook.base);
    let stall = secs(args.stall_timeout);

    // Throughput: distinct events, as fast as 202s come back. Each body's resource_name is
    // its send time; it is kept so the duplicates below can repeat it byte for byte.
    let sent_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..=requests).map(|_| AtomicU64::new(0)).collect());
    let window = Window::open(&vizhook);
    let started = now_ns();
    let stamp = sent_at.clone();
    let tally = closed_loop(
        &client,
        &url,
        args.receive_concurrency,
        1..requests + 1,
        Arc::new(move |seq| {
            let now = now_ns();
            stamp[seq as usize].store(now, Ordering::Relaxed);
            tableau_body(now, seq)
        }),
        accepted,
    )
    .await?;
    let send_s = (now_ns() - started) as f64 / 1e9;
    tally.report_others("throughput");
    eprintln!(
        "  {} accepted in {send_s:.2} s = {:.0}/s",
        tally.expected,
        tally.expected as f64 / send_s
    );

    // Exact repeats of the first events: answered 200 "duplicate", nothing queued.
    let stamp = sent_at.clone();
    let dup_tally = closed_loop(
        &client,
        &url,
        args.receive_concurrency,
        1..dups + 1,
        Arc::new(move |seq| tableau_body(stamp[seq as usize].load(Ordering::Relaxed), seq)),
        duplicate,
    )
    .await?;
    dup_tally.report_others("duplicates");

    let expected_actions = if action == ActionKind::None {
        0
    } else {
        tally.expected
    };
    let (drained, last_action_ns) = sink.wait_for(expected_actions, stall).await;
    let throughput_process = window.close(&mut vizhook)?;
    let counters = event_counters(&client, &vizhook.base).await;
    let actions_done = sink.count();
    let actions_s = (last_action_ns.max(started) - started) as f64 / 1e9;

    // Latency: a fixed open-loop rate.
    let first = requests + 1;
    eprintln!(
        "  latency: {}/s for {} s",
        args.receive_rate, args.receive_duration
    );
    let window = Window::open(&vizhook);
    let OpenLoop {
        tally: lat,
        from_schedule,
        lags,
        sent,
        achieved_rate,
        waited,
    } = open_loop(&client, &url, args, first).await?;
    lat.report_others("latency");
    let latency_actions = if action == ActionKind::None {
        0
    } else {
        lat.expected
    };
    let (latency_drained, _) = sink
        .wait_for(expected_actions + latency_actions, stall)
        .await;
    let latency_process = window.close(&mut vizhook)?;
    let (event_to_action, repeated) = match &sink {
        Sink::Http(receiver) => {
            let hits = receiver.hits();
            let mut seen = std::collections::HashSet::with_capacity(hits.len());
            let repeated = hits.iter().filter(|h| !seen.insert(h.seq)).count() as u64;
            let latencies = hits
                .iter()
                .filter(|h| h.seq >= first)
                .map(|h| h.at_ns.saturating_sub(h.sent_ns));
            (Some(Latencies::of(latencies)), Some(repeated))
        }
        _ => (None, None),
    };
    let final_counters = event_counters(&client, &vizhook.base).await;
    let rows = inbox_rows(&database);
    vizhook.stop().await;

    let total = tally.expected + lat.expected;
    let inbox = InboxCheck {
        expected_events: total,
        expected_duplicates: dups,
        accepted_counter_after_throughput: counters.get("accepted").copied(),
        duplicate_counter_after_throughput: counters.get("duplicate").copied(),
        accepted_counter: final_counters.get("accepted").copied(),
        duplicate_counter: final_counters.get("duplicate").copied(),
        inbox_rows: rows.as_ref().map(|(n, _)| *n),
        tasks_by_state: rows.map(|(_, tasks)| tasks.into_iter().collect()),
        actions_performed: sink.count(),
        actions_expected: if action == ActionKind::None { 0 } else { total },
        actions_repeated: repeated,
    };
    Ok(Receive {
        action: action.name().to_owned(),
        concurrency: args.receive_concurrency,
        requests,
        send_s,
        accepted: tally.expected,
        accepted_per_s: tally.expected as f64 / send_s,
        others: tally.others.into_iter().collect(),
        round_trip: Latencies::of(tally.round_trips),
        ratio_to_ceiling: None,
        duplicates_sent: dups,
        duplicates_answered: dup_tally.expected,
        duplicates_others: dup_tally.others.into_iter().collect(),
        actions_drained: drained,
        actions_done,
        actions_s,
        actions_per_s: if actions_s > 0.0 {
            actions_done as f64 / actions_s
        } else {
            0.0
        },
        process: throughput_process,
        latency: ReceiveLatency {
            rate: args.receive_rate,
            duration_s: args.receive_duration,
            sent,
            achieved_rate,
            accepted: lat.expected,
            others: lat.others.into_iter().collect(),
            round_trip: Latencies::of(lat.round_trips),
            from_schedule: Latencies::of(from_schedule),
            schedule_lag: Latencies::of(lags),
            max_in_flight: args.receive_max_in_flight,
            waited_for_connection: waited,
            event_to_action,
            actions_drained: latency_drained,
            process: latency_process,
        },
        inbox,
    })
}
