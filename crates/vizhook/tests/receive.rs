//! `vizhook receive` as a user runs it: `--check-config` verdicts with every problem's place,
//! the examples in `examples/` (checked, and one run against a fake Slack), and HTTPS whose
//! certificate is reloaded on SIGHUP without dropping open connections.

mod common;

use std::{path::Path, process::Command, time::Duration};

use common::{Server, run_to_end};
use vizhook_test_support::Recorder;

const TOKEN: &str = "example-token-0123456789";

fn receive(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
    command.arg("receive").args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("VIZHOOK_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The environment every example reads its secrets from.
const EXAMPLE_ENV: &[(&str, &str)] = &[
    ("TABLEAU_HOOK_TOKEN", TOKEN),
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T0/B0/x",
    ),
    ("X_CONSUMER_KEY", "ck"),
    ("X_CONSUMER_SECRET", "cs"),
    ("X_ACCESS_TOKEN", "at"),
    ("X_ACCESS_TOKEN_SECRET", "ats"),
    ("TABLEAU_PAT_SECRET", "pat-secret"),
    ("SMTP_PASSWORD", "smtp-password"),
];

#[test]
fn every_example_passes_check_config() {
    let mut checked = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let file = path.display().to_string();
        let (status, stdout, stderr) = run_to_end(receive(&["--check-config", &file], EXAMPLE_ENV));
        assert!(status.success(), "{file}: {stderr}");
        assert!(stdout.contains(": OK ("), "{stdout}");
        checked += 1;
    }
    assert!(checked >= 3, "the three classic examples at least");
}

#[test]
fn check_config_lists_every_problem_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"[[source]]
name = "tableau"
path = "/tableau"
token = "short"

[route]
receiver = "missing"
  [[route.routes]]
  matchers = ['event_typo = "X"']

[[receiver]]
name = "slack"
  [[receiver.action]]
  type = "slack"
  webhook_url = "env:VIZHOOK_TEST_UNSET_SLACK_URL"
"#,
    )
    .unwrap();
    let file = file.display().to_string();
    let (status, stdout, stderr) = run_to_end(receive(&["--check-config", &file], &[]));
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    let expected = [
        ":4:9: source[0].token: ",
        ":7:12: route.receiver: ",
        ":9:15: route.routes[0].matchers[0]: ",
        ":15:17: receiver[0].action[0].webhook_url: the environment variable VIZHOOK_TEST_UNSET_SLACK_URL is not set",
    ];
    for part in expected {
        assert!(
            stderr.contains(&format!("{file}{part}")),
            "missing {part:?} in:\n{stderr}"
        );
    }
    assert!(stderr.contains("has 4 problem(s)"), "{stderr}");

    // A syntax error points at its place too.
    std::fs::write(dir.path().join("broken.toml"), "[route\nreceiver = 1\n").unwrap();
    let broken = dir.path().join("broken.toml").display().to_string();
    let (status, _, stderr) = run_to_end(receive(&["--check-config", &broken], &[]));
    assert!(!status.success());
    assert!(stderr.contains(&format!("{broken}:1:")), "{stderr}");
    let (status, _, stderr) = run_to_end(receive(&["--check-config", "/nonexistent.toml"], &[]));
    assert!(!status.success());
    assert!(
        stderr.starts_with("vizhook: cannot read /nonexistent.toml"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_slack_example_pages_a_failure_once_and_then_recovers() {
    let slack = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(examples().join("slack-refresh-failures.toml")).unwrap();
    let text = text.replace(
        "sqlite://vizhook-receive.db",
        &format!("sqlite://{}/inbox.db", dir.path().display()),
    );
    let config = dir.path().join("slack.toml");
    std::fs::write(&config, text).unwrap();
    let config = config.display().to_string();
    let url = slack.url("/hook");
    let env = [
        ("TABLEAU_HOOK_TOKEN", TOKEN),
        ("SLACK_WEBHOOK_URL", url.as_str()),
    ];
    let rx = Server::spawn(receive(
        &["--config", &config, "--dev", "--listen", "127.0.0.1:0"],
        &env,
    ));
    let client = reqwest::Client::new();
    let hook = rx.url(&format!("/tableau/{TOKEN}"));
    let event = |event_type: &str, at: &str| {
        format!(
            r#"{{"resource":"EXTRACTS","event_type":"{event_type}","resource_name":"Sales","site_luid":"s1","resource_luid":"d1","created_at":"{at}"}}"#
        )
    };
    for (event_type, at) in [
        ("DatasourceRefreshFailed", "2026-11-23T10:00:00Z"),
        ("DatasourceRefreshFailed", "2026-11-23T10:05:00Z"),
        ("DatasourceRefreshSucceeded", "2026-11-23T10:10:00Z"),
    ] {
        let answer = client
            .post(&hook)
            .body(event(event_type, at))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 202);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while slack.json_on("/hook").len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let texts: Vec<String> = slack
        .json_on("/hook")
        .iter()
        .map(|message| message["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}\n{}", rx.logs());
    assert!(
        texts[0].contains("DatasourceRefreshFailed: Sales"),
        "{texts:?}"
    );
    assert!(
        texts[1].contains("Recovered: DatasourceRefreshSucceeded: Sales"),
        "{texts:?}"
    );
    assert!(rx.stop().success());
}

/// Writes `receive.toml` into `dir`: `server` (TOML tables or nothing), an inbox beside it,
/// one source and a receiver without actions. Returns its path.
fn quiet_config(dir: &Path, server: &str) -> String {
    let config = dir.join("receive.toml");
    std::fs::write(
        &config,
        format!(
            r#"{server}[storage]
database = "sqlite://inbox.db"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"
[route]
receiver = "nobody"
[[receiver]]
name = "nobody"
"#
        ),
    )
    .unwrap();
    config.display().to_string()
}

fn certificate(dir: &Path, name: &str) -> (String, std::path::PathBuf, std::path::PathBuf) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (generated.cert.pem(), cert, key)
}

fn client_trusting(pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_reloads_its_certificate_on_sighup_without_dropping_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (old_pem, old_cert, old_key) = certificate(dir.path(), "old");
    let (live_cert, live_key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(&old_cert, &live_cert).unwrap();
    std::fs::copy(&old_key, &live_key).unwrap();
    let config = quiet_config(
        dir.path(),
        "[server]\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
    );
    let rx = Server::spawn(receive(
        &["--config", &config, "--listen", "127.0.0.1:0"],
        &[],
    ));
    assert!(rx.logs().contains("listening on https://"), "{}", rx.logs());
    let url = |path: &str| format!("https://localhost:{}{path}", rx.addr.port());
    let hook = url(&format!("/tableau/{TOKEN}"));

    // One keep-alive connection, opened with the old certificate.
    let kept = client_trusting(&old_pem);
    let body = r#"{"event_type":"WorkbookCreated","resource_luid":"w1"}"#;
    let answer = kept.post(&hook).body(body).send().await.unwrap();
    assert_eq!(answer.status(), 202);
    // The client offers h2 in ALPN; the receiver only HTTP/1.1, which has read timeouts.
    assert_eq!(answer.version(), reqwest::Version::HTTP_11);

    let (new_pem, new_cert, new_key) = certificate(dir.path(), "new");
    std::fs::copy(&new_cert, &live_cert).unwrap();
    std::fs::copy(&new_key, &live_key).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &rx.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !rx.logs().contains("reloaded the TLS certificate") {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload:\n{}",
            rx.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // New connections get the new certificate; the old one is no longer offered.
    let fresh = client_trusting(&new_pem);
    let answer = fresh.get(url("/healthz")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.version(),
        reqwest::Version::HTTP_11,
        "after a reload too"
    );
    assert!(
        client_trusting(&old_pem)
            .get(url("/healthz"))
            .send()
            .await
            .is_err()
    );
    // The connection opened before the reload still works.
    let second = r#"{"event_type":"WorkbookCreated","resource_luid":"w2"}"#;
    assert_eq!(
        kept.post(&hook).body(second).send().await.unwrap().status(),
        202
    );
    assert!(rx.stop().success());
}

#[tokio::test]
async fn a_second_receiver_on_the_same_inbox_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = quiet_config(dir.path(), "");
    let args = ["--config", config.as_str(), "--listen", "127.0.0.1:0"];
    let first = Server::spawn(receive(&args, &[]));
    let (status, _, stderr) = run_to_end(receive(&args, &[]));
    assert!(!status.success());
    assert!(
        stderr.contains("another `vizhook receive` is using the inbox")
            && stderr.contains("inbox.db"),
        "{stderr}"
    );
    // The first one is unharmed.
    let health = reqwest::get(format!("http://127.0.0.1:{}/healthz", first.addr.port()))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(first.stop().success());
    // Once it has stopped, the inbox is free again.
    let again = Server::spawn(receive(&args, &[]));
    assert!(again.stop().success());
}
