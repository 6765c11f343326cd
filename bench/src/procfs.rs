//! What `/proc` says about a process and the machine: peak resident memory (`VmHWM`), CPU time
//! per process and per thread name, machine-wide busy time, a process's TCP ports, and the
//! machine's description.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

/// Linux reports CPU times in USER_HZ ticks, which is 100 on every architecture it runs on.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU times at one moment, in ticks.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuSnapshot {
    /// Whole process (threads that exited included).
    process: u64,
    /// Per thread name (the kernel's `comm`, 15 characters at most), live threads only.
    threads: BTreeMap<String, u64>,
    /// Machine-wide (busy, total, irq + softirq) ticks from `/proc/stat`.
    machine: (u64, u64, u64),
}

/// CPU used between two snapshots.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CpuUse {
    /// CPU seconds of the whole process.
    pub(crate) cpu_s: f64,
    /// CPU seconds per thread name, largest first.
    pub(crate) threads: Vec<(String, f64)>,
}

/// `utime + stime` from a `stat` file, and the `comm` in its parentheses.
fn stat_ticks(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    // After ") " come field 3 (state) onwards; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = text[close + 2..].split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Machine-wide (busy, total, irq + softirq) ticks from `/proc/stat`. Busy is user, nice,
/// system, irq and softirq; idle, iowait and steal (time the hypervisor gave to others) are not.
/// Interrupt time (loopback TCP is mostly softirq) is charged to no process.
fn machine_ticks() -> (u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0, 0);
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let field = |i: usize| values.get(i).copied().unwrap_or(0);
    let busy = field(0) + field(1) + field(2) + field(5) + field(6);
    (busy, values.iter().take(8).sum(), field(5) + field(6))
}

/// `pid` as a string, or "self".
pub(crate) fn snapshot(pid: &str) -> CpuSnapshot {
    let process = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| stat_ticks(&t))
        .map_or(0, |(_, ticks)| ticks);
    let mut threads = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in entries.flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok();
            if let Some((comm, ticks)) = stat.and_then(|t| stat_ticks(&t)) {
                *threads.entry(comm).or_insert(0) += ticks;
            }
        }
    }
    CpuSnapshot {
        process,
        threads,
        machine: machine_ticks(),
    }
}

impl CpuSnapshot {
    /// CPU used since `earlier`.
    pub(crate) fn since(&self, earlier: &CpuSnapshot) -> CpuUse {
        let mut threads: Vec<(String, f64)> = self
            .threads
            .iter()
            .map(|(name, ticks)| {
                let before = earlier.threads.get(name).copied().unwrap_or(0);
                (name.clone(), seconds(ticks.saturating_sub(before)))
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        CpuUse {
            cpu_s: seconds(self.process.saturating_sub(earlier.process)),
            threads,
        }
    }

    /// Cores busy with anything but `ours` since `earlier`: other processes competing for the
    /// machine (builds, services), over `wall_s` seconds.
    pub(crate) fn other_cores(&self, earlier: &CpuSnapshot, ours: &[&CpuUse], wall_s: f64) -> f64 {
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let busy = self.machine_busy_pct(earlier) / 100.0 * nproc;
        let ours: f64 = ours.iter().map(|u| u.cpu_s).sum::<f64>() / wall_s.max(1e-9);
        (busy - ours).max(0.0)
    }

    /// Cores spent in interrupts (mostly softirq: the kernel's network stack) since `earlier`.
    pub(crate) fn irq_cores(&self, earlier: &CpuSnapshot) -> f64 {
        let irq = self.machine.2.saturating_sub(earlier.machine.2) as f64;
        let total = self.machine.1.saturating_sub(earlier.machine.1) as f64;
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        if total > 0.0 {
            irq / total * nproc
        } else {
            0.0
        }
    }

    /// Share of the machine's CPU time that was busy since `earlier`, in percent.
    pub(crate) fn machine_busy_pct(&self, earlier: &CpuSnapshot) -> f64 {
        let busy = self.machine.0.saturating_sub(earlier.machine.0) as f64;
        let total = self.machine.1.saturating_sub(earlier.machine.1) as f64;
        if total > 0.0 {
            100.0 * busy / total
        } else {
            0.0
        }
    }
}

fn seconds(ticks: u64) -> f64 {
    ticks as f64 / TICKS_PER_SECOND
}

/// CPU ticks of every process on the machine, by pid, with its name.
pub(crate) fn all_processes() -> BTreeMap<u32, (String, u64)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok();
        if let Some(found) = stat.and_then(|t| stat_ticks(&t)) {
            out.insert(pid, found);
        }
    }
    out
}

/// The processes other than `skip` that used the most CPU between two `all_processes`
/// readings: who else competed for the cores. Names with CPU seconds, largest first.
pub(crate) fn top_others(
    before: &BTreeMap<u32, (String, u64)>,
    after: &BTreeMap<u32, (String, u64)>,
    skip: &[u32],
) -> Vec<(String, f64)> {
    let mut used: Vec<(String, f64)> = after
        .iter()
        .filter(|(pid, _)| !skip.contains(pid))
        .map(|(pid, (name, ticks))| {
            let earlier = before.get(pid).map_or(0, |(_, t)| *t);
            (
                format!("{name}[{pid}]"),
                seconds(ticks.saturating_sub(earlier)),
            )
        })
        .filter(|(_, s)| *s >= 0.05)
        .collect();
    used.sort_by(|a, b| b.1.total_cmp(&a.1));
    used.truncate(5);
    used
}

/// The local ports of `pid`'s TCP sockets: which server connections are its own (PostgreSQL
/// shows each client's port in `pg_stat_activity`).
pub(crate) fn tcp_local_ports(pid: u32) -> HashSet<u16> {
    let mut port_of_inode = HashMap::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields
                .get(1)
                .and_then(|local| local.rsplit_once(':'))
                .and_then(|(_, port)| u16::from_str_radix(port, 16).ok());
            if let (Some(port), Some(inode)) = (port, fields.get(9)) {
                port_of_inode.insert((*inode).to_owned(), port);
            }
        }
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            port_of_inode.get(inode).copied()
        })
        .collect()
}

/// `VmHWM` (peak resident set) of `pid`, in MiB.
pub(crate) fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmHWM:")
}

/// `VmRSS` (resident set now) of `pid`, in MiB.
pub(crate) fn rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmRSS:")
}

fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The machine the figures were measured on.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Machine {
    pub(crate) nproc: usize,
    pub(crate) cpu_model: String,
    pub(crate) kernel: String,
    pub(crate) memory: String,
    /// `/proc/loadavg` when the benchmark started: other work competing for the cores.
    pub(crate) loadavg_at_start: String,
}

impl Machine {
    pub(crate) fn describe() -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
        let memory = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
            .map_or_else(
                || "unknown".to_owned(),
                |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
            );
        Self {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            memory,
            loadavg_at_start: read("/proc/loadavg").trim().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{stat_ticks, tcp_local_ports};

    #[test]
    fn finds_the_port_of_a_socket_of_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        assert!(tcp_local_ports(std::process::id()).contains(&port));
    }

    #[test]
    fn reads_utime_and_stime_even_with_spaces_in_comm() {
        let stat = "1234 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0";
        assert_eq!(stat_ticks(stat), Some(("tokio runtime".to_owned(), 300)));
    }
}
