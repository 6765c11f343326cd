//! The three vizhook delivery scenarios: throughput at fan-out 1, latency at a fixed injection
//! rate, and fan-out to many webhooks. Each runs on fresh vizhook processes and a fresh
//! database (a SQLite file, or a PostgreSQL schema that one or more `serve` nodes share, the
//! injection split between them), and measures its window from the first injection to the
//! last delivery.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{task::JoinSet, time::MissedTickBehavior};

use crate::{
    Args,
    figures::{Fanout, Latency, Throughput},
    measure::{Arrivals, Window, wait_distinct},
    now_ns,
    pg::{Database, probe::Watch},
    receiver::Receiver,
    secs,
    stats::Latencies,
    vizhook::{Api, Vizhook},
};

/// Where a scenario's vizhook keeps its state, and how many `serve` nodes share it.
pub(crate) struct Target<'a> {
    /// The PostgreSQL schema the nodes share; `None`: one node on a SQLite file of its own.
    pub(crate) postgres: Option<&'a Database>,
    pub(crate) nodes: usize,
}

impl Target<'_> {
    pub(crate) const SQLITE: Target<'static> = Target {
        postgres: None,
        nodes: 1,
    };

    /// The scenario's name in log file names.
    fn label(&self, scenario: &str) -> String {
        match self.postgres {
            None => scenario.to_owned(),
            Some(_) => format!("{scenario}-pg{}", self.nodes),
        }
    }

    /// What the progress lines add to the scenario's name.
    fn describe(&self) -> String {
        match (self.postgres, self.nodes) {
            (None, _) => String::new(),
            (Some(_), 1) => " on PostgreSQL, 1 node".to_owned(),
            (Some(_), n) => format!(" on PostgreSQL, {n} nodes"),
        }
    }
}

/// The nodes, a signed-in session on each, and the receiver.
struct Setup {
    nodes: Vec<Vizhook>,
    apis: Vec<Api>,
    receiver: Receiver,
    created_s: f64,
}

async fn stop(nodes: Vec<Vizhook>) {
    for node in nodes {
        node.stop().await;
    }
}

/// Starts the nodes one after the other (the first creates the database's schema and its
/// administrator) and a receiver, signs in on each node and creates one webhook per path.
async fn setup(
    args: &Args,
    scenario: &str,
    binary: &Path,
    target: &Target<'_>,
    webhooks: u64,
) -> anyhow::Result<Setup> {
    let label = target.label(scenario);
    let (mut nodes, mut apis) = (Vec::new(), Vec::new());
    for i in 1..=target.nodes.max(1) {
        let name = if target.nodes > 1 {
            format!("{label}-node{i}")
        } else {
            label.clone()
        };
        let log_file = args
            .vizhook_log_file
            .as_ref()
            .map(|f| PathBuf::from(f.replace("SCENARIO", &name)));
        let database = target.postgres.map(|db| db.url.as_str());
        let node = Vizhook::start(binary, database, &args.vizhook_log, log_file.as_deref()).await?;
        apis.push(Api::sign_in(&node.base).await?);
        nodes.push(node);
    }
    let receiver = Receiver::start().await?;
    let started = now_ns();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for task in 0..webhooks.min(16) {
        let api = apis[task as usize % apis.len()].clone();
        let (next, url) = (next.clone(), receiver.url("/hook/"));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= webhooks {
                    return anyhow::Ok(());
                }
                api.create_webhook(&format!("b{i}"), &format!("{url}{i}"))
                    .await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let created_s = (now_ns() - started) as f64 / 1e9;
    Ok(Setup {
        nodes,
        apis,
        receiver,
        created_s,
    })
}

/// Fan-out 1: as many events as fast as several injectors can commit them, into one webhook;
/// with several nodes, injector `i` posts to node `i mod nodes`.
pub(crate) async fn throughput(
    args: &Args,
    binary: &Path,
    target: &Target<'_>,
) -> anyhow::Result<Throughput> {
    let (events, batch) = (args.events, args.batch);
    eprintln!(
        "throughput{}: {events} events, {} injectors x {batch} per request, 1 webhook",
        target.describe(),
        args.injectors
    );
    let Setup {
        mut nodes,
        apis,
        receiver,
        ..
    } = setup(args, "throughput", binary, target, 1).await?;
    let mut watch = Watch::open(target.postgres).await?;
    let window = Window::open(&nodes);
    let started = now_ns();
    inject_all(args, &apis, events).await?;
    let injected = now_ns();
    let complete = wait_distinct(&receiver, events, secs(args.stall_timeout)).await;
    let mut process = window.close(&mut nodes)?;
    watch.close(&nodes).await?;
    stop(nodes).await;
    process.postgres = watch.finish().await?;
    let arrivals = Arrivals::of(&receiver);
    let (first_to_last_s, deliveries_per_s) = arrivals.span();
    let (while_injecting_per_s, after_injection_per_s) = arrivals.phases(started, injected);
    let inject_s = (injected - started) as f64 / 1e9;
    let end_to_end_s = (arrivals.last_ns().max(started) - started) as f64 / 1e9;
    Ok(Throughput {
        events,
        injectors: args.injectors,
        batch,
        inject_s,
        accepted_per_s: events as f64 / inject_s,
        delivered: arrivals.distinct,
        duplicates: arrivals.duplicates,
        complete,
        first_to_last_s,
        deliveries_per_s,
        while_injecting_per_s,
        after_injection_per_s,
        end_to_end_s,
        end_to_end_per_s: arrivals.distinct as f64 / end_to_end_s,
        ratio_to_ceiling: None,
        stalls: arrivals.stalls(),
        receiver_connections: arrivals.connections,
        event_to_delivery: arrivals.first_attempt,
        process,
    })
}

/// A fixed injection rate (a request every 10 ms, taking turns among the nodes), measuring how
/// long each event takes from being sent to vizhook to its first delivery attempt arriving.
pub(crate) async fn latency(
    args: &Args,
    binary: &Path,
    target: &Target<'_>,
) -> anyhow::Result<Latency> {
    let ticks = (secs(args.latency_duration).as_secs_f64() / TICK.as_secs_f64()).round() as u64;
    eprintln!(
        "latency{}: {} events/s for {} s ({} events every {TICK:?})",
        target.describe(),
        args.rate,
        args.latency_duration,
        args.rate as f64 / TICKS_PER_S as f64
    );
    let Setup {
        mut nodes,
        apis,
        receiver,
        ..
    } = setup(args, "latency", binary, target, 1).await?;
    let mut watch = Watch::open(target.postgres).await?;
    let window = Window::open(&nodes);
    let Paced {
        sent,
        first_send,
        last_send,
        round_trips,
    } = paced(&apis, args.rate, ticks, || false).await?;
    let complete = wait_distinct(&receiver, sent, secs(args.stall_timeout)).await;
    let mut process = window.close(&mut nodes)?;
    watch.close(&nodes).await?;
    stop(nodes).await;
    process.postgres = watch.finish().await?;
    let arrivals = Arrivals::of(&receiver);
    Ok(Latency {
        rate: args.rate,
        duration_s: args.latency_duration,
        events: sent,
        achieved_rate: achieved_rate(sent, first_send, last_send),
        delivered: arrivals.distinct,
        duplicates: arrivals.duplicates,
        complete,
        receiver_connections: arrivals.connections,
        event_to_first_attempt: arrivals.first_attempt,
        inject_round_trip: Latencies::of(round_trips),
        process,
    })
}

/// Injects `events` events (sequence numbers 1 to `events`) as fast as `args.injectors`
/// tasks of `args.batch` events per request get them committed, injector `i` posting to
/// session `i mod sessions`; returns once every one was accepted.
pub(crate) async fn inject_all(args: &Args, apis: &[Api], events: u64) -> anyhow::Result<()> {
    let batch = args.batch;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for injector in 0..args.injectors.max(1) {
        let (api, next) = (apis[injector % apis.len()].clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= events {
                    return anyhow::Ok(());
                }
                let sent_ns = now_ns();
                let batch: Vec<(u64, u64)> = (first..(first + batch).min(events))
                    .map(|seq| (sent_ns, seq + 1))
                    .collect();
                api.inject(&batch).await?;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

/// The paced injection's tick: one request every 10 ms.
pub(crate) const TICK: Duration = Duration::from_millis(10);
const TICKS_PER_S: u64 = 100;

/// What a paced injection sent: how many events, when the first and the last request went,
/// and each request's round trip (send to 202).
pub(crate) struct Paced {
    pub(crate) sent: u64,
    pub(crate) first_send: Option<u64>,
    pub(crate) last_send: u64,
    pub(crate) round_trips: Vec<u64>,
}

/// Injects `rate` events a second, one request every [`TICK`] taking turns among the
/// sessions, for `ticks` ticks or until `stop` (asked before each tick) says to stop.
pub(crate) async fn paced(
    apis: &[Api],
    rate: u64,
    ticks: u64,
    mut stop: impl FnMut() -> bool,
) -> anyhow::Result<Paced> {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let (mut sent, mut first_send, mut last_send) = (0_u64, None, 0_u64);
    let mut tasks = JoinSet::new();
    for tick in 1..=ticks {
        interval.tick().await;
        if stop() {
            break;
        }
        let due = rate * tick / TICKS_PER_S;
        if due == sent {
            continue;
        }
        let sent_ns = now_ns();
        first_send.get_or_insert(sent_ns);
        last_send = sent_ns;
        let batch: Vec<(u64, u64)> = (sent..due).map(|seq| (sent_ns, seq + 1)).collect();
        sent = due;
        let api = apis[tick as usize % apis.len()].clone();
        tasks.spawn(async move {
            api.inject(&batch).await?;
            anyhow::Ok(now_ns() - sent_ns)
        });
    }
    let mut round_trips = Vec::with_capacity(ticks.min(1 << 16) as usize);
    while let Some(result) = tasks.join_next().await {
        round_trips.push(result??);
    }
    Ok(Paced {
        sent,
        first_send,
        last_send,
        round_trips,
    })
}

/// Events per second a paced injection achieved over its requests' span.
pub(crate) fn achieved_rate(sent: u64, first_send: Option<u64>, last_send: u64) -> f64 {
    let send_span = (last_send - first_send.unwrap_or(last_send)) as f64 / 1e9;
    if send_span > 0.0 {
        sent as f64 / (send_span + TICK.as_secs_f64())
    } else {
        0.0
    }
}

/// Many webhooks on one event: every injected event is delivered to each of them.
pub(crate) async fn fanout(args: &Args, binary: &Path) -> anyhow::Result<Fanout> {
    let (webhooks, events) = (args.fanout_webhooks, args.fanout_events);
    let expected = webhooks * events;
    eprintln!("fan-out: {webhooks} webhooks x {events} events = {expected} deliveries");
    let Setup {
        mut nodes,
        apis,
        receiver,
        created_s: create_webhooks_s,
    } = setup(args, "fanout", binary, &Target::SQLITE, webhooks).await?;
    let api = &apis[0];
    let window = Window::open(&nodes);
    let started = now_ns();
    let mut seq = 0;
    while seq < events {
        let sent_ns = now_ns();
        let end = (seq + 1000).min(events);
        let batch: Vec<(u64, u64)> = (seq..end).map(|s| (sent_ns, s + 1)).collect();
        api.inject(&batch).await?;
        seq = end;
    }
    let inject_s = (now_ns() - started) as f64 / 1e9;
    let complete = wait_distinct(&receiver, expected, secs(args.stall_timeout)).await;
    let process = window.close(&mut nodes)?;
    stop(nodes).await;
    let arrivals = Arrivals::of(&receiver);
    let (first_to_last_s, deliveries_per_s) = arrivals.span();
    Ok(Fanout {
        webhooks,
        events,
        expected,
        create_webhooks_s,
        inject_s,
        delivered: arrivals.distinct,
        duplicates: arrivals.duplicates,
        complete,
        first_to_last_s,
        deliveries_per_s,
        all_delivered_s: (arrivals.last_ns().max(started) - started) as f64 / 1e9,
        stalls: arrivals.stalls(),
        receiver_connections: arrivals.connections,
        event_to_delivery: arrivals.first_attempt,
        process,
    })
}
