//! The receive scenario's surroundings: the receiver's configuration (its inbox on SQLite or
//! PostgreSQL), where its actions land and how many have, and the inbox's rows at the end.

use clap::ValueEnum;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use crate::{now_ns, receiver::Receiver};

/// The source's secret URL segment.
pub(super) const TOKEN: &str = "bench-receive-token-5f0c2a9e7d41b386";

/// What the routed receiver does with each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ActionKind {
    /// An `http` action POSTing the context as JSON to the bench's own receiver.
    Http,
    /// A `file` action appending one JSON line per event in the temporary folder.
    File,
    /// A receiver without actions: events are stored and de-duplicated, no task is queued.
    None,
}

impl ActionKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::File => "file",
            Self::None => "none",
        }
    }
}

/// The receiver configuration: one source without a rate limit, the inbox at `database` (a
/// PostgreSQL URL) or by default in `dir`, and the action engine sized like `vizhook serve`'s
/// in the delivery scenarios.
pub(super) fn config(
    dir: &Path,
    database: Option<&str>,
    action: ActionKind,
    hook_url: &str,
) -> String {
    let action = match action {
        ActionKind::Http => {
            format!("\n  [[receiver.action]]\n  type = \"http\"\n  url = \"{hook_url}\"\n")
        }
        ActionKind::File => {
            "\n  [[receiver.action]]\n  type = \"file\"\n  path = \"actions.jsonl\"\n".to_owned()
        }
        ActionKind::None => String::new(),
    };
    format!(
        r#"[storage]
database = "{db}"

[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"
rate_limit = 0

[route]
receiver = "bench"

[[receiver]]
name = "bench"
{action}
[delivery]
max_in_flight = 512
max_in_flight_per_action = 256
claim_batch = 256
lease = "60s"
attempt_timeout = "10s"
poll_interval = "50ms"
"#,
        db = database.map_or_else(
            || format!("sqlite://{}", dir.join("receive.db").display()),
            str::to_owned
        ),
    )
}

/// Where the actions land, and how many have.
pub(super) enum Sink {
    Http(Receiver),
    /// The JSON lines file, and how much of it was counted: (bytes, lines).
    File(PathBuf, (u64, u64)),
    None,
}

impl Sink {
    /// Actions performed so far.
    pub(super) fn count(&mut self) -> u64 {
        match self {
            Self::Http(receiver) => receiver.count(),
            Self::File(path, (offset, lines)) => {
                use std::io::{Read as _, Seek as _, SeekFrom};
                if let Ok(mut file) = std::fs::File::open(&*path)
                    && file.seek(SeekFrom::Start(*offset)).is_ok()
                {
                    let mut new = Vec::new();
                    if let Ok(read) = file.read_to_end(&mut new) {
                        *offset += read as u64;
                        *lines += new.iter().filter(|b| **b == b'\n').count() as u64;
                    }
                }
                *lines
            }
            Self::None => 0,
        }
    }

    /// Waits until `expected` actions were performed, or none for `stall`; returns whether all
    /// were, and when the last one counted arrived.
    pub(super) async fn wait_for(&mut self, expected: u64, stall: Duration) -> (bool, u64) {
        if matches!(self, Self::None) {
            return (true, now_ns());
        }
        let mut last = self.count();
        let mut last_ns = now_ns();
        loop {
            let now = self.count();
            if now != last {
                last = now;
                last_ns = now_ns();
            }
            if now >= expected {
                // The receiver knows the exact arrival time of the last one.
                if let Self::Http(receiver) = self {
                    last_ns = receiver.hits().last().map_or(last_ns, |h| h.at_ns);
                }
                return (true, last_ns);
            }
            if now_ns() - last_ns >= stall.as_nanos() as u64 {
                eprintln!("  stalled: {now} of {expected} actions, nothing new for {stall:?}");
                return (false, last_ns);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Rows of the inbox and its tasks by state, read with the `sqlite3` command (read-only) if it
/// is installed.
pub(super) fn inbox_rows(database: &Path) -> Option<(u64, BTreeMap<String, u64>)> {
    let output = Command::new("sqlite3")
        .arg("-readonly")
        .arg(database)
        .arg(
            "SELECT 'inbox', count(*) FROM inbox; \
             SELECT 'task ' || state, count(*) FROM inbox_tasks GROUP BY state;",
        )
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut inbox = 0;
    let mut tasks = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let (name, n) = line.split_once('|')?;
        let n: u64 = n.trim().parse().ok()?;
        match name.strip_prefix("task ") {
            Some(state) => {
                tasks.insert(state.to_owned(), n);
            }
            None => inbox = n,
        }
    }
    Some((inbox, tasks))
}
