//! The figures each scenario yields (serialized as is for `--json`): what `report.rs` judges
//! against the goals and `render.rs` writes as text.

use serde::Serialize;

use crate::{pg::probe::PgServerUse, procfs::CpuUse, stats::Latencies};

/// Pauses of 10 ms or more between consecutive deliveries at the receiver.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Stalls {
    pub(crate) count: u64,
    pub(crate) total_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ceiling {
    pub(crate) concurrency: usize,
    /// Requests per second of every round; the other figures are the median round's.
    pub(crate) rounds: Vec<f64>,
    pub(crate) duration_s: f64,
    pub(crate) requests: u64,
    pub(crate) receiver_connections: u64,
    pub(crate) requests_per_s: f64,
    /// Client send to receiver arrival.
    pub(crate) one_way: Latencies,
    pub(crate) bench_cpu: CpuUse,
    pub(crate) machine_busy_pct: f64,
    /// Cores used by other processes meanwhile.
    pub(crate) other_cores: f64,
}

/// Resources over a vizhook scenario's window (first injection to last delivery).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Process {
    pub(crate) wall_s: f64,
    pub(crate) vizhook_peak_rss_mib: Option<f64>,
    pub(crate) vizhook_cpu: CpuUse,
    pub(crate) bench_cpu: CpuUse,
    pub(crate) machine_busy_pct: f64,
    /// Cores used by other processes meanwhile (kernel work such as softirq included).
    pub(crate) other_cores: f64,
    /// Of `other_cores`, what interrupts (softirq: the network stack) took.
    pub(crate) irq_cores: f64,
    /// The other processes that used the most CPU meanwhile, in CPU seconds; processes that
    /// started and ended within the window (a build's compiler runs) are not seen here.
    pub(crate) others: Vec<(String, f64)>,
    pub(crate) vizhook_log_problems: u64,
    /// On PostgreSQL: what the database server spent meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) postgres: Option<PgServerUse>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Throughput {
    pub(crate) events: u64,
    pub(crate) injectors: usize,
    pub(crate) batch: u64,
    pub(crate) inject_s: f64,
    pub(crate) accepted_per_s: f64,
    pub(crate) delivered: u64,
    pub(crate) duplicates: u64,
    pub(crate) complete: bool,
    pub(crate) first_to_last_s: f64,
    pub(crate) deliveries_per_s: f64,
    /// Deliveries/s while events were being injected, and after the last was accepted.
    pub(crate) while_injecting_per_s: f64,
    pub(crate) after_injection_per_s: f64,
    pub(crate) end_to_end_s: f64,
    pub(crate) end_to_end_per_s: f64,
    pub(crate) ratio_to_ceiling: Option<f64>,
    pub(crate) stalls: Stalls,
    pub(crate) receiver_connections: u64,
    pub(crate) event_to_delivery: Latencies,
    pub(crate) process: Process,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Latency {
    pub(crate) rate: u64,
    pub(crate) duration_s: f64,
    pub(crate) events: u64,
    pub(crate) achieved_rate: f64,
    pub(crate) delivered: u64,
    pub(crate) duplicates: u64,
    pub(crate) complete: bool,
    pub(crate) receiver_connections: u64,
    pub(crate) event_to_first_attempt: Latencies,
    pub(crate) inject_round_trip: Latencies,
    pub(crate) process: Process,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Fanout {
    pub(crate) webhooks: u64,
    pub(crate) events: u64,
    pub(crate) expected: u64,
    pub(crate) create_webhooks_s: f64,
    pub(crate) inject_s: f64,
    pub(crate) delivered: u64,
    pub(crate) duplicates: u64,
    pub(crate) complete: bool,
    pub(crate) first_to_last_s: f64,
    pub(crate) deliveries_per_s: f64,
    pub(crate) all_delivered_s: f64,
    pub(crate) stalls: Stalls,
    pub(crate) receiver_connections: u64,
    pub(crate) event_to_delivery: Latencies,
    pub(crate) process: Process,
}

/// Whether what was accepted is what the receiver stored, counted and acted on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InboxCheck {
    /// Events answered 202 over both phases.
    pub(crate) expected_events: u64,
    pub(crate) expected_duplicates: u64,
    /// `vizhook_receive_events_total` by outcome from `/metrics`, after the throughput phase,
    /// the duplicates and the actions' drain.
    pub(crate) accepted_counter_after_throughput: Option<u64>,
    pub(crate) duplicate_counter_after_throughput: Option<u64>,
    /// The same at the end.
    pub(crate) accepted_counter: Option<u64>,
    pub(crate) duplicate_counter: Option<u64>,
    /// Rows in the `inbox` table at the end (read with `sqlite3`, if installed).
    pub(crate) inbox_rows: Option<u64>,
    /// `inbox_tasks` rows by state at the end.
    pub(crate) tasks_by_state: Option<Vec<(String, u64)>>,
    /// Actions that reached their target (requests at the bench's receiver, or file lines).
    pub(crate) actions_performed: u64,
    pub(crate) actions_expected: u64,
    /// Requests at the bench's receiver for an event that had already arrived (`http` only).
    pub(crate) actions_repeated: Option<u64>,
}

impl InboxCheck {
    /// Every accepted event stored once, every duplicate recognised, every action run once.
    pub(crate) fn consistent(&self) -> bool {
        let tasks_ok = self.tasks_by_state.as_ref().is_none_or(|tasks| {
            tasks
                .iter()
                .all(|(state, n)| state == "done" && *n == self.actions_expected)
        });
        self.accepted_counter == Some(self.expected_events)
            && self.duplicate_counter == Some(self.expected_duplicates)
            && self.inbox_rows.is_none_or(|n| n == self.expected_events)
            && tasks_ok
            && self.actions_performed == self.actions_expected
            && self.actions_repeated.unwrap_or(0) == 0
    }
}

/// The receiver at a fixed open-loop rate.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReceiveLatency {
    pub(crate) rate: u64,
    pub(crate) duration_s: f64,
    pub(crate) sent: u64,
    pub(crate) achieved_rate: f64,
    pub(crate) accepted: u64,
    pub(crate) others: Vec<(String, u64)>,
    /// Send to 202 received (the event committed with an fsync), of the 202s.
    pub(crate) round_trip: Latencies,
    /// From the request's scheduled time to its answer: includes the bench's own delay in
    /// sending it.
    pub(crate) from_schedule: Latencies,
    /// How late the pacing ticks fired.
    pub(crate) schedule_lag: Latencies,
    /// Requests (connections) in flight at most.
    pub(crate) max_in_flight: usize,
    /// Requests that found `max_in_flight` requests in flight and waited for one to finish.
    pub(crate) waited_for_connection: u64,
    /// Send to the action's request arriving at the bench (`http` action only).
    pub(crate) event_to_action: Option<Latencies>,
    pub(crate) actions_drained: bool,
    pub(crate) process: Process,
}

/// `vizhook receive`: distinct events accepted per second over keep-alive connections,
/// duplicates, and the round trip at a fixed rate.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Receive {
    pub(crate) action: String,
    pub(crate) concurrency: usize,
    pub(crate) requests: u64,
    pub(crate) send_s: f64,
    /// Answered 202.
    pub(crate) accepted: u64,
    pub(crate) accepted_per_s: f64,
    /// Answers other than 202, by status (or error).
    pub(crate) others: Vec<(String, u64)>,
    /// Send to 202 under full load.
    pub(crate) round_trip: Latencies,
    pub(crate) ratio_to_ceiling: Option<f64>,
    pub(crate) duplicates_sent: u64,
    /// Answered 200 with `"status":"duplicate"`.
    pub(crate) duplicates_answered: u64,
    pub(crate) duplicates_others: Vec<(String, u64)>,
    pub(crate) actions_drained: bool,
    /// Actions performed after the throughput phase and its drain.
    pub(crate) actions_done: u64,
    /// First request to the last action performed.
    pub(crate) actions_s: f64,
    pub(crate) actions_per_s: f64,
    /// First request to the last action.
    pub(crate) process: Process,
    /// The fixed-rate phase (not run on PostgreSQL).
    pub(crate) latency: Option<ReceiveLatency>,
    pub(crate) inbox: InboxCheck,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Goal {
    pub(crate) goal: String,
    pub(crate) measured: String,
    pub(crate) met: bool,
}
