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

use clap::ValueEnum;
use reqwest::{Client, StatusCode};
use tokio::{sync::Semaphore, task::JoinSet, time::MissedTickBehavior};

use crate::{
    Args,
    ceiling::tableau_body,
    now_ns, ns_at,
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

/// Statuses other than the expected one, by name (`503`, or `error: …` for a failed request).
type Others = BTreeMap<String, u64>;

/// POSTs one event; returns the status and the body, or the error.
async fn post(client: &Client, url: &str, body: String) -> Result<(StatusCode, String), String> {
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|err| format!("error: {err}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| format!("error: {err}"))?;
    Ok((status, text))
}

/// What one phase's requests were answered.
#[derive(Default)]
struct Tally {
    expected: u64,
    others: Others,
    /// Send to answer, in nanoseconds, of the expected answers.
    round_trips: Vec<u64>,
    /// The first unexpected answer, to show.
    first_other: Option<String>,
}

impl Tally {
    fn record(
        &mut self,
        answer: Result<(StatusCode, String), String>,
        ok: impl Fn(StatusCode, &str) -> bool,
        took: u64,
    ) {
        match answer {
            Ok((status, body)) if ok(status, &body) => {
                self.expected += 1;
                self.round_trips.push(took);
            }
            Ok((status, body)) => {
                *self.others.entry(status.as_u16().to_string()).or_insert(0) += 1;
                self.first_other
                    .get_or_insert_with(|| format!("{status}: {}", body.trim()));
            }
            Err(err) => {
                let kind: String = err.chars().take(80).collect();
                self.first_other.get_or_insert_with(|| err.clone());
                *self.others.entry(kind).or_insert(0) += 1;
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.expected += other.expected;
        self.round_trips.extend(other.round_trips);
        for (name, n) in other.others {
            *self.others.entry(name).or_insert(0) += n;
        }
        if self.first_other.is_none() {
            self.first_other = other.first_other;
        }
    }

    fn report_others(&self, phase: &str) {
        if let Some(first) = &self.first_other {
            eprintln!(
                "  {phase}: unexpected answers {:?}; first: {first}",
                self.others
            );
        }
    }
}

fn accepted(status: StatusCode, _: &str) -> bool {
    status == StatusCode::ACCEPTED
}

fn duplicate(status: StatusCode, body: &str) -> bool {
    status == StatusCode::OK && body.contains(r#""status":"duplicate""#)
}

/// Sends the events `seqs` (bodies from `body(seq)`) over `concurrency` keep-alive
/// connections, as fast as they are answered.
async fn closed_loop(
    client: &Client,
    url: &str,
    concurrency: usize,
    seqs: std::ops::Range<u64>,
    body: Arc<dyn Fn(u64) -> String + Send + Sync>,
    ok: fn(StatusCode, &str) -> bool,
) -> anyhow::Result<Tally> {
    let next = Arc::new(AtomicU64::new(seqs.start));
    let end = seqs.end;
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, next, body) =
            (client.clone(), url.to_owned(), next.clone(), body.clone());
        tasks.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= end {
                    return tally;
                }
                let started = now_ns();
                let answer = post(&client, &url, body(seq)).await;
                tally.record(answer, ok, now_ns() - started);
            }
        });
    }
    let mut tally = Tally::default();
    while let Some(result) = tasks.join_next().await {
        tally.merge(result?);
    }
    Ok(tally)
}

/// `vizhook_receive_events_total` by outcome, from `/metrics`.
async fn event_counters(client: &Client, base: &str) -> BTreeMap<String, u64> {
    let mut counters = BTreeMap::new();
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return counters;
    };
    let text = response.text().await.unwrap_or_default();
    for line in text
        .lines()
        .filter(|l| l.starts_with("vizhook_receive_events_total{"))
    {
        let outcome = line
            .split_once(r#"outcome=""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(outcome, _)| outcome.to_owned());
        let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let (Some(outcome), Some(value)) = (outcome, value) {
            *counters.entry(outcome).or_insert(0) += value as u64;
        }
    }
    counters
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

/// What the open-loop phase measured.
struct OpenLoop {
    tally: Tally,
    /// From each request's scheduled time to its answer, in nanoseconds.
    from_schedule: Vec<u64>,
    /// How late each pacing tick fired, in nanoseconds.
    lags: Vec<u64>,
    sent: u64,
    achieved_rate: f64,
    /// Requests that found `--receive-max-in-flight` requests in flight.
    waited: u64,
}

/// Posts events `first..` at `--receive-rate` for `--receive-duration`, in batches on a 1 ms
/// tick, each request its own task so that a slow answer never delays the schedule.
async fn open_loop(
    client: &Client,
    url: &str,
    args: &Args,
    first: u64,
) -> anyhow::Result<OpenLoop> {
    const TICK: Duration = Duration::from_millis(1);
    let rate = args.receive_rate;
    let ticks = (secs(args.receive_duration).as_secs_f64() / TICK.as_secs_f64()).round() as u64;
    let ticks_per_s = (1.0 / TICK.as_secs_f64()).round() as u64;
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let start_ns = ns_at(interval.tick().await.into_std());
    let (mut sent, mut last_send) = (0_u64, start_ns);
    let mut tasks = JoinSet::new();
    // At most this many requests (connections) at once: past it a request waits for one,
    // which only its time from the schedule shows.
    let slots = Arc::new(Semaphore::new(args.receive_max_in_flight.max(1)));
    let mut out = OpenLoop {
        tally: Tally::default(),
        from_schedule: Vec::with_capacity((rate as f64 * args.receive_duration) as usize),
        lags: Vec::with_capacity(ticks as usize),
        sent: 0,
        achieved_rate: 0.0,
        waited: 0,
    };
    let record = |out: &mut OpenLoop, (answer, took, since_scheduled)| {
        out.from_schedule.push(since_scheduled);
        out.tally.record(answer, accepted, took);
    };
    for tick in 1..=ticks {
        // The instant the tick was due (ticks missed while busy come in a burst).
        let scheduled = ns_at(interval.tick().await.into_std());
        let target = rate * tick / ticks_per_s;
        let now = now_ns();
        for seq in first + sent..first + target {
            let (client, url, slots) = (client.clone(), url.to_owned(), slots.clone());
            if slots.available_permits() == 0 {
                out.waited += 1;
            }
            tasks.spawn(async move {
                let _slot = slots.acquire_owned().await;
                let sent_ns = now_ns();
                let answer = post(&client, &url, tableau_body(sent_ns, seq)).await;
                let now = now_ns();
                (answer, now - sent_ns, now.saturating_sub(scheduled))
            });
        }
        out.lags.push(now.saturating_sub(scheduled));
        if target > sent {
            last_send = now;
        }
        sent = target;
        while let Some(done) = tasks.try_join_next() {
            record(&mut out, done?);
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(&mut out, done?);
    }
    let send_span = (last_send - start_ns) as f64 / 1e9;
    out.sent = sent;
    if send_span > 0.0 {
        out.achieved_rate = sent as f64 / (send_span + TICK.as_secs_f64());
    }
    Ok(out)
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
