//! The receiver scenario's table: rates, answers, latency, the inbox's rows and the process.

use super::{Table, others};
use crate::report::{InboxCheck, Receive, ReceiveLatency};

/// The scenario's tables; `on` names the inbox's database when it is not SQLite.
pub(super) fn receive(t: &mut Table, r: &Receive, on: &str) {
    t.section(&format!(
        "receiver (`vizhook receive`, {} action){on}",
        r.action
    ));
    t.row(
        "events",
        format!(
            "{} distinct over {} keep-alive connections",
            r.requests, r.concurrency
        ),
    );
    t.row(
        "accepted (202)",
        format!(
            "{} in {:.2} s = {:.0} requests/s",
            r.accepted, r.send_s, r.accepted_per_s
        ),
    );
    if let Some(ratio) = r.ratio_to_ceiling {
        t.row("vs loopback ceiling", format!("{ratio:.3}"));
    }
    t.row("other answers", others(&r.others));
    t.row("round trip (loaded)", r.round_trip.line());
    t.row(
        "duplicates",
        format!(
            "{} of {} answered 200 \"duplicate\"; others: {}",
            r.duplicates_answered,
            r.duplicates_sent,
            others(&r.duplicates_others)
        ),
    );
    let note = if r.actions_drained {
        ""
    } else {
        "  INCOMPLETE (stalled)"
    };
    t.row(
        "actions",
        format!(
            "{} performed, {:.0}/s (first request to last action, {:.2} s){note}",
            r.actions_done, r.actions_per_s, r.actions_s
        ),
    );
    t.process(&r.process);
    if let Some(l) = &r.latency {
        latency(t, l);
    }
    inbox(t, &r.inbox);
}

fn latency(t: &mut Table, l: &ReceiveLatency) {
    t.section(&format!(
        "receiver at a fixed rate ({}/s for {} s, open loop)",
        l.rate, l.duration_s
    ));
    t.row(
        "sent",
        format!(
            "{} ({:.0}/s), {} accepted; other answers: {}",
            l.sent,
            l.achieved_rate,
            l.accepted,
            others(&l.others)
        ),
    );
    t.row("send to 202", l.round_trip.line());
    t.row("scheduled to 202", l.from_schedule.line());
    t.row("pacing lag", l.schedule_lag.line());
    t.row(
        "in flight",
        format!(
            "at most {}; {} requests waited for a free one",
            l.max_in_flight, l.waited_for_connection
        ),
    );
    if let Some(e) = &l.event_to_action {
        t.row("send to action", e.line());
    }
    if !l.actions_drained {
        t.row("actions", "INCOMPLETE (stalled)");
    }
    t.process(&l.process);
}

fn inbox(t: &mut Table, i: &InboxCheck) {
    let opt = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
    t.section("receiver inbox check");
    t.row(
        "events counter",
        format!(
            "accepted {} duplicate {} (expected {} and {}); after the throughput phase {} and {}",
            opt(i.accepted_counter),
            opt(i.duplicate_counter),
            i.expected_events,
            i.expected_duplicates,
            opt(i.accepted_counter_after_throughput),
            opt(i.duplicate_counter_after_throughput)
        ),
    );
    t.row("inbox rows", opt(i.inbox_rows));
    if let Some(tasks) = &i.tasks_by_state {
        t.row("tasks by state", others(tasks));
    }
    t.row(
        "actions performed",
        format!(
            "{} of {}, {} repeated",
            i.actions_performed,
            i.actions_expected,
            opt(i.actions_repeated)
        ),
    );
    t.row(
        "verdict",
        if i.consistent() {
            "consistent"
        } else {
            "MISMATCH"
        },
    );
}
