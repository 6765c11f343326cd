//! The PostgreSQL scenarios' figures (serialized as is for `--json`; `render/postgres.rs`
//! writes them beside the SQLite figures) and the goals judged against them: >= 10,000
//! deliveries/s on one node, two nodes no slower than one, and a p99 from event to first
//! attempt of at most 10 ms with two nodes.

use serde::Serialize;

use crate::figures::{Goal, Latency, Receive, Throughput};

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PostgresReport {
    /// The server's URL, its password hidden.
    pub(crate) server: String,
    pub(crate) version: String,
    /// Settings that bear on what a commit costs.
    pub(crate) settings: Vec<(String, String)>,
    /// Fan-out 1 with one `vizhook serve`.
    pub(crate) throughput_1_node: Option<Throughput>,
    /// Fan-out 1 with two `vizhook serve` on the same schema, the injectors split between them.
    pub(crate) throughput_2_nodes: Option<Throughput>,
    /// At `--rate`, two nodes, the injection split between them.
    pub(crate) latency_2_nodes: Option<Latency>,
    /// The receive scenario's throughput phase with one `vizhook receive`.
    pub(crate) receive: Option<Receive>,
    /// Scenarios that failed, with the error.
    pub(crate) failures: Vec<(String, String)>,
}

/// One node's deliveries per second at least.
const ONE_NODE_PER_S: f64 = 10_000.0;
/// With two nodes, p99 event to first attempt at most.
const TWO_NODES_P99_MS: f64 = 10.0;

impl PostgresReport {
    pub(crate) fn new(server: String, version: String, settings: Vec<(String, String)>) -> Self {
        Self {
            server,
            version,
            settings,
            throughput_1_node: None,
            throughput_2_nodes: None,
            latency_2_nodes: None,
            receive: None,
            failures: Vec::new(),
        }
    }

    /// The error of the scenario whose name starts with `prefix`, if it failed.
    pub(crate) fn failure(&self, prefix: &str) -> Option<&str> {
        self.failures
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .map(|(_, err)| err.as_str())
    }

    pub(crate) fn judge(&self, goals: &mut Vec<Goal>) {
        let failed = |prefix: &str, goal: String| {
            self.failure(prefix).map(|err| Goal {
                goal,
                measured: format!("FAILED: {}", first_line(err)),
                met: false,
            })
        };
        let goal = format!("postgres, 1 node: >= {ONE_NODE_PER_S:.0} deliveries/s");
        match &self.throughput_1_node {
            Some(t) => goals.push(Goal {
                goal,
                measured: format!("{:.0}/s{}", t.deliveries_per_s, incomplete(t)),
                met: t.complete && t.deliveries_per_s >= ONE_NODE_PER_S,
            }),
            None => goals.extend(failed("postgres throughput", goal)),
        }
        let goal = "postgres, 2 nodes: deliveries/s no lower than 1 node's".to_owned();
        match (&self.throughput_1_node, &self.throughput_2_nodes) {
            (Some(one), Some(two)) => goals.push(Goal {
                goal,
                measured: format!(
                    "{:.0}/s vs {:.0}/s ({:.2}x; {} repeated){}",
                    two.deliveries_per_s,
                    one.deliveries_per_s,
                    two.deliveries_per_s / one.deliveries_per_s.max(1e-9),
                    two.duplicates,
                    incomplete(two)
                ),
                met: one.complete && two.complete && two.deliveries_per_s >= one.deliveries_per_s,
            }),
            _ => goals.extend(failed("postgres throughput", goal)),
        }
        match &self.latency_2_nodes {
            Some(l) => goals.push(Goal {
                goal: format!(
                    "postgres, 2 nodes: p99 event-to-first-attempt <= {TWO_NODES_P99_MS:.0} ms at {}/s",
                    l.rate
                ),
                measured: format!(
                    "{:.2} ms{}",
                    l.event_to_first_attempt.p99_ms,
                    if l.complete { "" } else { " (INCOMPLETE)" }
                ),
                met: l.complete && l.event_to_first_attempt.p99_ms <= TWO_NODES_P99_MS,
            }),
            None => goals.extend(failed(
                "postgres latency",
                format!("postgres, 2 nodes: p99 event-to-first-attempt <= {TWO_NODES_P99_MS:.0} ms"),
            )),
        }
    }
}

fn incomplete(t: &Throughput) -> &'static str {
    if t.complete { "" } else { " (INCOMPLETE)" }
}

pub(crate) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
