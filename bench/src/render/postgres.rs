//! The PostgreSQL tables: the server, the figures of each PostgreSQL scenario beside the
//! SQLite figures of the same run (sqlite | postgres 1 node | postgres 2 nodes), the details of
//! each scenario, what the database server spent, and the scenarios that failed.

use super::{Table, receive::receive};
use crate::{
    pg::probe::PgServerUse,
    postgres_report::{PostgresReport, first_line},
    report::{Report, Throughput},
};

const WIDTH: usize = 20;

/// The rows `server` adds to a scenario's process table.
pub(super) fn server(t: &mut Table, pg: &PgServerUse, wall_s: f64) {
    let cores = |s: f64| if wall_s > 0.0 { s / wall_s } else { 0.0 };
    t.row(
        "postgres CPU",
        format!(
            "vizhook's {} backends {:.2} s = {:.2} cores; server processes {:.2} s = {:.2} cores",
            pg.vizhook_backends,
            pg.vizhook_backends_cpu_s,
            cores(pg.vizhook_backends_cpu_s),
            pg.server_cpu_s,
            cores(pg.server_cpu_s)
        ),
    );
    if pg.other_clients > 0 {
        t.row(
            "  other clients",
            format!(
                "{} backends used {:.2} s (they count in the server-wide figures)",
                pg.other_clients, pg.other_clients_cpu_s
            ),
        );
    }
    if let Some(n) = pg.round_trips {
        t.row(
            "to the server",
            format!(
                "{n} TCP data segments (~round trips); {:.1} MiB sent, {:.1} MiB received",
                pg.bytes_to_server as f64 / 1_048_576.0,
                pg.bytes_from_server as f64 / 1_048_576.0
            ),
        );
    }
    if let Some(w) = &pg.wal {
        t.row(
            "WAL (server-wide)",
            format!(
                "{} records, {:.1} MiB, {} full pages; {} writes, {} syncs ({:.0} ms)",
                w.records,
                w.bytes as f64 / 1_048_576.0,
                w.full_page_images,
                w.writes,
                w.syncs,
                w.sync_time_ms
            ),
        );
    }
    if let (Some(commits), Some(rollbacks)) = (pg.commits, pg.rollbacks) {
        t.row(
            "transactions",
            format!("{commits} committed, {rollbacks} rolled back (whole database)"),
        );
    }
    t.row(
        "rows written",
        format!(
            "{} inserted, {} updated ({} HOT), {} deleted in {}",
            pg.rows_inserted, pg.rows_updated, pg.rows_hot_updated, pg.rows_deleted, pg.schema
        ),
    );
}

/// Columns sqlite | postgres 1 node | postgres 2 nodes; a row with none is left out.
fn columns(t: &mut Table, name: &str, cells: [Option<String>; 3]) {
    if cells.iter().all(Option::is_none) {
        return;
    }
    let cells: Vec<String> = cells
        .into_iter()
        .map(|c| format!("{:<WIDTH$}", c.unwrap_or_else(|| "-".to_owned())))
        .collect();
    t.row(name, cells.concat().trim_end());
}

/// `f` of each throughput scenario that ran.
fn each(
    throughputs: [Option<&Throughput>; 3],
    f: impl Fn(&Throughput) -> Option<String>,
) -> [Option<String>; 3] {
    throughputs.map(|t| t.and_then(&f))
}

/// Microseconds of `cpu_s` per distinct delivery of `t`.
fn per_delivery(t: &Throughput, cpu_s: f64) -> Option<String> {
    (t.delivered > 0).then(|| format!("{:.0} us", cpu_s * 1e6 / t.delivered as f64))
}

fn ratio(t: &Throughput, n: Option<i64>) -> Option<String> {
    let n = n?;
    (t.delivered > 0).then(|| format!("{:.3}", n as f64 / t.delivered as f64))
}

pub(super) fn postgres(t: &mut Table, report: &Report, p: &PostgresReport) {
    t.section("PostgreSQL server");
    t.row("server", &p.server);
    t.row("version", &p.version);
    let settings: Vec<String> = p.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    t.row("settings", settings.join(" "));
    comparison(t, report, p);
    if let Some(x) = &p.throughput_1_node {
        t.throughput("throughput, fan-out 1, PostgreSQL, 1 node", x);
    }
    if let Some(x) = &p.throughput_2_nodes {
        t.throughput(
            "throughput, fan-out 1, PostgreSQL, 2 nodes (injectors split; CPU summed)",
            x,
        );
    }
    if let Some(l) = &p.latency_2_nodes {
        t.latency(
            "latency at a fixed rate, fan-out 1, PostgreSQL, 2 nodes (injection split)",
            l,
        );
    }
    if let Some(r) = &p.receive {
        receive(t, r, ", PostgreSQL");
    }
    if !p.failures.is_empty() {
        t.section("PostgreSQL scenarios that FAILED");
        for (name, err) in &p.failures {
            t.row(name, first_line(err));
        }
    }
}

/// The figures side by side.
fn comparison(t: &mut Table, report: &Report, p: &PostgresReport) {
    t.section("PostgreSQL beside SQLite (this run)");
    columns(
        t,
        "",
        ["sqlite", "postgres 1 node", "postgres 2 nodes"].map(|s| Some(s.to_owned())),
    );
    let runs = [
        report.throughput.as_ref(),
        p.throughput_1_node.as_ref(),
        p.throughput_2_nodes.as_ref(),
    ];
    columns(
        t,
        "deliveries/s",
        each(runs, |x| {
            let note = if x.complete { "" } else { " INCOMPLETE" };
            Some(format!("{:.0}{note}", x.deliveries_per_s))
        }),
    );
    columns(
        t,
        "delivered, repeated",
        each(runs, |x| Some(format!("{}, {}", x.delivered, x.duplicates))),
    );
    columns(
        t,
        "accepted events/s",
        each(runs, |x| Some(format!("{:.0}", x.accepted_per_s))),
    );
    columns(
        t,
        "vizhook CPU/delivery",
        each(runs, |x| per_delivery(x, x.process.vizhook_cpu.cpu_s)),
    );
    let pg = |x: &Throughput| x.process.postgres.clone();
    columns(
        t,
        "postgres CPU/delivery",
        each(runs, |x| {
            pg(x).and_then(|s| per_delivery(x, s.vizhook_backends_cpu_s + s.server_cpu_s))
        }),
    );
    columns(
        t,
        "round trips/delivery",
        each(runs, |x| {
            let trips = pg(x)?.round_trips?;
            ratio(x, i64::try_from(trips).ok())
        }),
    );
    columns(
        t,
        "commits/delivery",
        each(runs, |x| ratio(x, pg(x)?.commits)),
    );
    columns(
        t,
        "WAL syncs/delivery",
        each(runs, |x| ratio(x, pg(x)?.wal.map(|w| w.syncs))),
    );
    columns(
        t,
        "WAL bytes/delivery",
        each(runs, |x| {
            let bytes = pg(x)?.wal?.bytes;
            (x.delivered > 0).then(|| format!("{:.0}", bytes as f64 / x.delivered as f64))
        }),
    );
    columns(
        t,
        "rows written/delivery",
        each(runs, |x| {
            let s = pg(x)?;
            ratio(x, Some(s.rows_inserted + s.rows_updated + s.rows_deleted))
        }),
    );
    let p99 = |l: Option<&crate::report::Latency>| {
        l.map(|l| {
            let note = if l.complete { "" } else { " INCOMPLETE" };
            format!("{:.2} ms{note}", l.event_to_first_attempt.p99_ms)
        })
    };
    let rate = p.latency_2_nodes.as_ref().or(report.latency.as_ref());
    columns(
        t,
        &format!("p99 event->1st, {}/s", rate.map_or(0, |l| l.rate)),
        [
            p99(report.latency.as_ref()),
            None,
            p99(p.latency_2_nodes.as_ref()),
        ],
    );
    let receive = |r: Option<&crate::report::Receive>| {
        r.map(|r| {
            let clean = r.others.is_empty() && r.accepted == r.requests;
            let note = if clean { "" } else { " (errors)" };
            format!("{:.0}{note}", r.accepted_per_s)
        })
    };
    columns(
        t,
        "receive requests/s",
        [
            receive(report.receive.as_ref()),
            receive(p.receive.as_ref()),
            None,
        ],
    );
    t.row(
        "",
        "(postgres CPU: vizhook's backends and the server's own processes; \
         round trips: TCP data segments vizhook sent it; commits and WAL: server-wide)",
    );
}
