//! `vizhook receive`'s configuration: the TOML file's sections, their defaults, and loading,
//! which builds every part (sources, routing tree, actions, enrichment) up front and reports
//! every problem at once, each with its line and column.

mod document;
#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, HashSet},
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use ipnet::IpNet;
use serde::Deserialize;
use vizhook_core::RetrySchedule;

use super::{
    actions::{ActionConfig, Actions, ReceiverConfig},
    enrich::{EnrichConfig, Enricher},
    routing::{RouteConfig, RouteTree},
    secret::resolve,
    source::{Source, SourceConfig},
};
use vizhook_runtime::{
    email::{Mailer, SmtpConfig},
    engine::{LimitProblem, Limits as EngineLimits},
    listener::Limits,
    outbound::{Outbound, OutboundConfig},
};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub dedup: DedupSection,
    #[serde(default)]
    pub source: Vec<SourceConfig>,
    #[serde(default)]
    pub enrich: EnrichConfig,
    pub route: RouteConfig,
    #[serde(default)]
    pub receiver: Vec<ReceiverConfig>,
    #[serde(default)]
    pub delivery: ActionDelivery,
    /// Email for email actions; `password` may be a secret reference.
    #[serde(default)]
    pub smtp: SmtpConfig,
    #[serde(default)]
    pub outbound: OutboundConfig,
    /// Named secrets for templates (`{{ secrets.name }}`), each a literal or a reference.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    pub listen: SocketAddr,
    /// PEM certificate chain and key for HTTPS; both or neither. Reloaded on SIGHUP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Serve `GET /metrics` (Prometheus) on this listener.
    pub metrics: bool,
    /// How long a client may keep the receiver waiting for a request's first byte, the rest of
    /// its headers, its next request on a keep-alive connection, or the next part of its body.
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// The largest request head (request line and headers), and the longest request URI.
    pub max_header_bytes: usize,
    pub max_uri_bytes: usize,
}

impl ServerSection {
    pub fn limits(&self) -> Limits {
        Limits {
            max_header_bytes: self.max_header_bytes,
            max_uri_bytes: self.max_uri_bytes,
        }
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8450)),
            tls_cert: None,
            tls_key: None,
            trusted_proxies: Vec::new(),
            metrics: true,
            read_timeout: Duration::from_secs(30),
            max_header_bytes: Limits::default().max_header_bytes,
            max_uri_bytes: Limits::default().max_uri_bytes,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    /// `sqlite://PATH`; a relative path is relative to the configuration file.
    pub database: String,
    /// How long handled events are kept.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            database: "sqlite://vizhook-receive.db".to_owned(),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DedupSection {
    /// A repeat of an event within this window is a duplicate.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl Default for DedupSection {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(24 * 3600),
        }
    }
}

/// How actions are run and retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionDelivery {
    /// Gaps between the attempts of one action.
    pub retry_schedule: Vec<humantime_serde::Serde<Duration>>,
    #[serde(with = "humantime_serde")]
    pub attempt_timeout: Duration,
    pub max_in_flight: usize,
    pub max_in_flight_per_action: usize,
    pub claim_batch: usize,
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
}

impl ActionDelivery {
    /// The action engine's limits, an action being its key.
    pub fn limits(&self) -> EngineLimits {
        EngineLimits {
            max_in_flight: self.max_in_flight,
            max_in_flight_per_key: self.max_in_flight_per_action,
            claim_batch: self.claim_batch,
            lease: self.lease,
            poll_interval: self.poll_interval,
        }
    }
}

impl Default for ActionDelivery {
    fn default() -> Self {
        let secs = Duration::from_secs;
        Self {
            retry_schedule: [10, 60, 300, 1800, 7200]
                .map(|gap| secs(gap).into())
                .to_vec(),
            attempt_timeout: secs(30),
            max_in_flight: 64,
            max_in_flight_per_action: 8,
            claim_batch: 32,
            lease: secs(600),
            poll_interval: secs(1),
        }
    }
}

impl ActionDelivery {
    pub fn schedule(&self) -> RetrySchedule {
        RetrySchedule::new(self.retry_schedule.iter().map(|gap| **gap).collect())
    }
}

/// A loaded configuration with every part built. Its `Debug` leaves out the raw configuration,
/// which may hold literal secrets.
pub struct Loaded {
    pub config: ReceiveConfig,
    /// The configuration file's folder: relative paths are relative to it.
    pub base: PathBuf,
    pub sources: Vec<Source>,
    pub tree: RouteTree,
    pub actions: Actions,
    pub enricher: Enricher,
    pub outbound: Outbound,
    pub mailer: Option<Mailer>,
    pub database: String,
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("base", &self.base)
            .field("sources", &self.sources)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line and column (1-based), when the problem has a place in the file.
    pub at: Option<(usize, usize)>,
    /// The key, like `route.routes[1].matchers[0]`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.at {
            write!(f, "{line}:{column}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} has {} problem(s):\n{}", file.display(), problems.len(), list(file, problems))]
    Invalid {
        file: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(file: &Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|problem| format!("  {}:{problem}", file.display()))
        .collect();
    lines.join("\n")
}

/// Reads and builds the configuration file at `path`; `dev` lifts the outbound address guard.
pub fn load(path: &Path, dev: bool) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let base = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    load_str(&text, &base, dev).map_err(|problems| LoadError::Invalid {
        file: path.to_owned(),
        problems,
    })
}

/// Builds a configuration from its text; relative paths are relative to `base`.
pub fn load_str(text: &str, base: &Path, dev: bool) -> Result<Loaded, Vec<Problem>> {
    let config: ReceiveConfig = toml::from_str(text).map_err(|err| {
        let at = err
            .span()
            .map(|span| document::line_column(text, span.start));
        vec![Problem {
            at,
            path: String::new(),
            message: err.message().trim().to_owned(),
        }]
    })?;
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut sources = Vec::new();
    let mut paths = HashSet::new();
    if config.source.is_empty() {
        problems.push(("source".into(), "at least one [[source]] is needed".into()));
    }
    for (index, source) in config.source.iter().enumerate() {
        if !paths.insert(format!("/{}", source.path.trim_matches('/'))) {
            problems.push((
                format!("source[{index}].path"),
                "another source has this path".into(),
            ));
        }
        match Source::build(source, base) {
            Ok(built) => sources.push(built),
            Err(found) => problems.extend(
                found
                    .into_iter()
                    .map(|(field, message)| (format!("source[{index}].{field}"), message)),
            ),
        }
    }
    let mut names = HashSet::new();
    for (index, receiver) in config.receiver.iter().enumerate() {
        if !names.insert(receiver.name.as_str()) {
            problems.push((
                format!("receiver[{index}].name"),
                "another receiver has this name".into(),
            ));
        }
    }
    let mut secrets = BTreeMap::new();
    for (name, raw) in &config.secrets {
        match resolve(raw, base) {
            Ok(secret) => {
                secrets.insert(name.clone(), secret);
            }
            Err(err) => problems.push((format!("secrets.{name}"), err.to_string())),
        }
    }
    let tree = RouteTree::build(&config.route, &|name| names.contains(name))
        .map_err(|found| {
            problems.extend(found.into_iter().map(|p| (p.path, p.message)));
        })
        .ok();
    let actions = Actions::build(&config.receiver, &secrets, base)
        .map_err(|found| problems.extend(found.into_iter().map(|p| (p.path, p.message))))
        .ok();
    problems.extend(check_delivery(&config.delivery));
    problems.extend(check_durations(&config));
    if config.server.read_timeout.is_zero() {
        problems.push((
            "server.read_timeout".into(),
            "must be longer than zero".into(),
        ));
    }
    problems.extend(
        config
            .server
            .limits()
            .check()
            .into_iter()
            .map(|problem| (format!("server.{}", problem.key()), problem.to_string())),
    );
    problems.extend(check_command_timeouts(&config));
    problems.extend(check_tls(&config.server, base));
    let outbound = Outbound::new(&config.outbound, dev)
        .map_err(|err| problems.push(("outbound".into(), err.to_string())))
        .ok();
    let mut smtp = config.smtp.clone();
    if !smtp.password.is_empty() {
        match resolve(&smtp.password, base) {
            Ok(password) => smtp.password = password.expose().to_owned(),
            Err(err) => problems.push(("smtp.password".into(), err.to_string())),
        }
    }
    let mailer = Mailer::new(&smtp)
        .map_err(|err| problems.push(("smtp".into(), err.to_string())))
        .ok()
        .flatten();
    if mailer.is_none() && actions.as_ref().is_some_and(Actions::needs_smtp) {
        problems.push((
            "smtp.host".into(),
            "an email action needs [smtp] with a host".into(),
        ));
    }
    let enricher = outbound.clone().and_then(|outbound| {
        Enricher::build(&config.enrich, base, outbound)
            .map_err(|found| problems.extend(found.into_iter().map(|p| (p.path, p.message))))
            .ok()
    });
    let database = database_url(&config.storage.database, base)
        .map_err(|message| problems.push(("storage.database".into(), message)))
        .ok();
    match (tree, actions, outbound, enricher, database) {
        (Some(tree), Some(actions), Some(outbound), Some(enricher), Some(database))
            if problems.is_empty() =>
        {
            Ok(Loaded {
                config,
                base: base.to_owned(),
                sources,
                tree,
                actions,
                enricher,
                outbound,
                mailer,
                database,
            })
        }
        _ => Err(document::locate_all(text, problems)),
    }
}

fn check_delivery(delivery: &ActionDelivery) -> Vec<(String, String)> {
    delivery
        .limits()
        .check(delivery.attempt_timeout)
        .into_iter()
        .map(|problem| {
            let key = match problem {
                LimitProblem::MaxInFlight => "max_in_flight",
                LimitProblem::MaxInFlightPerKey => "max_in_flight_per_action",
                LimitProblem::ClaimBatch => "claim_batch",
                LimitProblem::AttemptTimeout => "attempt_timeout",
                LimitProblem::PollInterval => "poll_interval",
                LimitProblem::Lease { .. } => "lease",
            };
            (format!("delivery.{key}"), problem.to_string())
        })
        .collect()
}

/// The longest duration a setting may hold: later times would leave the calendar.
const MAX_DURATION: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

fn check_durations(config: &ReceiveConfig) -> Vec<(String, String)> {
    let delivery = &config.delivery;
    let mut named = vec![
        ("dedup.window".to_owned(), config.dedup.window),
        ("storage.retention".to_owned(), config.storage.retention),
        (
            "delivery.attempt_timeout".to_owned(),
            delivery.attempt_timeout,
        ),
        ("delivery.lease".to_owned(), delivery.lease),
        ("delivery.poll_interval".to_owned(), delivery.poll_interval),
        ("server.read_timeout".to_owned(), config.server.read_timeout),
    ];
    for (index, gap) in delivery.retry_schedule.iter().enumerate() {
        named.push((format!("delivery.retry_schedule[{index}]"), **gap));
    }
    named
        .into_iter()
        .filter(|(_, duration)| *duration > MAX_DURATION)
        .map(|(path, _)| (path, "must be at most 10 years".to_owned()))
        .collect()
}

/// A command must be able to finish within the attempt that runs it, and its claimed tasks,
/// which wait for one of its `max_concurrent` slots, within their lease.
fn check_command_timeouts(config: &ReceiveConfig) -> Vec<(String, String)> {
    let delivery = &config.delivery;
    let mut problems = Vec::new();
    for (r, receiver) in config.receiver.iter().enumerate() {
        for (a, action) in receiver.action.iter().enumerate() {
            let ActionConfig::Command(command) = action else {
                continue;
            };
            let path = format!("receiver[{r}].action[{a}]");
            if command.timeout >= delivery.attempt_timeout {
                problems.push((
                    format!("{path}.timeout"),
                    format!(
                        "must be shorter than delivery.attempt_timeout ({})",
                        humantime::format_duration(delivery.attempt_timeout)
                    ),
                ));
            }
            let needed = EngineLimits::lease_needed(
                command.timeout,
                delivery.claim_batch,
                command.max_concurrent,
            );
            if delivery.lease < needed {
                problems.push((
                    format!("{path}.max_concurrent"),
                    format!(
                        "with this timeout and delivery.claim_batch, a claimed run may wait {} for a slot, longer than delivery.lease ({}): raise max_concurrent or the lease, or lower claim_batch",
                        humantime::format_duration(needed),
                        humantime::format_duration(delivery.lease)
                    ),
                ));
            }
        }
    }
    problems
}

fn check_tls(server: &ServerSection, base: &Path) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    match (&server.tls_cert, &server.tls_key) {
        (None, None) => {}
        (Some(cert), Some(key)) => {
            for (name, path) in [("tls_cert", cert), ("tls_key", key)] {
                let path = base.join(path);
                if let Err(err) = std::fs::metadata(&path) {
                    problems.push((
                        format!("server.{name}"),
                        format!("cannot read {}: {err}", path.display()),
                    ));
                }
            }
        }
        _ => problems.push((
            "server.tls_cert".into(),
            "tls_cert and tls_key go together".into(),
        )),
    }
    problems
}

/// The database URL with a relative SQLite path made relative to `base`.
fn database_url(url: &str, base: &Path) -> Result<String, String> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        let only = "only sqlite:// databases are supported by vizhook receive";
        return Err(if url.contains(':') {
            only.to_owned()
        } else {
            format!("{only}; for this file, write \"sqlite://{url}\"")
        });
    };
    if rest.is_empty() {
        return Err("needs a file path, like sqlite://vizhook-receive.db".into());
    }
    if rest.starts_with('/') || rest.starts_with(":memory:") {
        return Ok(format!("sqlite://{rest}"));
    }
    Ok(format!("sqlite://{}", base.join(rest).display()))
}
