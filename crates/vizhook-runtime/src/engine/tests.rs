//! The engine against in-memory work: limits per key and in all, leases, hand-offs, shutdown,
//! and keys slowed because their destination asked.

use std::sync::Mutex;

use super::*;

/// `total` items of one key, each finishing at once; every exchange is logged as (records,
/// claim limit).
struct Counter {
    total: usize,
    claimed: Mutex<usize>,
    exchanges: Mutex<Vec<(usize, Option<u32>)>>,
}

impl Work for Counter {
    type Item = usize;
    type Record = usize;
    type Key = u8;

    fn item_key(_: &usize) -> u8 {
        0
    }
    fn record_key(_: &usize) -> u8 {
        0
    }
    async fn exchange(&self, records: Vec<usize>, claim: Option<Claim<u8>>) -> Option<Vec<usize>> {
        // As a store would: a round trip takes a while, and work finishes meanwhile.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.exchanges
            .lock()
            .ok()?
            .push((records.len(), claim.as_ref().map(|c| c.limit)));
        let mut claimed = self.claimed.lock().ok()?;
        let limit = claim
            .filter(|c| c.exclude.is_empty())
            .map_or(0, |c| c.limit as usize);
        let start = *claimed;
        *claimed = (start + limit).min(self.total);
        Some((start..*claimed).collect())
    }
    async fn perform(self: Arc<Self>, item: usize) -> usize {
        tokio::task::yield_now().await;
        item
    }
    async fn next_due(&self) -> Option<OffsetDateTime> {
        None
    }
}

#[tokio::test]
async fn handed_items_run_and_are_recorded_without_a_claim() {
    let work = Arc::new(Counter {
        total: 0,
        claimed: Mutex::new(0),
        exchanges: Mutex::new(Vec::new()),
    });
    let hand_off = HandOff::new();
    let engine = Engine {
        work: work.clone(),
        limits: Limits {
            max_in_flight: 8,
            max_in_flight_per_key: 4,
            claim_batch: 6,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(3600),
        },
        wake: Arc::new(Notify::new()),
        hand_off: hand_off.clone(),
        progress: Progress::new(Duration::from_millis(5)),
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(engine.run(shutdown.clone()));
    let recorded = || -> usize {
        let exchanges = work.exchanges.lock().expect("log");
        exchanges.iter().map(|(records, _)| records).sum()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut handed = 0;
    while recorded() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "handed items stalled"
        );
        if handed < 20
            && let Some(reservation) = hand_off.reserve(20 - handed)
        {
            assert!(reservation.limit() <= 6, "at most a claim batch per cycle");
            let count = reservation.limit();
            reservation.hand((handed..handed + count).collect());
            handed += count;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    shutdown.cancel();
    running.await.expect("engine");
    assert_eq!(
        recorded(),
        20,
        "every handed item ran once and was recorded"
    );
    assert_eq!(hand_off.room(), (0, 0), "the room is closed and empty");
}

#[tokio::test]
async fn a_saturated_engine_records_and_leases_in_the_same_round_trip() {
    let work = Arc::new(Counter {
        total: 2_000,
        claimed: Mutex::new(0),
        exchanges: Mutex::new(Vec::new()),
    });
    let engine = Engine {
        work: work.clone(),
        limits: Limits {
            max_in_flight: 64,
            max_in_flight_per_key: 32,
            claim_batch: 32,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(5),
        },
        wake: Arc::new(Notify::new()),
        hand_off: HandOff::new(),
        progress: Progress::new(Duration::from_millis(5)),
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(engine.run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while work.claimed.lock().map(|c| *c).unwrap_or(0) < 2_000 {
        assert!(tokio::time::Instant::now() < deadline, "the engine stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    running.await.expect("engine");
    let exchanges = work.exchanges.lock().expect("log").clone();
    let recorded: usize = exchanges.iter().map(|(records, _)| records).sum();
    assert_eq!(recorded, 2_000, "every outcome is recorded");
    // Up to the last round trip that leases, every round trip that records also leases.
    let last_lease = exchanges
        .iter()
        .rposition(|(_, claim)| claim.is_some())
        .unwrap_or(0);
    let record_only = exchanges[..last_lease]
        .iter()
        .filter(|(records, claim)| *records > 0 && claim.is_none())
        .count();
    assert_eq!(record_only, 0, "round trips: {exchanges:?}");
}

/// A store that fails every round trip.
struct Refusing;

impl Work for Refusing {
    type Item = usize;
    type Record = usize;
    type Key = u8;

    fn item_key(_: &usize) -> u8 {
        0
    }
    fn record_key(_: &usize) -> u8 {
        0
    }
    async fn exchange(&self, _: Vec<usize>, _: Option<Claim<u8>>) -> Option<Vec<usize>> {
        None
    }
    async fn perform(self: Arc<Self>, item: usize) -> usize {
        item
    }
    async fn next_due(&self) -> Option<OffsetDateTime> {
        None
    }
}

fn limits() -> Limits {
    Limits {
        max_in_flight: 8,
        max_in_flight_per_key: 4,
        claim_batch: 4,
        lease: Duration::from_secs(60),
        poll_interval: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn progress_stalls_while_the_store_fails_and_not_while_idle() {
    let idle = Engine {
        work: Arc::new(Counter {
            total: 0,
            claimed: Mutex::new(0),
            exchanges: Mutex::new(Vec::new()),
        }),
        limits: limits(),
        wake: Arc::new(Notify::new()),
        hand_off: HandOff::new(),
        progress: Progress::with_limit(Duration::from_millis(100)),
    };
    let refusing = Engine {
        work: Arc::new(Refusing),
        limits: limits(),
        wake: Arc::new(Notify::new()),
        hand_off: HandOff::new(),
        progress: Progress::with_limit(Duration::from_millis(100)),
    };
    let (idle_progress, refusing_progress) = (idle.progress.clone(), refusing.progress.clone());
    let shutdown = CancellationToken::new();
    let a = tokio::spawn(idle.run(shutdown.clone()));
    let b = tokio::spawn(refusing.run(shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        idle_progress.stalled(),
        None,
        "an idle engine makes progress"
    );
    assert!(
        refusing_progress.stalled().is_some(),
        "an engine whose store fails every round trip is stalled"
    );
    shutdown.cancel();
    a.await.expect("idle engine");
    b.await.expect("refusing engine");
}

#[test]
fn a_slowed_key_halves_its_share_pauses_and_grows_back_with_successes() {
    let work = Counter {
        total: 0,
        claimed: Mutex::new(0),
        exchanges: Mutex::new(Vec::new()),
    };
    let mut slots: Slots<Counter> = Slots::new(8);
    assert_eq!(slots.share(&work, &0), 8);
    let until = OffsetDateTime::now_utc() + time::Duration::seconds(60);
    slots.slow_down(&work, &0, until);
    assert_eq!(slots.share(&work, &0), 4, "halved");
    assert_eq!(slots.full(&work), vec![0], "paused: no new work of it");
    assert_eq!(slots.next_pause_end(OffsetDateTime::now_utc()), Some(until));
    slots.slow_down(&work, &0, until);
    slots.slow_down(&work, &0, until);
    slots.slow_down(&work, &0, until);
    assert_eq!(slots.share(&work, &0), 1, "never below one");
    slots.speed_up(&work, &0);
    assert_eq!(slots.share(&work, &0), 2, "one more per success");

    // Once its pause has ended, the key takes work again, and is whole after enough successes.
    let mut slots: Slots<Counter> = Slots::new(2);
    slots.slow_down(
        &work,
        &0,
        OffsetDateTime::now_utc() - time::Duration::seconds(1),
    );
    assert!(slots.full(&work).is_empty(), "its pause is over");
    assert_eq!(slots.share(&work, &0), 1);
    slots.speed_up(&work, &0);
    assert_eq!(slots.share(&work, &0), 2, "whole again");
    slots.speed_up(&work, &0);
    assert_eq!(slots.share(&work, &0), 2, "never above its usual share");

    // A key past its pause that holds nothing is forgotten, even without a success.
    let mut slots: Slots<Counter> = Slots::new(4);
    slots.slow_down(
        &work,
        &0,
        OffsetDateTime::now_utc() - time::Duration::seconds(1),
    );
    assert_eq!(slots.share(&work, &0), 2);
    assert_eq!(slots.next_pause_end(OffsetDateTime::now_utc()), None);
    assert_eq!(slots.share(&work, &0), 4, "forgotten, whole again");
}
