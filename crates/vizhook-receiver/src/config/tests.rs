//! Unit tests of loading: defaults, every problem with its place, and the rules between
//! sections (durations, command timeouts, TLS files, database paths).

use std::{path::Path, time::Duration};

use vizhook_listener::Limits;

use super::*;

const SOURCE: &str = r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "0123456789abcdef-token"
"#;

const MINIMAL_ROUTE: &str = r#"
[route]
receiver = "log"
[[receiver]]
name = "log"
"#;

fn problems(text: &str) -> Vec<String> {
    load_str(text, Path::new("/etc/vizhook"), false)
        .map(|_| Vec::new())
        .unwrap_or_else(|found| found.iter().map(ToString::to_string).collect())
}

#[test]
fn a_minimal_file_loads_with_the_documented_defaults() {
    let loaded = load_str(
        &format!("{SOURCE}{MINIMAL_ROUTE}"),
        Path::new("/etc/vizhook"),
        false,
    )
    .unwrap();
    let config = &loaded.config;
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8450");
    assert_eq!(loaded.database, "sqlite:///etc/vizhook/vizhook-receive.db");
    assert_eq!(config.dedup.window, Duration::from_secs(24 * 3600));
    assert_eq!(config.storage.retention, Duration::from_secs(7 * 24 * 3600));
    assert_eq!(
        config.delivery.schedule().gaps(),
        [10, 60, 300, 1800, 7200].map(Duration::from_secs)
    );
    assert_eq!(loaded.sources[0].path, "/tableau");
    assert!(loaded.mailer.is_none());
    assert_eq!(config.server.limits(), Limits::default());
}

#[test]
fn head_limits_hyper_cannot_honour_are_placed() {
    let text =
        format!("[server]\nmax_header_bytes = 4096\nmax_uri_bytes = 0\n{SOURCE}{MINIMAL_ROUTE}");
    expected_in_order(
        &problems(&text),
        &[
            "2:20: server.max_header_bytes: must be at least 8192, the smallest read buffer hyper allows",
            "3:17: server.max_uri_bytes: must be from 1 to 65534, hyper's own limit",
        ],
    );
}

#[test]
fn rules_between_sections_are_reported_together_in_file_order() {
    let text = format!(
        r#"
[server]
tls_cert = "missing.pem"

[dedup]
window = "20000y"

[delivery]
attempt_timeout = "5s"
retry_schedule = ["1s", "99999y"]
{SOURCE}
[[source]]
name = "copy"
path = "tableau/"
token = "0123456789abcdef-other"
{MINIMAL_ROUTE}
  [[receiver.action]]
  type = "command"
  argv = ["true"]
  timeout = "6s"
  [[receiver.action]]
  type = "email"
  to = ["steward@example.com"]
"#
    );
    let found = problems(&text);
    expected_in_order(
        &found,
        &[
            "3:12: server.tls_cert: tls_cert and tls_key go together",
            "6:10: dedup.window: must be at most 10 years",
            "10:25: delivery.retry_schedule[1]: must be at most 10 years",
            "19:8: source[1].path: another source has this path",
            "30:13: receiver[0].action[0].timeout: must be shorter than delivery.attempt_timeout (5s)",
            "smtp.host: an email action needs [smtp] with a host",
        ],
    );
}

fn expected_in_order(found: &[String], expected: &[&str]) {
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (got, want) in found.iter().zip(expected) {
        assert_eq!(got, want, "{found:#?}");
    }
}

#[test]
fn syntax_and_type_errors_point_at_their_place() {
    let found = problems("[route]\nreceiver = 7\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("2:12: "), "{found:?}");
    let found = problems("[[source]\n");
    assert!(found[0].starts_with("1:"), "{found:?}");
}

#[test]
fn database_paths_are_relative_to_the_configuration() {
    let base = Path::new("/srv/hooks");
    assert_eq!(
        database_url("sqlite://inbox.db", base).unwrap(),
        "sqlite:///srv/hooks/inbox.db"
    );
    assert_eq!(
        database_url("sqlite:///var/lib/inbox.db", base).unwrap(),
        "sqlite:///var/lib/inbox.db"
    );
    // PostgreSQL URLs are kept as written; other schemes are refused.
    assert_eq!(
        database_url("postgres://db/vizhook", base).unwrap(),
        "postgres://db/vizhook"
    );
    let other = database_url("mysql://db/vizhook", base).unwrap_err();
    assert!(!other.contains("write"), "{other}");
    // A bare file name is a likely slip: the message shows the URL to write.
    let bare = database_url("inbox.db", base).unwrap_err();
    assert!(bare.contains(r#"write "sqlite://inbox.db""#), "{bare}");
}

#[test]
fn queued_command_runs_must_fit_in_their_lease() {
    let text = format!(
        "[delivery]\nlease = \"4m\"\n{SOURCE}{MINIMAL_ROUTE}  [[receiver.action]]\n  type = \"command\"\n  argv = [\"true\"]\n  timeout = \"9s\"\n"
    );
    let found = problems(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("receiver[0].action[0].max_concurrent: with this timeout and delivery.claim_batch, a claimed run may wait 5m 6s for a slot, longer than delivery.lease (4m)"),
        "{found:?}"
    );
    let roomy = text.replace("timeout = \"9s\"", "timeout = \"9s\"\n  max_concurrent = 8");
    assert_eq!(problems(&roomy), Vec::<String>::new());
}
