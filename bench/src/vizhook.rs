//! The vizhook under test: `vizhook serve` (or `vizhook receive`, see `receive.rs`) started as
//! its own process on a fresh database with a configuration tuned for throughput, its address
//! read from its log, and driven through its HTTP API (sign in, create webhooks, inject events).

use std::{
    io::Write as _,
    path::Path,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crate::now_ns;
use anyhow::{Context, bail, ensure};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::oneshot,
};

const CONFIG: &str = r#"[delivery]
max_in_flight = 512
max_in_flight_per_webhook = 256
claim_batch = 256
lease = "60s"
attempt_timeout = "10s"
poll_interval = "50ms"
"#;

/// What `serve` logs after a retention sweep that removed something.
const SWEEP_LINE: &str = "retention removed old deliveries";

const PAT_NAME: &str = "bench";
const PAT_SECRET: &str = "bench-secret-123";

/// A running `vizhook serve` or `vizhook receive`, killed when dropped.
#[derive(Debug)]
pub(crate) struct Vizhook {
    child: Child,
    pub(crate) pid: u32,
    pub(crate) base: String,
    /// Warning and error lines it logged.
    pub(crate) log_problems: Arc<AtomicU64>,
    /// Its retention sweeps' log lines, each with the time it was read (see [`now_ns`]).
    pub(crate) sweeps: Arc<Mutex<Vec<(u64, String)>>>,
    _dir: tempfile::TempDir,
}

impl Vizhook {
    /// `vizhook serve` on `database` (a PostgreSQL URL several nodes may share), or by default
    /// on a fresh SQLite database in its temporary folder. `log` is vizhook's `VIZHOOK_LOG`
    /// filter; `log_file`, if given, receives every line.
    pub(crate) async fn start(
        binary: &Path,
        database: Option<&str>,
        log: &str,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        Self::start_with(binary, database, "", log, log_file).await
    }

    /// As [`Vizhook::start`], with `delivery` (`key = value` lines) added to the bench's
    /// `[delivery]` settings.
    pub(crate) async fn start_with(
        binary: &Path,
        database: Option<&str>,
        delivery: &str,
        log: &str,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("bench.toml");
        std::fs::write(&config, format!("{CONFIG}{delivery}"))?;
        let database = database.map_or_else(
            || format!("sqlite://{}", dir.path().join("bench.db").display()),
            str::to_owned,
        );
        let mut command = Command::new(binary);
        command
            .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--database"])
            .arg(&database)
            .arg("--config")
            .arg(&config)
            .env("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME)
            .env("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET);
        Self::spawn(command, binary, dir, log, log_file).await
    }

    /// `vizhook receive --config CONFIG --dev` on 127.0.0.1 with a free port, in `dir` (which
    /// lives as long as the process and holds the configuration and its database).
    pub(crate) async fn start_receive(
        binary: &Path,
        dir: tempfile::TempDir,
        config: &Path,
        log: &str,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command
            .args(["receive", "--dev", "--listen", "127.0.0.1:0", "--config"])
            .arg(config);
        Self::spawn(command, binary, dir, log, log_file).await
    }

    /// Starts `command` in `dir` and waits until it logs `listening on http://ADDR`.
    async fn spawn(
        mut command: Command,
        binary: &Path,
        dir: tempfile::TempDir,
        log: &str,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let mut child = command
            .env("VIZHOOK_LOG", log)
            .env_remove(crate::POSTGRES_URL_VAR)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id().context("vizhook exited at once")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let (address_tx, address_rx) = oneshot::channel();
        let log_problems = Arc::new(AtomicU64::new(0));
        let problems = log_problems.clone();
        let sweeps = Arc::new(Mutex::new(Vec::new()));
        let swept = sweeps.clone();
        let mut log_file = match log_file {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => None,
        };
        // Reads the log for the address, then keeps draining it so vizhook never blocks on a
        // full pipe, echoing warnings and errors (the first few) to our stderr.
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut address_tx = Some(address_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(file) = &mut log_file {
                    let _ = writeln!(file, "{line}");
                }
                if line.contains(SWEEP_LINE)
                    && let Ok(mut swept) = swept.lock()
                {
                    swept.push((now_ns(), line.clone()));
                }
                if let Some(address) = listening_address(&line)
                    && let Some(tx) = address_tx.take()
                {
                    let _ = tx.send(address);
                    continue;
                }
                // Before it listens: anything but INFO (a failure is one plain sentence); after:
                // warnings and errors. `--dev`'s own warning is expected.
                let problem = if address_tx.is_some() {
                    !line.contains(" INFO ") && !line.contains("development mode")
                } else {
                    line.contains(" WARN ") || line.contains(" ERROR ")
                };
                if problem && problems.fetch_add(1, Ordering::Relaxed) < 20 {
                    eprintln!("  vizhook: {line}");
                }
            }
            if let Some(file) = &mut log_file {
                let _ = file.flush();
            }
        });
        let address = tokio::time::timeout(Duration::from_secs(60), address_rx)
            .await
            .context("vizhook did not log `listening on` within 60 s")?
            .context("vizhook exited before it was listening")?;
        eprintln!("  vizhook pid {pid} listening on http://{address}");
        Ok(Self {
            child,
            pid,
            base: format!("http://{address}"),
            log_problems,
            sweeps,
            _dir: dir,
        })
    }

    /// Checks that it is still running.
    pub(crate) fn ensure_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("vizhook exited during the scenario: {status}");
        }
        Ok(())
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// `ADDR` of a log line containing `listening on http://ADDR`.
fn listening_address(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let address: String = rest
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    (!address.is_empty()).then_some(address)
}

/// A signed-in administrator session on the Default site.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    client: Client,
    base: String,
    token: String,
    pub(crate) site: String,
}

impl Api {
    pub(crate) async fn sign_in(base: &str) -> anyhow::Result<Self> {
        let client = Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .timeout(Duration::from_secs(120))
            .build()?;
        let body = serde_json::json!({"credentials": {
            "site": {"contentUrl": ""},
            "personalAccessTokenName": PAT_NAME,
            "personalAccessTokenSecret": PAT_SECRET,
        }});
        let response = client
            .post(format!("{base}/api/3.24/auth/signin"))
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(
            status == StatusCode::OK,
            "sign-in answered {status}: {text}"
        );
        let value: Value = serde_json::from_str(&text)?;
        let field = |pointer: &str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("sign-in answer has no {pointer}: {text}"))
        };
        Ok(Self {
            token: field("/credentials/token")?,
            site: field("/credentials/site/id")?,
            client,
            base: base.to_owned(),
        })
    }

    /// Creates a webhook on `ViewDeleted` to `url`; returns its id.
    pub(crate) async fn create_webhook(&self, name: &str, url: &str) -> anyhow::Result<String> {
        let body = serde_json::json!({"webhook": {
            "name": name,
            "event": "ViewDeleted",
            "webhook-destination": {"webhook-destination-http": {"method": "POST", "url": url}},
        }});
        let request = self.client.post(format!(
            "{}/api/3.24/sites/{}/webhooks",
            self.base, self.site
        ));
        let (value, text) = self
            .exchange(
                request.json(&body),
                StatusCode::CREATED,
                &format!("creating webhook {name}"),
            )
            .await?;
        value
            .pointer("/webhook/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("the new webhook has no id: {text}"))
    }

    /// One page of `webhook`'s delivery log (`limit` deliveries, created before `before` if
    /// given, an RFC 3339 time); returns how many deliveries it held.
    pub(crate) async fn log_page(
        &self,
        webhook: &str,
        before: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<usize> {
        // `before` is a UTC time ending in `Z`: nothing in it needs escaping in a query.
        let before = before.map_or_else(String::new, |b| format!("&before={b}"));
        let request = self.client.get(format!(
            "{}/vizhook/v1/sites/{}/webhooks/{webhook}/deliveries?limit={limit}{before}",
            self.base, self.site
        ));
        let (value, text) = self.exchange(request, StatusCode::OK, "a log page").await?;
        value
            .pointer("/deliveries")
            .and_then(Value::as_array)
            .map(Vec::len)
            .with_context(|| format!("a log page without deliveries: {text}"))
    }

    /// Sends `request` signed in, asking for JSON; the answer parsed, and as text, if its status
    /// is `expected`.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        expected: StatusCode,
        what: &str,
    ) -> anyhow::Result<(Value, String)> {
        let response = request
            .header("X-Tableau-Auth", &self.token)
            .header("Accept", "application/json")
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status == expected, "{what} answered {status}: {text}");
        Ok((serde_json::from_str(&text)?, text))
    }

    /// Injects one `ViewDeleted` event per `(send timestamp, sequence number)`; returns once
    /// vizhook answered 202 (events and deliveries committed).
    pub(crate) async fn inject(&self, events: &[(u64, u64)]) -> anyhow::Result<()> {
        let mut body = String::with_capacity(16 + events.len() * 90);
        body.push_str(r#"{"events":["#);
        for (i, (sent_ns, seq)) in events.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(r#"{"event_type":"ViewDeleted","resource_name":""#);
            body.push_str(&sent_ns.to_string());
            body.push_str(r#"","resource_luid":""#);
            body.push_str(&seq.to_string());
            body.push_str(r#""}"#);
        }
        body.push_str("]}");
        let response = self
            .client
            .post(format!(
                "{}/vizhook/v1/sites/{}/events",
                self.base, self.site
            ))
            .header("X-Tableau-Auth", &self.token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(
            status == StatusCode::ACCEPTED,
            "injecting {} events answered {status}: {text}",
            events.len()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::listening_address;

    #[test]
    fn finds_the_address_in_the_log_line() {
        let line =
            "2024-01-01T00:00:00Z  INFO vizhook::cmd::serve: listening on http://127.0.0.1:39999";
        assert_eq!(listening_address(line).as_deref(), Some("127.0.0.1:39999"));
        assert_eq!(
            listening_address("\x1b[2mlistening on http://127.0.0.1:80\x1b[0m").as_deref(),
            Some("127.0.0.1:80")
        );
        assert_eq!(listening_address("starting"), None);
    }
}
