//! `/healthz` and `/readyz` on both roles, as a load balancer sees them: a node whose workers
//! are stalled (another process holds its SQLite database's write lock, so every round trip
//! in which its workers write waits and fails; for `receive`, actions that keep failing give
//! its workers something to write) still answers `/healthz`, turns unready within the stall
//! limit saying why, and is ready again once the lock is released.

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::Server;
use vizhook_test_support::Recorder;

const TOKEN: &str = "example-token-0123456789";
use sqlx::{Connection, SqliteConnection};

/// Waits until `/readyz` answers `status` with a body holding `says`, returning the body;
/// panics after `limit`.
async fn readyz_becomes(server: &Server, status: u16, says: &str, limit: Duration) -> String {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let answer = reqwest::get(server.url("/readyz")).await.unwrap();
        let got = answer.status().as_u16();
        let body = answer.text().await.unwrap();
        if got == status && body.contains(says) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz stayed {got} ({body}), not {status} with {says:?}\nlogs:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Holds the write lock of the SQLite database at `path` until the connection is dropped or
/// committed (readers of a WAL database go on meanwhile).
async fn hold_write_lock(path: &Path) -> SqliteConnection {
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn stalls_and_recovers(server: &Server, database: &Path, workers: &str) {
    readyz_becomes(server, 200, "ready", Duration::from_secs(20)).await;
    let mut lock = hold_write_lock(database).await;
    // The stall limit is 10 s and twice the poll interval (1 s by default).
    let stalled = format!("the {workers} workers have made no progress for");
    readyz_becomes(server, 503, &stalled, Duration::from_secs(40)).await;
    let health = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "a stalled node is alive");
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    drop(lock);
    readyz_becomes(server, 200, "ready", Duration::from_secs(30)).await;
}

#[tokio::test]
async fn serve_is_unready_while_its_delivery_workers_are_stalled() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("serve.db");
    let server = Server::start(&database, &["--dev"]);
    stalls_and_recovers(&server, &database, "delivery").await;
    assert!(server.stop().success());
}

/// The receiver's workers stall only when they have work to record (an idle one's claims
/// only read): events whose action keeps failing and retrying every 200 ms keep them busy.
#[tokio::test]
async fn receive_is_unready_while_its_action_workers_are_stalled() {
    let destination = Recorder::replying(500, "down");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("receive.toml");
    let retries = vec!["\"200ms\""; 100].join(", ");
    std::fs::write(
        &config,
        format!(
            r#"[storage]
database = "sqlite://inbox.db"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"
rate_limit = 0
[route]
receiver = "failing"
[[receiver]]
name = "failing"
  [[receiver.action]]
  type = "http"
  url = "{url}"
[delivery]
retry_schedule = [{retries}]
attempt_timeout = "1s"
"#,
            url = destination.url("/down")
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
    command.arg("receive").args([
        "--config",
        &config.display().to_string(),
        "--listen",
        "127.0.0.1:0",
        "--dev",
    ]);
    for (name, _) in std::env::vars() {
        if name.starts_with("VIZHOOK_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let server = Server::spawn(command);
    let client = reqwest::Client::new();
    for i in 0..20 {
        let event = serde_json::json!({
            "event_type": "DatasourceRefreshFailed", "resource_name": format!("ds{i}"),
            "resource_luid": format!("luid-{i}"), "site_luid": "site", "resource": "DATASOURCE",
            "created_at": "2026-12-07T00:00:00Z"
        });
        let answer = client
            .post(server.url(&format!("/tableau/{TOKEN}")))
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
    }
    vizhook_test_support::eventually(Duration::from_secs(20), "retries", || async {
        (destination.count() >= 40).then_some(())
    })
    .await;
    stalls_and_recovers(&server, &dir.path().join("inbox.db"), "action").await;
    assert!(server.stop().success());
}
