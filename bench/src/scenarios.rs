//! The three vizhook scenarios: throughput at fan-out 1, latency at a fixed injection rate, and
//! fan-out to many webhooks. Each runs on a fresh vizhook process and database, and measures
//! its window from the first injection to the last delivery.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{task::JoinSet, time::MissedTickBehavior};

use crate::{
    Args, now_ns,
    procfs::{self, CpuSnapshot},
    receiver::{Hit, Receiver},
    report::{Fanout, Latency, Process, Stalls, Throughput},
    secs,
    stats::Latencies,
    vizhook::{Api, Vizhook},
};

/// CPU and memory of vizhook and of this process over one scenario's measured window.
pub(crate) struct Window {
    vizhook: CpuSnapshot,
    bench: CpuSnapshot,
    processes: BTreeMap<u32, (String, u64)>,
    start_ns: u64,
}

impl Window {
    pub(crate) fn open(vizhook: &Vizhook) -> Self {
        Self {
            vizhook: procfs::snapshot(&vizhook.pid.to_string()),
            bench: procfs::snapshot("self"),
            processes: procfs::all_processes(),
            start_ns: now_ns(),
        }
    }

    pub(crate) fn close(self, vizhook: &mut Vizhook) -> anyhow::Result<Process> {
        vizhook.ensure_alive()?;
        let after = procfs::snapshot(&vizhook.pid.to_string());
        let bench = procfs::snapshot("self");
        let wall_s = (now_ns() - self.start_ns) as f64 / 1e9;
        let vizhook_cpu = after.since(&self.vizhook);
        let bench_cpu = bench.since(&self.bench);
        Ok(Process {
            wall_s,
            vizhook_peak_rss_mib: procfs::peak_rss_mib(vizhook.pid),
            machine_busy_pct: bench.machine_busy_pct(&self.bench),
            other_cores: bench.other_cores(&self.bench, &[&vizhook_cpu, &bench_cpu], wall_s),
            irq_cores: bench.irq_cores(&self.bench),
            others: procfs::top_others(
                &self.processes,
                &procfs::all_processes(),
                &[vizhook.pid, std::process::id()],
            ),
            vizhook_cpu,
            bench_cpu,
            vizhook_log_problems: vizhook.log_problems.load(Ordering::Relaxed),
        })
    }
}

/// What arrived, per distinct `(event, webhook)`: the first attempt's latency, and how many
/// requests were repeats.
struct Arrivals {
    hits: Vec<Hit>,
    distinct: u64,
    duplicates: u64,
    first_attempt: Latencies,
    connections: u64,
}

impl Arrivals {
    fn of(receiver: &Receiver) -> Self {
        let hits = receiver.hits();
        let mut seen = std::collections::HashSet::with_capacity(hits.len());
        let mut latencies = Vec::with_capacity(hits.len());
        for hit in &hits {
            if seen.insert((hit.seq, hit.hook)) {
                latencies.push(hit.at_ns.saturating_sub(hit.sent_ns));
            }
        }
        Self {
            distinct: seen.len() as u64,
            duplicates: (hits.len() - seen.len()) as u64,
            first_attempt: Latencies::of(latencies),
            connections: receiver.connections(),
            hits,
        }
    }

    /// Pauses of at least `STALL` between consecutive arrivals: how often, and how long in
    /// all, the receiver sat idle while deliveries were still to come.
    fn stalls(&self) -> Stalls {
        const STALL: u64 = 10_000_000;
        let gaps = self.hits.windows(2).map(|w| w[1].at_ns - w[0].at_ns);
        let (count, total) = gaps
            .filter(|gap| *gap >= STALL)
            .fold((0, 0), |(n, t), gap| (n + 1, t + gap));
        Stalls {
            count,
            total_s: total as f64 / 1e9,
        }
    }

    /// Seconds from the first to the last arrival, and the rate over that span.
    fn span(&self) -> (f64, f64) {
        match (self.hits.first(), self.hits.last()) {
            (Some(first), Some(last)) if last.at_ns > first.at_ns => {
                let span = (last.at_ns - first.at_ns) as f64 / 1e9;
                (span, (self.hits.len() - 1) as f64 / span)
            }
            _ => (0.0, 0.0),
        }
    }

    /// Deliveries per second while events were still being injected (from `started` to
    /// `injected`) and after (from `injected` to the last arrival): the first shows how
    /// delivery fares while it shares the machine and the store with ingestion.
    fn phases(&self, started: u64, injected: u64) -> (f64, f64) {
        let during = self.hits.iter().filter(|h| h.at_ns <= injected).count();
        let after = self.hits.len() - during;
        let rate = |count: usize, from: u64, to: u64| {
            if to > from {
                count as f64 / ((to - from) as f64 / 1e9)
            } else {
                0.0
            }
        };
        (
            rate(during, started, injected),
            rate(after, injected, self.last_ns()),
        )
    }

    fn last_ns(&self) -> u64 {
        self.hits.last().map_or(0, |h| h.at_ns)
    }
}

/// Starts vizhook and a receiver, signs in and creates one webhook per path.
async fn setup(
    args: &Args,
    scenario: &str,
    binary: &Path,
    webhooks: u64,
) -> anyhow::Result<(Vizhook, Api, Receiver, f64)> {
    let log_file = args
        .vizhook_log_file
        .as_ref()
        .map(|f| PathBuf::from(f.replace("SCENARIO", scenario)));
    let vizhook = Vizhook::start(binary, &args.vizhook_log, log_file.as_deref()).await?;
    let api = Api::sign_in(&vizhook.base).await?;
    let receiver = Receiver::start().await?;
    let started = now_ns();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..webhooks.min(16) {
        let (api, next, url) = (api.clone(), next.clone(), receiver.url("/hook/"));
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
    Ok((vizhook, api, receiver, created_s))
}

/// Fan-out 1: as many events as fast as several injectors can commit them, into one webhook.
pub(crate) async fn throughput(args: &Args, binary: &Path) -> anyhow::Result<Throughput> {
    let (events, batch) = (args.events, args.batch);
    eprintln!(
        "throughput: {events} events, {} injectors x {batch} per request, 1 webhook",
        args.injectors
    );
    let (mut vizhook, api, receiver, _) = setup(args, "throughput", binary, 1).await?;
    let window = Window::open(&vizhook);
    let next = Arc::new(AtomicU64::new(0));
    let started = now_ns();
    let mut tasks = JoinSet::new();
    for _ in 0..args.injectors.max(1) {
        let (api, next) = (api.clone(), next.clone());
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
    let injected = now_ns();
    let complete = receiver.wait_for(events, secs(args.stall_timeout)).await;
    let process = window.close(&mut vizhook)?;
    vizhook.stop().await;
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

/// A fixed injection rate (a request every 10 ms), measuring how long each event takes from
/// being sent to vizhook to its first delivery attempt arriving.
pub(crate) async fn latency(args: &Args, binary: &Path) -> anyhow::Result<Latency> {
    const TICK: Duration = Duration::from_millis(10);
    let ticks = (secs(args.latency_duration).as_secs_f64() / TICK.as_secs_f64()).round() as u64;
    let ticks_per_s = (1.0 / TICK.as_secs_f64()).round() as u64;
    eprintln!(
        "latency: {} events/s for {} s ({} events every {TICK:?})",
        args.rate,
        args.latency_duration,
        args.rate as f64 / ticks_per_s as f64
    );
    let (mut vizhook, api, receiver, _) = setup(args, "latency", binary, 1).await?;
    let window = Window::open(&vizhook);
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let (mut sent, mut first_send, mut last_send) = (0_u64, None, 0_u64);
    let mut tasks = JoinSet::new();
    for tick in 1..=ticks {
        interval.tick().await;
        let target = args.rate * tick / ticks_per_s;
        if target == sent {
            continue;
        }
        let sent_ns = now_ns();
        first_send.get_or_insert(sent_ns);
        last_send = sent_ns;
        let batch: Vec<(u64, u64)> = (sent..target).map(|seq| (sent_ns, seq + 1)).collect();
        sent = target;
        let api = api.clone();
        tasks.spawn(async move {
            api.inject(&batch).await?;
            anyhow::Ok(now_ns() - sent_ns)
        });
    }
    let mut round_trips = Vec::with_capacity(ticks as usize);
    while let Some(result) = tasks.join_next().await {
        round_trips.push(result??);
    }
    let complete = receiver.wait_for(sent, secs(args.stall_timeout)).await;
    let process = window.close(&mut vizhook)?;
    vizhook.stop().await;
    let arrivals = Arrivals::of(&receiver);
    let send_span = (last_send - first_send.unwrap_or(last_send)) as f64 / 1e9;
    Ok(Latency {
        rate: args.rate,
        duration_s: args.latency_duration,
        events: sent,
        achieved_rate: if send_span > 0.0 {
            sent as f64 / (send_span + TICK.as_secs_f64())
        } else {
            0.0
        },
        delivered: arrivals.distinct,
        duplicates: arrivals.duplicates,
        complete,
        receiver_connections: arrivals.connections,
        event_to_first_attempt: arrivals.first_attempt,
        inject_round_trip: Latencies::of(round_trips),
        process,
    })
}

/// Many webhooks on one event: every injected event is delivered to each of them.
pub(crate) async fn fanout(args: &Args, binary: &Path) -> anyhow::Result<Fanout> {
    let (webhooks, events) = (args.fanout_webhooks, args.fanout_events);
    let expected = webhooks * events;
    eprintln!("fan-out: {webhooks} webhooks x {events} events = {expected} deliveries");
    let (mut vizhook, api, receiver, create_webhooks_s) =
        setup(args, "fanout", binary, webhooks).await?;
    let window = Window::open(&vizhook);
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
    let complete = receiver.wait_for(expected, secs(args.stall_timeout)).await;
    let process = window.close(&mut vizhook)?;
    vizhook.stop().await;
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
