//! The receiver scenario: `vizhook receive` with one Tableau source, an inbox on SQLite (or
//! on a PostgreSQL schema) and one action (by default an `http` action posting to this
//! process's receiver). It measures how many distinct events per second it accepts (202:
//! stored, de-duplication key taken and the action task queued, all committed) from many
//! keep-alive connections, that exact repeats are answered 200 "duplicate" and queue nothing,
//! and (on SQLite) the round trip at a fixed open-loop rate.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

mod load;
mod sink;

pub(crate) use sink::ActionKind;

use self::{
    load::{OpenLoop, accepted, closed_loop, duplicate, event_counters, open_loop},
    sink::{Sink, TOKEN, config, inbox_rows},
};
use reqwest::Client;

use crate::{
    Args,
    ceiling::tableau_body,
    measure::Window,
    now_ns,
    pg::{
        Database,
        probe::{self, Watch},
    },
    receiver::Receiver,
    report::{InboxCheck, Receive, ReceiveLatency},
    secs,
    stats::Latencies,
    vizhook::Vizhook,
};

/// Runs the scenario with its inbox on `postgres` (without the fixed-rate phase), or by
/// default on a fresh SQLite file.
pub(crate) async fn receive(
    args: &Args,
    binary: &Path,
    postgres: Option<&Database>,
) -> anyhow::Result<Receive> {
    let (requests, dups, action) = (
        args.receive_requests,
        args.receive_duplicates,
        args.receive_action,
    );
    anyhow::ensure!(
        dups <= requests,
        "--receive-duplicates must be at most --receive-requests"
    );
    let then = match postgres {
        None => format!(
            ", then {}/s for {} s",
            args.receive_rate, args.receive_duration
        ),
        Some(_) => " on PostgreSQL".to_owned(),
    };
    eprintln!(
        "receive: {requests} events over {} connections, {dups} duplicates{then}; action: {}",
        args.receive_concurrency,
        action.name()
    );
    let receiver = Receiver::start().await?;
    let dir = tempfile::tempdir()?;
    let config_path = dir.path().join("receive.toml");
    std::fs::write(
        &config_path,
        config(
            dir.path(),
            postgres.map(|db| db.url.as_str()),
            action,
            &receiver.url("/hook/0"),
        ),
    )?;
    let database = dir.path().join("receive.db");
    let mut sink = match action {
        ActionKind::Http => Sink::Http(receiver),
        ActionKind::File => Sink::File(dir.path().join("actions.jsonl"), (0, 0)),
        ActionKind::None => Sink::None,
    };
    let name = if postgres.is_some() {
        "receive-pg"
    } else {
        "receive"
    };
    let log_file = args
        .vizhook_log_file
        .as_ref()
        .map(|f| PathBuf::from(f.replace("SCENARIO", name)));
    let vizhook = Vizhook::start_receive(
        binary,
        dir,
        &config_path,
        &args.vizhook_log,
        log_file.as_deref(),
    )
    .await?;
    let mut nodes = [vizhook];
    let client = Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{}/tableau/{TOKEN}", nodes[0].base);
    let stall = secs(args.stall_timeout);

    // Throughput: distinct events, as fast as 202s come back. Each body's resource_name is
    // its send time; it is kept so the duplicates below can repeat it byte for byte.
    let sent_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..=requests).map(|_| AtomicU64::new(0)).collect());
    let mut watch = Watch::open(postgres).await?;
    let window = Window::open(&nodes);
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

    let acting = action != ActionKind::None;
    let expected_actions = if acting { tally.expected } else { 0 };
    let (drained, last_action_ns) = sink.wait_for(expected_actions, stall).await;
    let mut throughput_process = window.close(&mut nodes)?;
    watch.close(&nodes).await?;
    let counters = event_counters(&client, &nodes[0].base).await;
    let actions_done = sink.count();
    let actions_s = (last_action_ns.max(started) - started) as f64 / 1e9;

    let latency = match postgres {
        None => {
            let phase = Phase {
                client: &client,
                url: &url,
                first: requests + 1,
                actions_before: expected_actions,
                acting,
            };
            Some(phase.run(args, &mut nodes, &mut sink).await?)
        }
        Some(_) => None,
    };
    let repeated = match &sink {
        Sink::Http(receiver) => {
            let hits = receiver.hits();
            let mut seen = std::collections::HashSet::with_capacity(hits.len());
            Some(hits.iter().filter(|h| !seen.insert(h.seq)).count() as u64)
        }
        _ => None,
    };
    let final_counters = event_counters(&client, &nodes[0].base).await;
    let rows = match postgres {
        Some(db) => Some(probe::inbox_rows(db).await?),
        None => inbox_rows(&database),
    };
    let [vizhook] = nodes;
    vizhook.stop().await;
    throughput_process.postgres = watch.finish().await?;

    let total = tally.expected + latency.as_ref().map_or(0, |l| l.accepted);
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
        actions_expected: if acting { total } else { 0 },
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
        latency,
        inbox,
    })
}

/// The fixed-rate phase, after the throughput phase's events and actions.
struct Phase<'a> {
    client: &'a Client,
    url: &'a str,
    /// The first sequence number of this phase.
    first: u64,
    /// Actions performed before it.
    actions_before: u64,
    acting: bool,
}

impl Phase<'_> {
    async fn run(
        &self,
        args: &Args,
        nodes: &mut [Vizhook],
        sink: &mut Sink,
    ) -> anyhow::Result<ReceiveLatency> {
        eprintln!(
            "  latency: {}/s for {} s",
            args.receive_rate, args.receive_duration
        );
        let window = Window::open(nodes);
        let OpenLoop {
            tally: lat,
            from_schedule,
            lags,
            sent,
            achieved_rate,
            waited,
        } = open_loop(self.client, self.url, args, self.first).await?;
        lat.report_others("latency");
        let actions = if self.acting { lat.expected } else { 0 };
        let (drained, _) = sink
            .wait_for(self.actions_before + actions, secs(args.stall_timeout))
            .await;
        let process = window.close(nodes)?;
        let event_to_action = match &*sink {
            Sink::Http(receiver) => {
                let hits = receiver.hits();
                let latencies = hits
                    .iter()
                    .filter(|h| h.seq >= self.first)
                    .map(|h| h.at_ns.saturating_sub(h.sent_ns));
                Some(Latencies::of(latencies))
            }
            _ => None,
        };
        Ok(ReceiveLatency {
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
            actions_drained: drained,
            process,
        })
    }
}
