//! The bare loopback ceiling: a plain pooled keep-alive client driving the receiver in this
//! same process, with nothing in between: what loopback HTTP costs on this machine. Measured in
//! several rounds (the median counts), because on a shared virtual machine it varies.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::ensure;
use reqwest::Client;
use tokio::task::JoinSet;

use crate::{
    Args, now_ns, procfs,
    receiver::{Hit, Receiver},
    report::Ceiling,
    secs,
    stats::Latencies,
};

const WARMUP: Duration = Duration::from_millis(500);
const SITE: &str = "8b2a95d8-52b9-40a4-8712-cd6da771bd1b";

/// Runs `--ceiling-rounds` rounds and reports the median one, with every round's rate.
pub(crate) async fn ceiling(args: &Args) -> anyhow::Result<Ceiling> {
    eprintln!(
        "ceiling: {} client tasks, {} rounds of {} s (+{WARMUP:?} warm-up each)",
        args.concurrency, args.ceiling_rounds, args.duration
    );
    let mut rounds = Vec::new();
    for _ in 0..args.ceiling_rounds.max(1) {
        rounds.push(round(args).await?);
    }
    let rates: Vec<f64> = rounds.iter().map(|r| r.requests_per_s).collect();
    rounds.sort_by(|a, b| a.requests_per_s.total_cmp(&b.requests_per_s));
    let mut median = rounds.swap_remove(rounds.len() / 2);
    median.rounds = rates;
    Ok(median)
}

/// A body shaped and sized like vizhook's delivery of a `ViewDeleted` event.
pub(crate) fn tableau_body(sent_ns: u64, seq: u64) -> String {
    format!(
        r#"{{"resource":"VIEW","event_type":"ViewDeleted","resource_name":"{sent_ns}","site_luid":"{SITE}","resource_luid":"{seq}","created_at":"2024-06-01T12:00:00Z"}}"#
    )
}

/// Drives the receiver with a plain pooled keep-alive client: what loopback HTTP costs on this
/// machine with nothing in between.
async fn round(args: &Args) -> anyhow::Result<Ceiling> {
    let receiver = Receiver::start().await?;
    let client = Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .user_agent("vizhook/0.1.0")
        .build()?;
    let url = receiver.url("/hook/0");
    let measure_from = now_ns() + WARMUP.as_nanos() as u64;
    let stop_at = measure_from + secs(args.duration).as_nanos() as u64;
    let seq = Arc::new(AtomicU64::new(1));
    let mut tasks = JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, url, seq) = (client.clone(), url.clone(), seq.clone());
        tasks.spawn(async move {
            loop {
                let now = now_ns();
                if now >= stop_at {
                    return anyhow::Ok(());
                }
                let response = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
                    .body(tableau_body(now, seq.fetch_add(1, Ordering::Relaxed)))
                    .send()
                    .await?;
                ensure!(
                    response.status().is_success(),
                    "receiver answered {}",
                    response.status()
                );
                response.bytes().await?;
            }
        });
    }
    sleep_until_ns(measure_from).await;
    let before = procfs::snapshot("self");
    sleep_until_ns(stop_at).await;
    let after = procfs::snapshot("self");
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let hits: Vec<Hit> = receiver
        .hits()
        .into_iter()
        .filter(|h| (measure_from..stop_at).contains(&h.at_ns))
        .collect();
    let measured_s = (stop_at - measure_from) as f64 / 1e9;
    let bench_cpu = after.since(&before);
    Ok(Ceiling {
        other_cores: after.other_cores(&before, &[&bench_cpu], measured_s),
        concurrency: args.concurrency,
        duration_s: measured_s,
        requests: hits.len() as u64,
        receiver_connections: receiver.connections(),
        requests_per_s: hits.len() as f64 / measured_s,
        one_way: Latencies::of(hits.iter().map(|h| h.at_ns.saturating_sub(h.sent_ns))),
        bench_cpu,
        machine_busy_pct: after.machine_busy_pct(&before),
        rounds: Vec::new(),
    })
}

async fn sleep_until_ns(at_ns: u64) {
    let now = now_ns();
    if at_ns > now {
        tokio::time::sleep(Duration::from_nanos(at_ns - now)).await;
    }
}
