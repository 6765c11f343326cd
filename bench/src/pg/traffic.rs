//! What vizhook's connections to the database server carried, per connection, from the
//! kernel's TCP counters (`ss -tin`): the data segments a client sends are about its round
//! trips (a query and its parameters go out in one write and the client waits for the answer;
//! a message larger than a segment counts more than once), and the bytes each way.

use std::{collections::HashMap, process::Command};

/// One connection's counters: data segments sent, bytes sent, bytes received.
type Counters = (u64, u64, u64);

/// The counters of the established TCP connections to `server_port`, by local port; empty if
/// `ss` is not installed.
pub(super) fn connections(server_port: u16) -> HashMap<u16, Counters> {
    let Ok(output) = Command::new("ss")
        .args(["-tinH", "state", "established"])
        .output()
    else {
        return HashMap::new();
    };
    parse(&String::from_utf8_lossy(&output.stdout), server_port)
}

fn parse(text: &str, server_port: u16) -> HashMap<u16, Counters> {
    let mut found = HashMap::new();
    let mut current: Option<u16> = None;
    for line in text.lines() {
        if !line.starts_with(char::is_whitespace) {
            // `Recv-Q Send-Q Local:Port Peer:Port` (with `state`, no state column).
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = |field: Option<&&str>| {
                field
                    .and_then(|f| f.rsplit_once(':'))
                    .and_then(|(_, p)| p.parse::<u16>().ok())
            };
            let (local, peer) = match fields.len() {
                n if n >= 5 && fields[0].chars().all(char::is_alphabetic) => {
                    (port(fields.get(3)), port(fields.get(4)))
                }
                _ => (port(fields.get(2)), port(fields.get(3))),
            };
            current = local.filter(|_| peer == Some(server_port));
            continue;
        }
        let Some(local) = current.take() else {
            continue;
        };
        let value = |key: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(key))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        found.insert(
            local,
            (
                value("data_segs_out:"),
                value("bytes_sent:"),
                value("bytes_received:"),
            ),
        );
    }
    found
}

/// What the connections on `ports` carried between two readings (a connection opened in
/// between counts from zero).
pub(super) fn since(
    before: &HashMap<u16, Counters>,
    after: &HashMap<u16, Counters>,
    ports: &std::collections::HashSet<u16>,
) -> Counters {
    let mut total = (0, 0, 0);
    for (port, now) in after.iter().filter(|(p, _)| ports.contains(p)) {
        let then = before.get(port).copied().unwrap_or((0, 0, 0));
        total.0 += now.0.saturating_sub(then.0);
        total.1 += now.1.saturating_sub(then.1);
        total.2 += now.2.saturating_sub(then.2);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_counters_of_connections_to_the_server() {
        let text = "0      0      127.0.0.1:40000  127.0.0.1:5432\n\
             \t cubic rto:204 bytes_sent:600 bytes_acked:601 bytes_received:900 segs_out:9 data_segs_out:7 data_segs_in:8\n\
             0      0      127.0.0.1:5432  127.0.0.1:40000\n\
             \t cubic bytes_sent:900 data_segs_out:8\n\
             ESTAB 0      0      127.0.0.1:40001  127.0.0.1:5432\n\
             \t cubic bytes_sent:1 bytes_received:2 data_segs_out:3\n";
        let found = parse(text, 5432);
        assert_eq!(found.len(), 2);
        assert_eq!(found[&40000], (7, 600, 900));
        assert_eq!(found[&40001], (3, 1, 2));
    }
}
