//! A running `vizhook receive` for tests: built from a TOML text exactly as the binary loads
//! it, over a SQLite file in a temporary folder (or, in a `postgres` test target, a fresh
//! PostgreSQL schema), on a random port; restartable on the same database.

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vizhook_receiver::{config, service};
use vizhook_store::{InboxEntry, Store};
use vizhook_store_postgres::{PgStore, testing};
use vizhook_store_sqlite::SqliteStore;

/// Whether this is a `postgres` test target, which runs the suite on PostgreSQL.
pub const ON_POSTGRES: bool = matches!(env!("CARGO_CRATE_NAME").as_bytes(), b"postgres");

/// The token every test source uses.
pub const TOKEN: &str = "test-token-0123456789";

/// Quick retries and polling, so retried actions show up within a test's patience.
pub const FAST: &str = r#"
[delivery]
retry_schedule = ["100ms", "200ms", "300ms"]
attempt_timeout = "3s"
poll_interval = "50ms"
lease = "60s"
"#;

pub struct Receive {
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    text: String,
    /// The PostgreSQL database (schema) the receiver keeps across restarts, if on PostgreSQL.
    postgres: Option<String>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Receive {
    /// Starts a receiver from `text`, where `{dir}` stands for its temporary folder. `None` on
    /// PostgreSQL without a server: the test is reported skipped, by name.
    pub async fn start(text: &str) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let postgres = if ON_POSTGRES {
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            Some(testing::fresh_url(&test).await?)
        } else {
            None
        };
        Some(Self::start_in(dir, text, postgres).await)
    }

    async fn start_in(dir: tempfile::TempDir, text: &str, postgres: Option<String>) -> Self {
        let text = text.replace("{dir}", &dir.path().display().to_string());
        let path: PathBuf = dir.path().join("receive.toml");
        std::fs::write(&path, &text).expect("write the configuration");
        let mut loaded = config::load(&path, true).unwrap_or_else(|err| panic!("{err}"));
        let store: Arc<dyn Store> = match &postgres {
            Some(url) => {
                loaded.database = url.clone();
                Arc::new(
                    PgStore::open(url)
                        .await
                        .expect("open the inbox on PostgreSQL"),
                )
            }
            None => Arc::new(
                SqliteStore::open(&loaded.database)
                    .await
                    .expect("open the inbox"),
            ),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service::run(
            loaded,
            store.clone(),
            listener,
            shutdown.clone(),
        ));
        let task = tokio::spawn(async move {
            task.await.expect("receiver task").expect("receiver runs");
        });
        Self {
            addr,
            dir,
            store,
            client: reqwest::Client::new(),
            text,
            postgres,
            shutdown,
            task,
        }
    }

    /// Stops the receiver (letting work in flight finish) and starts it again on the same
    /// folder and database.
    pub async fn restart(self) -> Self {
        let text = self.text.clone();
        self.restart_with(&text).await
    }

    /// Restarts on the same folder and database with another configuration.
    pub async fn restart_with(self, text: &str) -> Self {
        self.shutdown.cancel();
        self.task.await.expect("receiver stopped");
        drop(self.store);
        Self::start_in(self.dir, text, self.postgres).await
    }

    /// The event URL of a source path.
    pub fn hook(&self, path: &str) -> String {
        format!("http://{}{path}/{TOKEN}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs a body; returns the status and the JSON answer.
    pub async fn post(&self, url: &str, body: &str) -> (u16, serde_json::Value) {
        self.post_with(url, body, &[]).await
    }

    pub async fn post_with(
        &self,
        url: &str,
        body: &str,
        headers: &[(&str, String)],
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    pub async fn inbox(&self) -> Vec<InboxEntry> {
        self.store.inbox(100).await.expect("inbox")
    }

    /// The lines a `file` action wrote to `name` in the folder, as JSON.
    pub fn lines(&self, name: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }
}

/// A Tableau event body.
pub fn event(event_type: &str, resource_luid: &str, name: &str) -> String {
    event_at(event_type, resource_luid, name, "2026-11-23T10:00:00Z")
}

pub fn event_at(event_type: &str, resource_luid: &str, name: &str, created_at: &str) -> String {
    serde_json::json!({
        "resource": "DATASOURCE",
        "event_type": event_type,
        "resource_name": name,
        "site_luid": "9f2c6a1e-0000-4000-8000-000000000001",
        "resource_luid": resource_luid,
        "created_at": created_at,
    })
    .to_string()
}

/// Waits a little so that anything wrongly queued would have run.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(400)).await;
}
