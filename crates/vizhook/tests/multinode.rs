//! Several nodes on one PostgreSQL database, run as a user runs them (the binary, on random
//! ports, each test on a fresh schema of the server `VIZHOOK_TEST_POSTGRES_URL` names; skipped by
//! name without one):
//! - two `vizhook serve` nodes share the delivery work, and when one is killed with SIGKILL and
//!   not restarted the other delivers every acknowledged event, repeating no more deliveries
//!   than were leased when the node died; a sign-in on one node is valid on the other;
//! - a failing destination whose attempts run on both nodes is disabled after exactly four
//!   failed deliveries, with one notice and one email;
//! - two `vizhook receive` replicas get every event twice, alternately: each event's action
//!   runs once, and each repeat is answered `200 duplicate` by either replica.

mod common;

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use common::{PAT_NAME, PAT_SECRET, Server, serve_command, sign_in};
use sqlx::Connection;
use vizhook_store_postgres::testing;
use vizhook_test_support::{Recorder, SmtpSink, eventually};

const EVENTS: u32 = 3000;
const BATCH: u32 = 50;
const LEASE: Duration = Duration::from_secs(2);

fn serve_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("vizhook.toml");
    std::fs::write(
        &path,
        format!(
            r#"[delivery]
retry_schedule = ["50ms", "100ms", "200ms"]
lease = "{}ms"
attempt_timeout = "300ms"
poll_interval = "50ms"
{extra}"#,
            LEASE.as_millis()
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// A `serve` node on `database`; the first to start seeds the administrator's token.
async fn node(database: &str, config: &str) -> Server {
    let args = ["--dev", "--config", config, "--database", database];
    let env = [
        ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
        ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
    ];
    let command = serve_command(Path::new("unused"), &env, &args);
    tokio::task::spawn_blocking(move || Server::spawn(command))
        .await
        .unwrap()
}

async fn create_webhook(server: &Server, token: &str, site: &str, url: &str) {
    let answer = reqwest::Client::new()
        .post(server.url(&format!("/api/3.24/sites/{site}/webhooks")))
        .header("X-Tableau-Auth", token)
        .body(format!(
            r#"<tsRequest><webhook name="multi" event="ViewDeleted"><webhook-destination><webhook-destination-http method="POST" url="{url}" /></webhook-destination></webhook></tsRequest>"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
}

/// Deliveries leased at this moment (pending, next attempt in the future): an upper bound of
/// what a node killed just before held.
async fn leased_now(database: &str) -> usize {
    let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM deliveries WHERE state = 'pending' AND next_attempt_at > $1",
    )
    .bind(now_ms)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    count as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_nodes_lose_nothing_when_one_is_killed() {
    let Some(database) =
        testing::fresh_url("two_serve_nodes_lose_nothing_when_one_is_killed").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = serve_config(
        dir.path(),
        "claim_batch = 64\nmax_in_flight_per_webhook = 64\n",
    );
    let destination = Recorder::start();
    let a = node(&database, &config).await;
    let b = node(&database, &config).await;
    let (token, site, _) = sign_in(&a, PAT_NAME, PAT_SECRET).await;
    // A sign-in on one node is a session on every node.
    create_webhook(&b, &token, &site, &destination.url("/hook")).await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let nodes = [a.url(""), b.url("")];
    let mut committed = BTreeSet::new();
    let mut b = Some(b);
    let mut leased_at_kill = None;
    for batch in 0..EVENTS / BATCH {
        if batch == EVENTS / BATCH * 2 / 5
            && let Some(b) = b.take()
        {
            b.kill();
            leased_at_kill = Some(leased_now(&database).await);
        }
        let luids = batch * BATCH..(batch + 1) * BATCH;
        let events: Vec<_> = luids
            .clone()
            .map(|luid| serde_json::json!({"event_type": "ViewDeleted", "resource_luid": luid.to_string(), "resource_name": format!("e{luid}")}))
            .collect();
        let body = serde_json::json!({ "events": events }).to_string();
        // Alternate between the nodes; a batch the dead node cannot take goes to the other.
        let mut acknowledged = false;
        for attempt in 0..4 {
            let base = &nodes[(batch as usize + attempt) % 2];
            let answer = client
                .post(format!("{base}/vizhook/v1/sites/{site}/events"))
                .header("X-Tableau-Auth", &token)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await;
            if let Ok(answer) = answer {
                assert_eq!(answer.status(), 202, "batch {batch}");
                acknowledged = true;
                break;
            }
        }
        assert!(acknowledged, "batch {batch} was never acknowledged");
        committed.extend(luids);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leased_at_kill = leased_at_kill.expect("the second node was killed");

    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let seen: BTreeSet<u32> = luids(&destination).into_iter().map(|(l, _)| l).collect();
        let missing: Vec<u32> = committed.difference(&seen).copied().collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        missing.is_empty(),
        "{} acknowledged events never arrived: {:?}\nlogs:\n{}",
        missing.len(),
        &missing[..missing.len().min(50)],
        a.logs()
    );
    // Leases of the dead node end; what it had leased may arrive again, nothing else.
    tokio::time::sleep(LEASE + Duration::from_secs(1)).await;
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (_, id) in luids(&destination) {
        *by_id.entry(id).or_default() += 1;
    }
    let repeated: usize = by_id.values().map(|n| n - 1).sum();
    eprintln!(
        "{} events acknowledged, all delivered; {repeated} repeated by webhook-id, {leased_at_kill} \
         leased when the node died",
        committed.len()
    );
    assert!(
        repeated <= leased_at_kill,
        "{repeated} deliveries repeated, more than the {leased_at_kill} leased at the kill"
    );
    assert!(a.stop().success(), "the surviving node stops cleanly");
}

/// `(resource_luid, webhook-id)` of every request the destination got.
fn luids(destination: &Recorder) -> Vec<(u32, String)> {
    destination
        .received()
        .iter()
        .filter_map(|r| {
            let luid = r.json()["resource_luid"].as_str()?.parse().ok()?;
            Some((luid, r.header("webhook-id")?))
        })
        .collect()
}

/// Injects one `ViewDeleted` event through `server`.
async fn inject(server: &Server, token: &str, site: &str, name: &str) {
    let answer = reqwest::Client::new()
        .post(server.url(&format!("/vizhook/v1/sites/{site}/events")))
        .header("X-Tableau-Auth", token)
        .header("Content-Type", "application/json")
        .body(serde_json::json!({"event_type": "ViewDeleted", "resource_luid": name, "resource_name": name}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
}

/// Runs one query returning one value on `database`.
async fn scalar<T>(database: &str, sql: &'static str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_two_nodes_disable_after_exactly_four_with_one_notice() {
    let Some(database) =
        testing::fresh_url("failures_on_two_nodes_disable_after_exactly_four_with_one_notice")
            .await
    else {
        return;
    };
    // A slow mail server keeps the first node's send in flight while the other node's notice
    // worker, polling every 100 ms, looks for pending notices again and again: without the
    // notice's lease it would send the email too.
    let smtp = SmtpSink::slow(Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let config = serve_config(
        dir.path(),
        &format!(
            "notice_poll_interval = \"100ms\"\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\n",
            smtp.port()
        ),
    );
    let destination = Recorder::replying(500, "broken");
    let a = node(&database, &config).await;
    let b = node(&database, &config).await;
    let (token, site, answer) = sign_in(&a, PAT_NAME, PAT_SECRET).await;
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let user = json["credentials"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = reqwest::Client::new()
        .put(b.url(&format!("/api/3.24/sites/{site}/users/{user}")))
        .header("X-Tableau-Auth", &token)
        .body(r#"<tsRequest><user email="owner@example.com"/></tsRequest>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    create_webhook(&a, &token, &site, &destination.url("/hook")).await;

    // Each event through the other node; its first attempt runs where it was injected and its
    // retries wherever they are claimed. Each delivery fails for good before the next event.
    for i in 1..=4_i64 {
        let node = if i % 2 == 0 { &a } else { &b };
        inject(node, &token, &site, &format!("v{i}")).await;
        eventually(Duration::from_secs(20), "the delivery to fail", || async {
            let failed: i64 = scalar(
                &database,
                "SELECT count(*) FROM deliveries WHERE state = 'failed'",
            )
            .await;
            (failed == i).then_some(())
        })
        .await;
        let enabled: bool = scalar(&database, "SELECT enabled FROM webhooks").await;
        assert_eq!(enabled, i < 4, "enabled after {i} failed deliveries");
    }
    assert_eq!(destination.count(), 16, "four attempts of four deliveries");
    // Disabled: later events make no delivery, on either node.
    inject(&a, &token, &site, "v5").await;
    inject(&b, &token, &site, "v6").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(destination.count(), 16);
    let deliveries: i64 = scalar(&database, "SELECT count(*) FROM deliveries").await;
    assert_eq!(deliveries, 4);
    let notices: i64 = scalar(&database, "SELECT count(*) FROM notices").await;
    assert_eq!(notices, 1, "one notice");
    eventually(Duration::from_secs(20), "the notice's email", || async {
        (!smtp.messages().is_empty()).then_some(())
    })
    .await;
    // Both nodes' notice workers have looked at it many times since.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 1, "one email, not one per node");
    assert!(a.stop().success());
    assert!(b.stop().success());
}

fn receive_command(config: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
    command
        .arg("receive")
        .args(["--config", config, "--dev", "--listen", "127.0.0.1:0"]);
    for (name, _) in std::env::vars() {
        if name.starts_with("VIZHOOK_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receive_replicas_run_each_action_once() {
    let Some(database) = testing::fresh_url("two_receive_replicas_run_each_action_once").await
    else {
        return;
    };
    const TOKEN: &str = "replica-token-0123456789";
    let action = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("receive.toml");
    std::fs::write(
        &config,
        format!(
            r#"[storage]
database = "{database}"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"
[route]
receiver = "hook"
[[receiver]]
name = "hook"
  [[receiver.action]]
  type = "http"
  url = "{}"
[delivery]
retry_schedule = ["100ms", "200ms", "300ms"]
poll_interval = "50ms"
lease = "3m"
"#,
            action.url("/action")
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let first = Server::spawn(receive_command(&config));
    let second = Server::spawn(receive_command(&config));
    let replicas = [&first, &second];
    let client = reqwest::Client::new();
    const SENT: usize = 40;
    for i in 0..SENT {
        let body = format!(
            r#"{{"resource":"DATASOURCE","event_type":"DatasourceRefreshFailed","resource_name":"ds{i}","site_luid":"s1","resource_luid":"d{i}","created_at":"2026-12-07T10:00:00Z"}}"#
        );
        // Each event to one replica, and its repeat to the other, at the same moment.
        let (one, other) = (replicas[i % 2], replicas[(i + 1) % 2]);
        let send = |rx: &Server| {
            client
                .post(rx.url(&format!("/tableau/{TOKEN}")))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
        };
        let (x, y) = tokio::join!(send(one), send(other));
        let mut statuses = Vec::new();
        for answer in [x.unwrap(), y.unwrap()] {
            let status = answer.status().as_u16();
            let json: serde_json::Value = answer.json().await.unwrap_or_default();
            statuses.push((status, json["status"].as_str().unwrap_or("").to_owned()));
        }
        statuses.sort();
        assert_eq!(
            statuses,
            vec![(200, "duplicate".to_owned()), (202, "accepted".to_owned())],
            "event {i}: one replica stores it, the other answers duplicate\n{}\n{}",
            first.logs(),
            second.logs()
        );
    }
    eventually(Duration::from_secs(30), "every action", || async {
        (action.count() >= SENT).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut runs: HashMap<String, usize> = HashMap::new();
    for request in action.received() {
        let name = request.json()["event"]["resource_name"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        *runs.entry(name).or_default() += 1;
    }
    assert_eq!(runs.len(), SENT, "every event's action ran: {runs:?}");
    assert!(
        runs.values().all(|n| *n == 1),
        "each exactly once: {runs:?}"
    );
    assert!(first.stop().success());
    assert!(second.stop().success());
}
