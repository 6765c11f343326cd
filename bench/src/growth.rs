//! The data-growth scenario: `serve` on a SQLite database filled as the 7-day retention leaves
//! it (millions of finished deliveries, attempts and events over the week) plus one more day
//! due for pruning. It measures, in order:
//! - deliveries at a fixed rate while retention prunes that day, the p99 of deliveries in
//!   flight during the prune beside the p99 of the others;
//! - the delivery log's newest page and a page four days deep;
//! - the throughput scenario's load on the full database, beside the empty database's;
//! - the database file and its free pages after the fill, the prune and the new rows.
//!
//! The goals: throughput within 20% of the empty database's, log pages at p99 <= 50 ms, and,
//! vizhook's own bar, the same 50 ms for the p99 of deliveries in flight while a day is pruned
//! (a sweep may slow them, never stall them).
//!
//! The day to prune is written with completion times inside a quarter of a second that
//! passes retention 20 s after the fill, so that the start's sweep finds nothing and a sweep
//! on the 5 s prune interval takes the whole day while the deliveries flow.

mod fill;

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use serde::Serialize;

use crate::{
    Args,
    figures::{Goal, Process, Throughput},
    measure::{Arrivals, Window, wait_distinct},
    now_ns,
    receiver::Receiver,
    scenarios::{inject_all, paced},
    secs, settle_disk,
    stats::Latencies,
    vizhook::{Api, Vizhook},
};
pub(crate) use fill::FileSize;

const RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// `[delivery]` of this scenario's `serve`.
const DELIVERY: &str = "retention = \"7d\"\nprune_interval = \"5s\"\n";
/// How long after the fill the day to prune passes retention.
const RIPE_AFTER: Duration = Duration::from_secs(20);
/// The fixed-rate phase ends this long after the last sweep, or at `FLOW_LIMIT`.
const AFTER_SWEEP: Duration = Duration::from_secs(5);
const FLOW_LIMIT: Duration = Duration::from_secs(180);
/// Requests per log page figure, and deliveries per page (the API's default page).
const PAGE_REQUESTS: usize = 200;
const PAGE_ROWS: u32 = 50;

/// What the sweeps during the fixed-rate phase removed, from their log lines.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Sweep {
    pub(crate) sweeps: u64,
    pub(crate) deliveries: u64,
    pub(crate) events: u64,
    pub(crate) steps: u64,
    /// From the first sweep's start to the last one's end.
    pub(crate) span_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct GrowthThroughput {
    pub(crate) events: u64,
    pub(crate) delivered: u64,
    pub(crate) complete: bool,
    pub(crate) deliveries_per_s: f64,
    pub(crate) cpu_us_per_delivery: f64,
    pub(crate) process: Process,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Growth {
    /// Finished deliveries (each with its event) of the retained week, and of the day to prune.
    pub(crate) retained_deliveries: u64,
    pub(crate) day_deliveries: u64,
    pub(crate) attempts: u64,
    pub(crate) fill_s: f64,
    pub(crate) filled: FileSize,
    pub(crate) rate: u64,
    pub(crate) flow_events: u64,
    pub(crate) flow_delivered: u64,
    pub(crate) flow_complete: bool,
    pub(crate) prune: Sweep,
    /// Event to first attempt of the deliveries in flight while a sweep ran, and of the rest.
    pub(crate) during_prune: Latencies,
    pub(crate) outside_prune: Latencies,
    pub(crate) pruned: FileSize,
    pub(crate) page_rows: u32,
    pub(crate) newest_page: Latencies,
    pub(crate) deep_page: Latencies,
    pub(crate) throughput: GrowthThroughput,
    /// Deliveries per second here over the empty database's in the same run.
    pub(crate) ratio_to_empty: Option<f64>,
    pub(crate) after_throughput: FileSize,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

pub(crate) async fn growth(
    args: &Args,
    binary: &Path,
    empty: Option<&Throughput>,
) -> anyhow::Result<Growth> {
    let retained = args.growth_deliveries;
    let day = retained / 7;
    eprintln!("growth: {retained} finished deliveries over 7 days and {day} more due for pruning");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("growth.db");
    let url = format!("sqlite://{}", path.display());
    let receiver = Receiver::start().await?;
    let node = start(args, binary, &url, "growth-setup").await?;
    let webhook = Api::sign_in(&node.base)
        .await?
        .create_webhook("growth", &receiver.url("/hook/0"))
        .await?;
    node.stop().await;

    let ((attempts, ripe), fill_s) = fill::timed(async {
        let mut filler = fill::Filler::open(&path, &webhook).await?;
        // The week's oldest rows pass retention a quarter of an hour from now, well after the
        // scenario: the only sweep while it runs is the day's.
        let (minute, margin) = (Duration::from_secs(60), Duration::from_secs(15 * 60));
        let now = unix_now();
        filler
            .rows(
                retained,
                now - RETENTION + margin,
                RETENTION - margin - minute,
            )
            .await?;
        // Gigabytes written at once and left to the kernel's writeback would hold the first
        // fsyncs of `serve` back for most of a second, which production never sees.
        filler.checkpoint().await?;
        settle_disk().await;
        // Created in 100 ms, finished at most 140 ms later: all pass retention within the
        // 300 ms before `ripe`.
        let ripe = unix_now() + RIPE_AFTER;
        let from = ripe - RETENTION - Duration::from_millis(300);
        filler.rows(day, from, Duration::from_millis(100)).await?;
        let attempts = filler.attempts;
        filler.finish().await?;
        settle_disk().await;
        Ok((attempts, ripe))
    })
    .await?;
    eprintln!("  filled in {fill_s:.1} s");
    let filled = FileSize::read(&path).await?;

    let mut nodes = vec![start(args, binary, &url, "growth").await?];
    let api = Api::sign_in(&nodes[0].base).await?;
    anyhow::ensure!(
        unix_now() < ripe,
        "serve took too long to start: the day to prune passed retention before it listened"
    );
    eprintln!(
        "  deliveries at {}/s while retention prunes the day",
        args.rate
    );
    let flow_start = now_ns();
    let sweeps = nodes[0].sweeps.clone();
    let flow_limit = flow_start + FLOW_LIMIT.as_nanos() as u64;
    let flow = paced(std::slice::from_ref(&api), args.rate, u64::MAX, || {
        let last = sweeps.lock().ok().and_then(|s| s.last().map(|(at, _)| *at));
        let now = now_ns();
        now >= flow_limit || last.is_some_and(|at| now >= at + AFTER_SWEEP.as_nanos() as u64)
    })
    .await?;
    let flow_complete = wait_distinct(&receiver, flow.sent, secs(args.stall_timeout)).await;
    let lines: Vec<(u64, String)> = nodes[0]
        .sweeps
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let (prune, window) = sweep_of(&lines, flow_start);
    let arrivals = receiver.hits();
    let in_sweep = |at: u64, sent: u64| window.is_some_and(|(from, to)| at >= from && sent <= to);
    let latency = |during: bool| {
        Latencies::of(
            arrivals
                .iter()
                .filter(|h| in_sweep(h.at_ns, h.sent_ns) == during)
                .map(|h| h.at_ns.saturating_sub(h.sent_ns)),
        )
    };
    let (during_prune, outside_prune) = (latency(true), latency(false));
    let flow_delivered = Arrivals::of(&receiver).distinct;
    let pruned = FileSize::read(&path).await?;

    eprintln!("  delivery log pages");
    let deep = time::OffsetDateTime::now_utc() - time::Duration::days(4);
    let deep = deep
        .replace_nanosecond(0)?
        .format(&time::format_description::well_known::Rfc3339)?;
    let newest_page = pages(&api, &webhook, None).await?;
    let deep_page = pages(&api, &webhook, Some(&deep)).await?;

    eprintln!("  throughput: {} events on the full database", args.events);
    receiver.clear();
    let window = Window::open(&nodes);
    inject_all(args, std::slice::from_ref(&api), args.events).await?;
    let complete = wait_distinct(&receiver, args.events, secs(args.stall_timeout)).await;
    let process = window.close(&mut nodes)?;
    let arrivals = Arrivals::of(&receiver);
    let (_, deliveries_per_s) = arrivals.span();
    let after_throughput = FileSize::read(&path).await?;
    for node in nodes {
        node.stop().await;
    }
    Ok(Growth {
        retained_deliveries: retained,
        day_deliveries: day,
        attempts,
        fill_s,
        filled,
        rate: args.rate,
        flow_events: flow.sent,
        flow_delivered,
        flow_complete,
        prune,
        during_prune,
        outside_prune,
        pruned,
        page_rows: PAGE_ROWS,
        newest_page,
        deep_page,
        ratio_to_empty: empty.map(|e| deliveries_per_s / e.deliveries_per_s),
        throughput: GrowthThroughput {
            events: args.events,
            delivered: arrivals.distinct,
            complete,
            deliveries_per_s,
            cpu_us_per_delivery: process.vizhook_cpu.cpu_s * 1e6 / arrivals.distinct.max(1) as f64,
            process,
        },
        after_throughput,
    })
}

async fn start(args: &Args, binary: &Path, url: &str, name: &str) -> anyhow::Result<Vizhook> {
    let log_file = args
        .vizhook_log_file
        .as_ref()
        .map(|f| std::path::PathBuf::from(f.replace("SCENARIO", name)));
    Vizhook::start_with(
        binary,
        Some(url),
        DELIVERY,
        &args.vizhook_log,
        log_file.as_deref(),
    )
    .await
}

/// The round trips of [`PAGE_REQUESTS`] requests, one after the other, for a page of the log.
async fn pages(api: &Api, webhook: &str, before: Option<&str>) -> anyhow::Result<Latencies> {
    let mut times = Vec::with_capacity(PAGE_REQUESTS);
    for _ in 0..PAGE_REQUESTS {
        let sent = now_ns();
        let rows = api.log_page(webhook, before, PAGE_ROWS).await?;
        times.push(now_ns() - sent);
        anyhow::ensure!(
            rows == PAGE_ROWS as usize,
            "a log page held {rows} deliveries"
        );
    }
    Ok(Latencies::of(times))
}

/// The sweeps logged at or after `since`, summed, and the span they ran in (on the clock of
/// [`now_ns`]: each line's reading time is its sweep's end).
fn sweep_of(lines: &[(u64, String)], since: u64) -> (Sweep, Option<(u64, u64)>) {
    let mut sweep = Sweep::default();
    let mut window: Option<(u64, u64)> = None;
    for (at, line) in lines.iter().filter(|(at, _)| *at >= since) {
        let field = |name: &str| field(line, name).unwrap_or(0);
        let start = at.saturating_sub(field("elapsed_ms") * 1_000_000);
        window = Some(window.map_or((start, *at), |(from, _)| (from, *at)));
        sweep.sweeps += 1;
        sweep.deliveries += field("deliveries");
        sweep.events += field("events");
        sweep.steps += field("steps");
    }
    if let Some((from, to)) = window {
        sweep.span_ms = (to - from) as f64 / 1e6;
    }
    (sweep, window)
}

/// The number after ` name=` in a log line.
fn field(line: &str, name: &str) -> Option<u64> {
    let key = format!(" {name}=");
    let rest = &line[line.find(&key)? + key.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

impl Growth {
    pub(crate) fn judge(&self, goals: &mut Vec<Goal>) {
        let millions = self.retained_deliveries as f64 / 1e6;
        let t = &self.throughput;
        goals.push(Goal {
            goal: format!(
                "growth: throughput on {millions:.1}M retained deliveries within 20% of the empty database's"
            ),
            measured: self.ratio_to_empty.map_or_else(
                || format!("{:.0}/s (the empty database was not measured)", t.deliveries_per_s),
                |r| format!("{r:.2} of it ({:.0}/s)", t.deliveries_per_s),
            ),
            met: t.complete && self.ratio_to_empty.is_some_and(|r| r >= 0.8),
        });
        for (which, page) in [
            ("newest", &self.newest_page),
            ("4 days deep", &self.deep_page),
        ] {
            goals.push(Goal {
                goal: format!("growth: delivery log page ({which}) p99 <= 50 ms"),
                measured: format!("{:.2} ms", page.p99_ms),
                met: page.p99_ms <= 50.0,
            });
        }
        let p = &self.prune;
        goals.push(Goal {
            goal: format!(
                "growth: a day's prune under {}/s, none lost, p99 of deliveries in flight <= 50 ms",
                self.rate
            ),
            measured: format!(
                "{} of {} deliveries in {} steps over {:.0} ms; p99 {:.2} ms during it, {:.2} ms outside",
                p.deliveries,
                self.day_deliveries,
                p.steps,
                p.span_ms,
                self.during_prune.p99_ms,
                self.outside_prune.p99_ms
            ),
            met: p.deliveries >= self.day_deliveries
                && self.during_prune.samples > 0
                && self.during_prune.p99_ms <= 50.0
                && self.flow_complete,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{field, sweep_of};

    #[test]
    fn reads_the_sweeps_from_the_log() {
        let line = "2026-12-08T03:00:00Z  INFO vizhook_delivery::retention: retention removed old deliveries deliveries=1200 events=1100 steps=3 elapsed_ms=40";
        assert_eq!(field(line, "events"), Some(1100));
        assert_eq!(field(line, "missing"), None);
        let lines = vec![(5_000_000, line.to_owned()), (900_000_000, line.to_owned())];
        let (sweep, window) = sweep_of(&lines, 1_000_000);
        assert_eq!((sweep.sweeps, sweep.deliveries, sweep.steps), (2, 2400, 6));
        assert_eq!(window, Some((0, 900_000_000)));
        assert_eq!(sweep_of(&lines, 1_000_000_000).1, None);
    }
}
