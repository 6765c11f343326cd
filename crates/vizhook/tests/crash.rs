//! Crash safety of the durable outbox: while events are injected, `vizhook serve` is killed with
//! SIGKILL several times and restarted on the same database. Every event whose injection was
//! acknowledged (`202`) must reach the destination at least once; a delivery is sent again with
//! the same `webhook-id` only across a kill, and no more often than the killed processes could
//! have leased; an event arrives under two `webhook-id`s only if its batch was re-sent after a
//! kill; no run logs an error, and the last one stops cleanly on SIGTERM.

mod common;

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    fmt::Write as _,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{PAT_NAME, PAT_SECRET, Server};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// Events injected in all, with luids `0..EVENTS`.
const EVENTS: u32 = 3000;
/// Events per injection request.
const BATCH: u32 = 50;
/// SIGKILLs while injecting.
const KILLS: usize = 5;
const CLAIM_BATCH: usize = 64;
const MAX_IN_FLIGHT_PER_WEBHOOK: usize = 64;
const LEASE: Duration = Duration::from_secs(2);
/// How long after a kill a request written by the killed process may still be read.
const KILL_SLACK: Duration = Duration::from_millis(100);
/// Time for every committed event to arrive after the last restart.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(40);

fn config() -> String {
    format!(
        r#"[delivery]
retry_schedule = ["50ms", "100ms", "200ms"]
lease = "{}ms"
attempt_timeout = "300ms"
claim_batch = {CLAIM_BATCH}
max_in_flight_per_webhook = {MAX_IN_FLIGHT_PER_WEBHOOK}
poll_interval = "50ms"
disable_after_failed_deliveries = 0
"#,
        LEASE.as_millis()
    )
}

/// What the destination received: one `(resource_luid, webhook-id, when)` per request, in
/// order, and any request it could not make sense of.
#[derive(Default)]
struct Received {
    requests: Vec<(u32, String, Instant)>,
    errors: Vec<String>,
}

type Log = Arc<Mutex<Received>>;

/// A minimal HTTP/1.1 destination with keep-alive: records each complete request, answers
/// `200 ok`, and forgets requests whose connection drops before their body is complete.
async fn receive(listener: TcpListener, log: Log) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, log.clone()));
            }
            Err(err) => log
                .lock()
                .unwrap()
                .errors
                .push(format!("accept failed: {err}")),
        }
    }
}

async fn serve_connection(mut stream: TcpStream, log: Log) {
    let mut data = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let head_end = loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        };
        let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines().skip(1).find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        if header("transfer-encoding").is_some() {
            log.lock()
                .unwrap()
                .errors
                .push(format!("unexpected chunked request:\n{head}"));
            return;
        }
        let length = header("content-length")
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(0);
        let end = head_end + 4 + length;
        while data.len() < end {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
        let body: Vec<u8> = data.drain(..end).skip(head_end + 4).collect();
        let luid = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json["resource_luid"].as_str()?.parse::<u32>().ok());
        {
            let mut log = log.lock().unwrap();
            match (luid, header("webhook-id")) {
                (Some(luid), Some(id)) => log.requests.push((luid, id, Instant::now())),
                _ => log.errors.push(format!(
                    "request without a luid or webhook-id:\n{head}\n\n{}",
                    String::from_utf8_lossy(&body)
                )),
            }
        }
        if stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A linear congruential generator: enough randomness to vary the kill moments.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// What the injector learned.
#[derive(Default)]
struct Injection {
    /// Luids of events whose request was answered `202`.
    committed: BTreeSet<u32>,
    /// Batches whose first request failed (they may have been committed twice).
    retried_batches: BTreeSet<u32>,
    /// Requests that failed to connect (the server was down).
    refused_requests: usize,
    /// Requests that failed after connecting: killed while committing, or just after.
    unclear_requests: usize,
    finished: bool,
}

/// Injects `EVENTS` events in batches against whichever server `base` names, retrying a
/// batch with the same luids until it is answered `202`.
async fn inject(
    token: String,
    site: String,
    mut base: watch::Receiver<String>,
    pace: Duration,
    progress: Arc<Mutex<Injection>>,
) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    for batch in 0..EVENTS / BATCH {
        let luids = batch * BATCH..(batch + 1) * BATCH;
        let events: Vec<serde_json::Value> = luids
            .clone()
            .map(|luid| {
                serde_json::json!({
                    "event_type": "ViewDeleted",
                    "resource_name": format!("e-{luid}"),
                    "resource_luid": luid.to_string(),
                })
            })
            .collect();
        let body = serde_json::json!({ "events": events }).to_string();
        let mut tries = 0;
        loop {
            tries += 1;
            let url = base.borrow_and_update().clone();
            let answer = client
                .post(format!("{url}/vizhook/v1/sites/{site}/events"))
                .header("X-Tableau-Auth", &token)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let error = match answer {
                Ok(answer) if answer.status() == 202 => {
                    // The status alone says the batch is committed; a body cut off by a kill
                    // cannot be checked, but a complete one must list every event.
                    if let Ok(json) = answer.json::<serde_json::Value>().await {
                        let published = json["events"].as_array().cloned().unwrap_or_default();
                        if published.len() != BATCH as usize
                            || published.iter().any(|event| event["deliveries"] != 1)
                        {
                            return Err(format!("batch {batch}: unexpected 202 answer {json}"));
                        }
                    }
                    progress.lock().unwrap().committed.extend(luids.clone());
                    break;
                }
                Ok(answer) => {
                    let status = answer.status();
                    let text = answer.text().await.unwrap_or_default();
                    return Err(format!("batch {batch} try {tries}: {status} {text}"));
                }
                Err(err) => err,
            };
            {
                let mut progress = progress.lock().unwrap();
                if error.is_connect() {
                    progress.refused_requests += 1;
                } else {
                    progress.unclear_requests += 1;
                }
                progress.retried_batches.insert(batch);
            }
            if tries > 20 {
                return Err(format!(
                    "batch {batch}: {tries} tries failed, last: {error}"
                ));
            }
            // The server was most likely killed: wait for its successor (or retry anyway
            // after a while, in case the failure had another cause).
            let _ = tokio::time::timeout(Duration::from_secs(2), base.changed()).await;
        }
        tokio::time::sleep(pace).await;
    }
    progress.lock().unwrap().finished = true;
    Ok(())
}

async fn sign_in(server: &Server) -> (String, String) {
    let answer = reqwest::Client::new()
        .post(server.url("/api/3.24/auth/signin"))
        .header("Accept", "application/json")
        .body(format!(
            r#"<tsRequest><credentials personalAccessTokenName="{PAT_NAME}" personalAccessTokenSecret="{PAT_SECRET}"><site contentUrl="" /></credentials></tsRequest>"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "sign-in; logs:\n{}", server.logs());
    let json: serde_json::Value = answer.json().await.unwrap();
    let credentials = &json["credentials"];
    (
        credentials["token"].as_str().unwrap().to_owned(),
        credentials["site"]["id"].as_str().unwrap().to_owned(),
    )
}

async fn start(db: PathBuf, config: PathBuf) -> Server {
    tokio::task::spawn_blocking(move || {
        Server::start(&db, &["--dev", "--config", config.to_str().unwrap()])
    })
    .await
    .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
}

/// Log lines at WARN or ERROR, but the expected warning about development mode.
fn complaints(logs: &str) -> Vec<String> {
    logs.lines()
        .filter(|line| line.contains(" ERROR ") || line.contains(" WARN "))
        .filter(|line| !line.contains("development mode"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_committed_event() {
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let config_file = dir.path().join("vizhook.toml");
    std::fs::write(&config_file, config()).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received: Log = Arc::default();
    let receiver = tokio::spawn(receive(listener, received.clone()));

    let mut server = start(db.clone(), config_file.clone()).await;
    let (token, site) = sign_in(&server).await;
    let created = reqwest::Client::new()
        .post(server.url(&format!("/api/3.24/sites/{site}/webhooks")))
        .header("X-Tableau-Auth", &token)
        .body(format!(
            r#"<tsRequest><webhook name="crash" event="ViewDeleted"><webhook-destination><webhook-destination-http method="POST" url="{hook_url}" /></webhook-destination></webhook></tsRequest>"#
        ))
        .send()
        .await
        .unwrap();
    let status = created.status();
    assert_eq!(
        status,
        201,
        "create webhook: {}\nlogs:\n{}",
        created.text().await.unwrap_or_default(),
        server.logs()
    );

    // Kill moments, 150-600 ms after each (re)start; the injector is paced to outlast them.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Lcg(seed);
    let delays: Vec<Duration> = (0..KILLS)
        .map(|_| Duration::from_millis(150 + rng.next() % 450))
        .collect();
    let pace = delays.iter().sum::<Duration>() * 6 / 5 / (EVENTS / BATCH);
    eprintln!("seed {seed}: kills after {delays:?}, {pace:?} between batches");

    let (base_tx, base_rx) = watch::channel(server.url(""));
    let progress: Arc<Mutex<Injection>> = Arc::default();
    let injector: JoinHandle<Result<(), String>> = tokio::spawn(inject(
        token.clone(),
        site.clone(),
        base_rx,
        pace,
        progress.clone(),
    ));

    let mut logs = Vec::new();
    let mut kills_while_injecting = 0;
    let mut kill_times = Vec::new();
    for (kill, delay) in delays.iter().enumerate() {
        tokio::time::sleep(*delay).await;
        let (committed, injecting) = {
            let progress = progress.lock().unwrap();
            (progress.committed.len(), !progress.finished)
        };
        kills_while_injecting += usize::from(injecting);
        let delivered = received.lock().unwrap().requests.len();
        logs.push(format!("--- run {kill} ---\n{}", server.logs()));
        server.kill();
        kill_times.push(Instant::now());
        eprintln!(
            "kill {} at {:?}: {committed} committed, {delivered} requests received",
            kill + 1,
            began.elapsed()
        );
        server = start(db.clone(), config_file.clone()).await;
        base_tx.send_replace(server.url(""));
    }

    match tokio::time::timeout(Duration::from_secs(30), injector).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => panic!("injection failed: {err}\nlogs:\n{}", server.logs()),
        Ok(Err(err)) => panic!("injector panicked: {err}"),
        Err(_) => panic!("injection did not finish in 30 s\nlogs:\n{}", server.logs()),
    }
    let injection = std::mem::take(&mut *progress.lock().unwrap());
    assert_eq!(
        injection.committed.len(),
        EVENTS as usize,
        "every batch is eventually acknowledged"
    );

    // Every committed event arrives; then give redeliveries of the last kill's leases time to
    // show up before counting.
    let deadline = Instant::now() + DELIVERY_DEADLINE;
    let missing = loop {
        let seen: HashSet<u32> = received
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|(luid, _, _)| *luid)
            .collect();
        let missing: Vec<u32> = injection
            .committed
            .iter()
            .filter(|luid| !seen.contains(luid))
            .copied()
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if let (true, Some(last_kill)) = (missing.is_empty(), kill_times.last()) {
        let settle = *last_kill + LEASE + Duration::from_secs(1);
        tokio::time::sleep(settle.saturating_duration_since(Instant::now())).await;
    }
    logs.push(format!("--- final run ---\n{}", server.logs()));
    let all_logs = logs.join("\n");
    let complaints = complaints(&all_logs);
    if !complaints.is_empty() {
        eprintln!("server warnings and errors:\n{}", complaints.join("\n"));
    }
    receiver.abort();
    let received = std::mem::take(&mut *received.lock().unwrap());
    assert!(
        received.errors.is_empty(),
        "the destination got malformed requests: {:#?}",
        received.errors
    );
    if !missing.is_empty() {
        let mut report = String::new();
        let _ = write!(
            report,
            "{} committed events never arrived within {DELIVERY_DEADLINE:?} (seed {seed}): {:?}{}",
            missing.len(),
            &missing[..missing.len().min(100)],
            if missing.len() > 100 { " ..." } else { "" }
        );
        panic!("{report}\nserver logs:\n{all_logs}");
    }

    let mut by_id: HashMap<&str, usize> = HashMap::new();
    let mut ids_by_luid: HashMap<u32, HashSet<&str>> = HashMap::new();
    let mut by_luid: HashMap<u32, usize> = HashMap::new();
    for (luid, id, _) in &received.requests {
        *by_id.entry(id).or_default() += 1;
        *by_luid.entry(*luid).or_default() += 1;
        ids_by_luid.entry(*luid).or_default().insert(id);
    }
    let redelivered: usize = by_id.values().map(|n| n - 1).sum();
    // A redelivery with the same webhook-id comes from a lease that outlived its process: a
    // kill lies between the two receipts (a request written just before a kill may be read
    // just after it, hence the slack), and each kill accounts for the ones received before it.
    let mut first_seen: HashMap<&str, Instant> = HashMap::new();
    let mut per_kill = vec![0usize; kill_times.len()];
    let mut without_kill = Vec::new();
    for (luid, id, at) in &received.requests {
        let Some(first) = first_seen.get(id.as_str()).copied() else {
            first_seen.insert(id, *at);
            continue;
        };
        match kill_times
            .iter()
            .position(|kill| first <= *kill + KILL_SLACK && kill <= at)
        {
            Some(kill) => per_kill[kill] += 1,
            None => without_kill.push(format!(
                "luid {luid} webhook-id {id}: at {:?}, again at {:?}",
                first - began,
                *at - began
            )),
        }
    }
    let luid_duplicates: usize = by_luid.values().map(|n| n - 1).sum();
    // Events committed twice: a batch retried after a kill whose first try had committed.
    let twice_committed: Vec<u32> = ids_by_luid
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(luid, _)| *luid)
        .collect();
    let unknown: Vec<u32> = by_luid
        .keys()
        .filter(|luid| !injection.committed.contains(luid))
        .copied()
        .collect();
    eprintln!(
        "{} events committed, {} delivered ({} requests), {redelivered} redelivered after crashes \
         (same webhook-id; per kill {per_kill:?}), {luid_duplicates} duplicates by luid ({} events committed twice), \
         0 lost; {} kills ({kills_while_injecting} while injecting), injection requests refused \
         {} times and cut off {} times (in {} batches), {:?} so far",
        injection.committed.len(),
        by_luid.len(),
        received.requests.len(),
        twice_committed.len(),
        KILLS,
        injection.refused_requests,
        injection.unclear_requests,
        injection.retried_batches.len(),
        began.elapsed()
    );
    assert!(
        unknown.is_empty(),
        "luids never injected arrived: {unknown:?}"
    );
    let bound = KILLS * (MAX_IN_FLIGHT_PER_WEBHOOK + CLAIM_BATCH);
    assert!(
        redelivered <= bound,
        "{redelivered} redeliveries with the same webhook-id exceed {bound}, what {KILLS} kills \
         could have left leased"
    );
    assert!(
        without_kill.is_empty(),
        "deliveries sent twice with no kill in between:\n{}",
        without_kill.join("\n")
    );
    let unexplained: Vec<u32> = twice_committed
        .iter()
        .filter(|luid| !injection.retried_batches.contains(&(**luid / BATCH)))
        .copied()
        .collect();
    assert!(
        unexplained.is_empty(),
        "events of batches acknowledged on their first try arrived under several webhook-ids: \
         {unexplained:?}"
    );
    assert!(
        kills_while_injecting > 0,
        "no kill landed while events were being injected"
    );

    let final_logs = server.stderr.clone();
    let status = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    let final_logs = final_logs.lock().unwrap().join("\n");
    assert!(
        status.success(),
        "SIGTERM is a clean stop: {status:?}\nlogs:\n{final_logs}"
    );
    // Recovering from a kill is routine: no run, killed or restarted, logs an error.
    let errors: Vec<String> = logs[..logs.len() - 1]
        .iter()
        .map(String::as_str)
        .chain([final_logs.as_str()])
        .flat_map(str::lines)
        .filter(|line| line.contains(" ERROR "))
        .map(str::to_owned)
        .collect();
    assert!(
        errors.is_empty(),
        "the server logged errors:\n{}",
        errors.join("\n")
    );
    eprintln!("total {:?}", began.elapsed());
}
