//! Driving the receiver: the closed loop (as fast as many keep-alive connections go, distinct
//! events and exact repeats), the open loop (a fixed rate, for the round trip), and how their
//! answers are counted.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use reqwest::{Client, StatusCode};
use tokio::{sync::Semaphore, task::JoinSet, time::MissedTickBehavior};

/// Answers other than the expected ones, by status and body.
pub(super) type Others = BTreeMap<String, u64>;

use crate::{Args, ceiling::tableau_body, now_ns, ns_at, secs};

/// POSTs one event; returns the status and the body, or the error.
pub(super) async fn post(
    client: &Client,
    url: &str,
    body: String,
) -> Result<(StatusCode, String), String> {
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
pub(super) struct Tally {
    pub(super) expected: u64,
    pub(super) others: Others,
    /// Send to answer, in nanoseconds, of the expected answers.
    pub(super) round_trips: Vec<u64>,
    /// The first unexpected answer, to show.
    pub(super) first_other: Option<String>,
}

impl Tally {
    pub(super) fn record(
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

    pub(super) fn merge(&mut self, other: Tally) {
        self.expected += other.expected;
        self.round_trips.extend(other.round_trips);
        for (name, n) in other.others {
            *self.others.entry(name).or_insert(0) += n;
        }
        if self.first_other.is_none() {
            self.first_other = other.first_other;
        }
    }

    pub(super) fn report_others(&self, phase: &str) {
        if let Some(first) = &self.first_other {
            eprintln!(
                "  {phase}: unexpected answers {:?}; first: {first}",
                self.others
            );
        }
    }
}

pub(super) fn accepted(status: StatusCode, _: &str) -> bool {
    status == StatusCode::ACCEPTED
}

pub(super) fn duplicate(status: StatusCode, body: &str) -> bool {
    status == StatusCode::OK && body.contains(r#""status":"duplicate""#)
}

/// Sends the events `seqs` (bodies from `body(seq)`) over `concurrency` keep-alive
/// connections, as fast as they are answered.
pub(super) async fn closed_loop(
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

/// What the open-loop phase measured.
pub(super) struct OpenLoop {
    pub(super) tally: Tally,
    /// From each request's scheduled time to its answer, in nanoseconds.
    pub(super) from_schedule: Vec<u64>,
    /// How late each pacing tick fired, in nanoseconds.
    pub(super) lags: Vec<u64>,
    pub(super) sent: u64,
    pub(super) achieved_rate: f64,
    /// Requests that found `--receive-max-in-flight` requests in flight.
    pub(super) waited: u64,
}

/// Posts events `first..` at `--receive-rate` for `--receive-duration`, in batches on a 1 ms
/// tick, each request its own task so that a slow answer never delays the schedule.
pub(super) async fn open_loop(
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

/// `vizhook_receive_events_total` by outcome, from `/metrics`.
pub(super) async fn event_counters(client: &Client, base: &str) -> BTreeMap<String, u64> {
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
