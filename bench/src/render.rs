//! The plain-text report: machine and command first, then one table per scenario, then the
//! goals, written to standard output.

use std::{
    fmt::Write as _,
    io::{self, Write as _},
};

mod growth;
mod postgres;
mod receive;

use crate::{
    procfs::CpuUse,
    report::{Ceiling, Fanout, Latency, Process, Report, Stalls, Throughput},
};

/// Collects `name value` rows.
pub(super) struct Table(pub(super) String);

impl Table {
    pub(super) fn section(&mut self, title: &str) {
        let _ = writeln!(self.0, "\n-- {title} --");
    }

    pub(super) fn row(&mut self, name: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.0, "  {name:<22} {value}");
    }

    pub(super) fn delivered(
        &mut self,
        delivered: u64,
        expected: u64,
        duplicates: u64,
        complete: bool,
    ) {
        let note = if complete {
            ""
        } else {
            "  INCOMPLETE (stalled)"
        };
        self.row(
            "delivered",
            format!("{delivered} of {expected}, {duplicates} repeated{note}"),
        );
    }

    pub(super) fn flow(&mut self, connections: u64, stalls: &Stalls) {
        self.row("receiver connections", connections);
        self.row(
            "receiver idle gaps",
            format!(
                "{} gaps of >= 10 ms, {:.2} s in all",
                stalls.count, stalls.total_s
            ),
        );
    }

    pub(super) fn process(&mut self, p: &Process) {
        let rss = p
            .vizhook_peak_rss_mib
            .map_or_else(|| "?".to_owned(), |m| format!("{m:.1} MiB"));
        self.row("vizhook peak RSS", rss);
        self.row("vizhook CPU", cpu_line(&p.vizhook_cpu, p.wall_s));
        self.row("bench CPU", cpu_line(&p.bench_cpu, p.wall_s));
        self.row(
            "machine busy",
            format!(
                "{:.0} % over {:.2} s; not ours: {:.2} cores ({:.2} of them interrupts)",
                p.machine_busy_pct, p.wall_s, p.other_cores, p.irq_cores
            ),
        );
        if !p.others.is_empty() {
            let others: Vec<String> = p
                .others
                .iter()
                .map(|(name, s)| format!("{name} {s:.2}"))
                .collect();
            self.row("busiest others (CPU s)", others.join(", "));
        }
        if p.vizhook_log_problems > 0 {
            self.row(
                "vizhook log",
                format!("{} warning/error lines", p.vizhook_log_problems),
            );
        }
        if let Some(pg) = &p.postgres {
            postgres::server(self, pg, p.wall_s);
        }
    }

    fn ceiling(&mut self, c: &Ceiling) {
        self.section("loopback ceiling (reqwest keep-alive -> axum, same process)");
        self.row("client tasks", c.concurrency);
        self.row(
            "median round",
            format!("{:.1} s, {} requests", c.duration_s, c.requests),
        );
        let rounds: Vec<String> = c.rounds.iter().map(|r| format!("{r:.0}")).collect();
        self.row(
            "requests/s",
            format!(
                "{:.0} (median round; rounds: {})",
                c.requests_per_s,
                rounds.join(", ")
            ),
        );
        self.row("receiver connections", c.receiver_connections);
        self.row("one-way latency", c.one_way.line());
        self.row("bench CPU", cpu_line(&c.bench_cpu, c.duration_s));
        self.row(
            "machine busy",
            format!(
                "{:.0} %, other processes {:.2} cores",
                c.machine_busy_pct, c.other_cores
            ),
        );
    }

    pub(super) fn throughput(&mut self, title: &str, t: &Throughput) {
        self.section(title);
        self.row(
            "events",
            format!(
                "{} ({} injectors x {} per request)",
                t.events, t.injectors, t.batch
            ),
        );
        self.row(
            "accepted (committed)",
            format!("{:.0} events/s ({:.2} s)", t.accepted_per_s, t.inject_s),
        );
        self.delivered(t.delivered, t.events, t.duplicates, t.complete);
        self.row(
            "deliveries/s",
            format!(
                "{:.0} (first to last delivery, {:.2} s)",
                t.deliveries_per_s, t.first_to_last_s
            ),
        );
        self.row(
            "  by phase",
            format!(
                "{:.0}/s while injecting, {:.0}/s after",
                t.while_injecting_per_s, t.after_injection_per_s
            ),
        );
        self.row(
            "end to end",
            format!(
                "{:.0}/s (first injection to last delivery, {:.2} s)",
                t.end_to_end_per_s, t.end_to_end_s
            ),
        );
        if let Some(ratio) = t.ratio_to_ceiling {
            self.row("vs loopback ceiling", format!("{ratio:.3}"));
        }
        self.flow(t.receiver_connections, &t.stalls);
        self.row("event to delivery", t.event_to_delivery.line());
        self.process(&t.process);
        if t.delivered > 0 {
            // CPU time per delivery depends less on the machine's load than rates do: the
            // figure to compare when the host is noisy.
            let per = |s: f64| s * 1e6 / t.delivered as f64;
            let p = &t.process;
            let vizhook: Vec<String> = p
                .vizhook_cpu
                .threads
                .iter()
                .take(2)
                .map(|(name, s)| format!("{name} {:.0}", per(*s)))
                .collect();
            let server = p.postgres.as_ref().map_or_else(String::new, |pg| {
                format!(
                    ", postgres {:.0} us (vizhook's backends {:.0})",
                    per(pg.vizhook_backends_cpu_s + pg.server_cpu_s),
                    per(pg.vizhook_backends_cpu_s)
                )
            });
            self.row(
                "CPU per delivery",
                format!(
                    "vizhook {:.0} us [{}], bench {:.0} us (injection included){server}",
                    per(p.vizhook_cpu.cpu_s),
                    vizhook.join(", "),
                    per(p.bench_cpu.cpu_s)
                ),
            );
        }
    }

    pub(super) fn latency(&mut self, title: &str, l: &Latency) {
        self.section(title);
        self.row(
            "rate",
            format!(
                "{}/s asked, {:.0}/s sent, {} s",
                l.rate, l.achieved_rate, l.duration_s
            ),
        );
        self.delivered(l.delivered, l.events, l.duplicates, l.complete);
        self.row("event to 1st attempt", l.event_to_first_attempt.line());
        self.row("inject round trip", l.inject_round_trip.line());
        self.row("receiver connections", l.receiver_connections);
        self.process(&l.process);
    }

    fn fanout(&mut self, f: &Fanout) {
        self.section("fan-out");
        self.row(
            "webhooks x events",
            format!("{} x {} = {}", f.webhooks, f.events, f.expected),
        );
        self.row("creating webhooks", format!("{:.2} s", f.create_webhooks_s));
        self.row("injecting", format!("{:.3} s", f.inject_s));
        self.delivered(f.delivered, f.expected, f.duplicates, f.complete);
        self.row(
            "deliveries/s",
            format!(
                "{:.0} (first to last delivery, {:.2} s)",
                f.deliveries_per_s, f.first_to_last_s
            ),
        );
        self.row(
            "all delivered after",
            format!("{:.2} s (from injection)", f.all_delivered_s),
        );
        self.flow(f.receiver_connections, &f.stalls);
        self.row("event to delivery", f.event_to_delivery.line());
        self.process(&f.process);
    }
}

pub(super) fn others(counts: &[(String, u64)]) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let counts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    counts.join(", ")
}

pub(super) fn cpu_line(cpu: &CpuUse, wall_s: f64) -> String {
    let threads: Vec<String> = cpu
        .threads
        .iter()
        .take(5)
        .map(|(name, s)| format!("{name} {s:.2}"))
        .collect();
    let cores = if wall_s > 0.0 {
        cpu.cpu_s / wall_s
    } else {
        0.0
    };
    format!(
        "{:.2} s = {cores:.2} cores [{}]",
        cpu.cpu_s,
        threads.join(", ")
    )
}

impl Report {
    pub(crate) fn render(&self) -> String {
        let mut t = Table(String::new());
        let m = &self.machine;
        let _ = writeln!(t.0, "\n== vizhook-bench ==");
        t.row("command", &self.command);
        t.row(
            "machine",
            format!(
                "{} x {} | {} | kernel {}",
                m.nproc, m.cpu_model, m.memory, m.kernel
            ),
        );
        t.row("load avg at start", &m.loadavg_at_start);
        if let Some(source) = &self.source {
            t.row("source (cwd)", source);
        }
        if let Some(binary) = &self.vizhook_binary {
            t.row("vizhook binary", binary);
        }
        if !self.vizhook_env.is_empty() {
            t.row("vizhook env", self.vizhook_env.join(" "));
        }
        if let Some(c) = &self.ceiling {
            t.ceiling(c);
        }
        if let Some(x) = &self.throughput {
            t.throughput("throughput, fan-out 1", x);
        }
        if let Some(l) = &self.latency {
            t.latency("latency at a fixed rate, fan-out 1", l);
        }
        if let Some(f) = &self.fanout {
            t.fanout(f);
        }
        if let Some(r) = &self.receive {
            receive::receive(&mut t, r, "");
        }
        if let Some(i) = &self.idle {
            t.section("idle, just started on an empty database");
            t.row(
                "serve resident",
                format!("{:.1} MiB after {:.0} s", i.serve_rss_mib, i.settle_s),
            );
            t.row(
                "receive resident",
                format!("{:.1} MiB after {:.0} s", i.receive_rss_mib, i.settle_s),
            );
        }
        if let Some(g) = &self.growth {
            growth::growth(&mut t, g);
        }
        if let Some(p) = &self.postgres {
            postgres::postgres(&mut t, self, p);
        }
        if !self.goals.is_empty() {
            t.section("goals");
            for goal in &self.goals {
                let verdict = if goal.met { "met" } else { "MISSED" };
                t.row(
                    verdict,
                    format!("{} -- measured {}", goal.goal, goal.measured),
                );
            }
        }
        t.0
    }
}

/// Writes the report to standard output.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
