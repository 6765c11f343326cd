//! The checks of a loaded configuration that serde cannot make: the engine's limits and lease
//! rule, durations, command timeouts, TLS files and the database URL. Each problem names its
//! key path.

use std::{path::Path, time::Duration};

use vizhook_runtime::engine::{LimitProblem, Limits as EngineLimits};

use super::sections::{ActionDelivery, ReceiveConfig, ServerSection};
use crate::actions::ActionConfig;

pub(super) fn check_delivery(delivery: &ActionDelivery) -> Vec<(String, String)> {
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

pub(super) fn check_durations(config: &ReceiveConfig) -> Vec<(String, String)> {
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
        (
            "delivery.max_retry_after".to_owned(),
            delivery.max_retry_after,
        ),
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
pub(super) fn check_command_timeouts(config: &ReceiveConfig) -> Vec<(String, String)> {
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

pub(super) fn check_tls(server: &ServerSection, base: &Path) -> Vec<(String, String)> {
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

/// The database URL with a relative SQLite path made relative to `base`; a PostgreSQL URL as
/// it is.
pub(super) fn database_url(url: &str, base: &Path) -> Result<String, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(url.to_owned());
    }
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        let only = "the database must be a sqlite:// or postgres:// url";
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
