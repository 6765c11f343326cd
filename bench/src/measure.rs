//! What a delivery scenario measures: the CPU and memory of its vizhook nodes (one, or several
//! sharing a PostgreSQL database) and of this process over the measured window, and what
//! arrived at the receiver (distinct deliveries, repeats, latencies, pauses, rates).

use std::{
    collections::{BTreeMap, HashSet},
    sync::atomic::Ordering,
    time::Duration,
};

use crate::{
    figures::{Process, Stalls},
    now_ns,
    procfs::{self, CpuSnapshot, CpuUse},
    receiver::{Hit, Receiver},
    stats::Latencies,
    vizhook::Vizhook,
};

/// CPU and memory of the vizhook nodes and of this process over one scenario's measured
/// window.
pub(crate) struct Window {
    nodes: Vec<CpuSnapshot>,
    bench: CpuSnapshot,
    processes: BTreeMap<u32, (String, u64)>,
    start_ns: u64,
}

impl Window {
    pub(crate) fn open(nodes: &[Vizhook]) -> Self {
        Self {
            nodes: nodes
                .iter()
                .map(|n| procfs::snapshot(&n.pid.to_string()))
                .collect(),
            bench: procfs::snapshot("self"),
            processes: procfs::all_processes(),
            start_ns: now_ns(),
        }
    }

    /// The window's figures; vizhook's CPU, peak memory and log problems are summed over the
    /// nodes.
    pub(crate) fn close(self, nodes: &mut [Vizhook]) -> anyhow::Result<Process> {
        for node in nodes.iter_mut() {
            node.ensure_alive()?;
        }
        let vizhook_cpu = sum(nodes
            .iter()
            .zip(&self.nodes)
            .map(|(node, before)| procfs::snapshot(&node.pid.to_string()).since(before)));
        let bench = procfs::snapshot("self");
        let wall_s = (now_ns() - self.start_ns) as f64 / 1e9;
        let bench_cpu = bench.since(&self.bench);
        let rss: Option<Vec<f64>> = nodes.iter().map(|n| procfs::peak_rss_mib(n.pid)).collect();
        let mut skip: Vec<u32> = nodes.iter().map(|n| n.pid).collect();
        skip.push(std::process::id());
        Ok(Process {
            wall_s,
            vizhook_peak_rss_mib: rss.map(|r| r.iter().sum()),
            machine_busy_pct: bench.machine_busy_pct(&self.bench),
            other_cores: bench.other_cores(&self.bench, &[&vizhook_cpu, &bench_cpu], wall_s),
            irq_cores: bench.irq_cores(&self.bench),
            others: procfs::top_others(&self.processes, &procfs::all_processes(), &skip),
            vizhook_cpu,
            bench_cpu,
            vizhook_log_problems: nodes
                .iter()
                .map(|n| n.log_problems.load(Ordering::Relaxed))
                .sum(),
            postgres: None,
        })
    }
}

/// The CPU of several processes as one: seconds added, threads of one name added.
fn sum(uses: impl Iterator<Item = CpuUse>) -> CpuUse {
    let mut cpu_s = 0.0;
    let mut threads: BTreeMap<String, f64> = BTreeMap::new();
    for used in uses {
        cpu_s += used.cpu_s;
        for (name, s) in used.threads {
            *threads.entry(name).or_insert(0.0) += s;
        }
    }
    let mut threads: Vec<(String, f64)> = threads.into_iter().collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
    CpuUse { cpu_s, threads }
}

/// Waits until `expected` distinct `(event, webhook)` deliveries have arrived, or none for
/// `stall`: with several nodes a delivery may arrive twice (at least once), and a repeat must
/// not stand in for one still to come. Returns whether all arrived.
pub(crate) async fn wait_distinct(receiver: &Receiver, expected: u64, stall: Duration) -> bool {
    let mut target = expected;
    loop {
        if !receiver.wait_for(target, stall).await {
            return false;
        }
        let hits = receiver.hits();
        let distinct = hits
            .iter()
            .map(|h| (h.seq, h.hook))
            .collect::<HashSet<_>>()
            .len() as u64;
        if distinct >= expected {
            return true;
        }
        // Every repeat so far raises the count the distinct ones need.
        target = hits.len() as u64 + (expected - distinct);
    }
}

/// What arrived, per distinct `(event, webhook)`: the first attempt's latency, and how many
/// requests were repeats.
pub(crate) struct Arrivals {
    hits: Vec<Hit>,
    pub(crate) distinct: u64,
    pub(crate) duplicates: u64,
    pub(crate) first_attempt: Latencies,
    pub(crate) connections: u64,
}

impl Arrivals {
    pub(crate) fn of(receiver: &Receiver) -> Self {
        let hits = receiver.hits();
        let mut seen = HashSet::with_capacity(hits.len());
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
    pub(crate) fn stalls(&self) -> Stalls {
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

    /// Seconds from the first to the last arrival, and the rate of distinct deliveries over
    /// that span (repeats do not count).
    pub(crate) fn span(&self) -> (f64, f64) {
        match (self.hits.first(), self.hits.last()) {
            (Some(first), Some(last)) if last.at_ns > first.at_ns => {
                let span = (last.at_ns - first.at_ns) as f64 / 1e9;
                (span, self.distinct.saturating_sub(1) as f64 / span)
            }
            _ => (0.0, 0.0),
        }
    }

    /// Deliveries per second while events were still being injected (from `started` to
    /// `injected`) and after (from `injected` to the last arrival): the first shows how
    /// delivery fares while it shares the machine and the store with ingestion.
    pub(crate) fn phases(&self, started: u64, injected: u64) -> (f64, f64) {
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

    pub(crate) fn last_ns(&self) -> u64 {
        self.hits.last().map_or(0, |h| h.at_ns)
    }
}
