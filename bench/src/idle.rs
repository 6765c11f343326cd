//! The idle scenario: the resident memory of `vizhook serve` and of `vizhook receive`, each
//! just started on an empty database and left alone for a few seconds (the goal: at most
//! 30 MiB each), read from `/proc`. The peak under load is in each load scenario's figures.

use std::{path::Path, time::Duration};

use serde::Serialize;

use crate::{procfs, vizhook::Vizhook};

/// How long each process is left alone before its memory is read.
const SETTLE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Idle {
    pub(crate) settle_s: f64,
    /// `VmRSS` of `vizhook serve` on an empty database, in MiB.
    pub(crate) serve_rss_mib: f64,
    /// `VmRSS` of `vizhook receive` with one receiver on an empty inbox, in MiB.
    pub(crate) receive_rss_mib: f64,
}

const RECEIVE_CONFIG: &str = r#"[storage]
database = "sqlite://idle-receive.db"

[[source]]
name = "tableau"
path = "/tableau"
token = "idle-token-0123456789"

[route]
receiver = "team"

[[receiver]]
name = "team"
  [[receiver.action]]
  type = "file"
  path = "actions.jsonl"
"#;

pub(crate) async fn idle(binary: &Path, log: &str) -> anyhow::Result<Idle> {
    let serve = Vizhook::start(binary, None, log, None).await?;
    tokio::time::sleep(SETTLE).await;
    let serve_rss_mib = procfs::rss_mib(serve.pid).unwrap_or(f64::NAN);
    drop(serve);

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("receive.toml");
    std::fs::write(&config, RECEIVE_CONFIG)?;
    let receive = Vizhook::start_receive(binary, dir, &config, log, None).await?;
    tokio::time::sleep(SETTLE).await;
    let receive_rss_mib = procfs::rss_mib(receive.pid).unwrap_or(f64::NAN);
    drop(receive);
    Ok(Idle {
        settle_s: SETTLE.as_secs_f64(),
        serve_rss_mib,
        receive_rss_mib,
    })
}
