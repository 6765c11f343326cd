//! The report of a run: every scenario's figures (`figures.rs`) and the project's goals judged
//! against them (serialized as is for `--json`; `render.rs` writes them as text).

use serde::Serialize;

pub(crate) use crate::figures::*;
use crate::{pg, postgres_report::PostgresReport, procfs::Machine};

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) command: String,
    /// `git describe --always --dirty` of the working directory, if it is a checkout.
    pub(crate) source: Option<String>,
    pub(crate) machine: Machine,
    pub(crate) vizhook_binary: Option<String>,
    /// `VIZHOOK_*` variables of this process, which vizhook inherits (they override its
    /// configuration file).
    pub(crate) vizhook_env: Vec<String>,
    pub(crate) ceiling: Option<Ceiling>,
    pub(crate) throughput: Option<Throughput>,
    pub(crate) latency: Option<Latency>,
    pub(crate) fanout: Option<Fanout>,
    pub(crate) receive: Option<Receive>,
    pub(crate) idle: Option<crate::idle::Idle>,
    pub(crate) growth: Option<crate::growth::Growth>,
    /// The PostgreSQL scenarios (`--postgres`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) postgres: Option<PostgresReport>,
    pub(crate) goals: Vec<Goal>,
}

impl Report {
    pub(crate) fn new() -> Self {
        Self {
            command: std::env::args()
                .map(|arg| pg::redact(&arg))
                .collect::<Vec<_>>()
                .join(" "),
            source: std::process::Command::new("git")
                .args(["describe", "--always", "--dirty"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
            machine: Machine::describe(),
            vizhook_binary: None,
            vizhook_env: std::env::vars()
                .filter(|(k, _)| k.starts_with("VIZHOOK_") && k != crate::POSTGRES_URL_VAR)
                .map(|(k, v)| {
                    let secret = ["SECRET", "PASSWORD"].iter().any(|s| k.contains(s));
                    format!("{k}={}", if secret { "***" } else { &v })
                })
                .collect(),
            ceiling: None,
            throughput: None,
            latency: None,
            fanout: None,
            receive: None,
            idle: None,
            growth: None,
            postgres: None,
            goals: Vec::new(),
        }
    }

    /// Compares the figures with the project's goals for this machine.
    pub(crate) fn judge(&mut self) {
        if let Some(t) = &mut self.throughput {
            let cpu_us = t.process.vizhook_cpu.cpu_s * 1e6 / t.delivered.max(1) as f64;
            self.goals.push(Goal {
                goal: "fan-out 1: <= 25 us of vizhook CPU per delivery".to_owned(),
                measured: format!("{cpu_us:.1} us"),
                met: t.complete && cpu_us <= 25.0,
            });
            if let Some(c) = &self.ceiling {
                let ratio = t.deliveries_per_s / c.requests_per_s;
                t.ratio_to_ceiling = Some(ratio);
                self.goals.push(Goal {
                    goal: "fan-out 1: >= 0.5 of the loopback ceiling".to_owned(),
                    measured: format!(
                        "{ratio:.3} ({:.0} of {:.0}/s)",
                        t.deliveries_per_s, c.requests_per_s
                    ),
                    met: t.complete && ratio >= 0.5,
                });
            }
        }
        if let Some(l) = &self.latency {
            self.goals.push(Goal {
                goal: format!("p99 event-to-first-attempt <= 5 ms at {}/s", l.rate),
                measured: format!("{:.2} ms", l.event_to_first_attempt.p99_ms),
                met: l.complete && l.event_to_first_attempt.p99_ms <= 5.0,
            });
        }
        if let Some(r) = &mut self.receive {
            let clean = r.others.is_empty() && r.accepted == r.requests;
            let ratio = self
                .ceiling
                .as_ref()
                .map(|c| r.accepted_per_s / c.requests_per_s);
            r.ratio_to_ceiling = ratio;
            self.goals.push(Goal {
                goal: format!(
                    "receive (action: {}): >= 0.5 of the loopback ceiling",
                    r.action
                ),
                measured: ratio.map_or_else(
                    || format!("{:.0}/s (no ceiling measured)", r.accepted_per_s),
                    |ratio| format!("{ratio:.3} ({:.0}/s)", r.accepted_per_s),
                ),
                met: clean && ratio.is_some_and(|ratio| ratio >= 0.5),
            });
            if let Some(l) = &r.latency {
                self.goals.push(Goal {
                    goal: format!(
                        "receive (action: {}): p99 send-to-202 <= 10 ms at {}/s",
                        r.action, l.rate
                    ),
                    measured: format!(
                        "{:.2} ms ({:.2} ms from the schedule)",
                        l.round_trip.p99_ms, l.from_schedule.p99_ms
                    ),
                    met: l.others.is_empty()
                        && l.accepted == l.sent
                        && l.waited_for_connection == 0
                        && l.round_trip.p99_ms <= 10.0,
                });
            }
            self.goals.push(Goal {
                goal: "receive: duplicates answered 200, inbox and actions match".to_owned(),
                measured: format!(
                    "{} of {} duplicates; {} events, {} of {} actions",
                    r.duplicates_answered,
                    r.duplicates_sent,
                    r.inbox
                        .inbox_rows
                        .or(r.inbox.accepted_counter)
                        .map_or_else(|| "?".to_owned(), |n| n.to_string()),
                    r.inbox.actions_performed,
                    r.inbox.actions_expected
                ),
                met: r.duplicates_answered == r.duplicates_sent && r.inbox.consistent(),
            });
        }
        if let Some(i) = &self.idle {
            for (role, rss) in [("serve", i.serve_rss_mib), ("receive", i.receive_rss_mib)] {
                self.goals.push(Goal {
                    goal: format!("idle {role} on an empty database: <= 30 MiB resident"),
                    measured: format!("{rss:.1} MiB"),
                    met: rss <= 30.0,
                });
            }
        }
        if let Some(g) = &self.growth {
            g.judge(&mut self.goals);
        }
        if let Some(p) = &self.postgres {
            p.judge(&mut self.goals);
        }
    }
}
