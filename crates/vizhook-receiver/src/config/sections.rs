//! The sections of `vizhook receive`'s TOML file, as serde reads them, with their defaults.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use ipnet::IpNet;
use serde::Deserialize;
use vizhook_core::{RateLimitPolicy, RetrySchedule};
use vizhook_listener::Limits;
use vizhook_runtime::{
    email::SmtpConfig, engine::Limits as EngineLimits, outbound::OutboundConfig,
};

use crate::{
    actions::ReceiverConfig, enrich::EnrichConfig, routing::RouteConfig, source::SourceConfig,
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
    /// `sqlite://PATH` (a relative path is relative to the configuration file), or
    /// `postgres://…` for replicas sharing one database.
    pub database: String,
    /// PostgreSQL only: connections in the pool at most.
    pub pool_size: u32,
    /// PostgreSQL only: how long one statement may run.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// How long handled events are kept.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            database: "sqlite://vizhook-receive.db".to_owned(),
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
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
    /// The longest `Retry-After` of a rate-limited destination (`429`, or `503` with
    /// `Retry-After`) that is waited for.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
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
            max_retry_after: secs(3600),
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

    pub fn rate_limit(&self) -> RateLimitPolicy {
        RateLimitPolicy {
            max_retry_after: self.max_retry_after,
        }
    }
}
