//! `vizhook serve` as a user runs it: first-run credentials, restart persistence, clean
//! shutdown, configuration layers, and plain-sentence errors.

mod common;

use common::{PAT_NAME, PAT_SECRET, Server, run_to_end, serve_command, sign_in};

#[tokio::test]
async fn dev_mode_prints_generated_credentials_once_and_they_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dev.db");
    let server = Server::start_with(&db, &[], &["--dev"]);
    let printed = server.stdout.lock().unwrap().join("\n");
    let value = |label: &str| {
        printed
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .to_owned()
    };
    let (pat_name, secret, password) = (
        value("personal access token:"),
        value("token secret:"),
        value("password:"),
    );
    sign_in(&server, &pat_name, &secret).await;
    let logs = server.logs();
    assert!(
        !logs.contains(&secret) && !logs.contains(&password),
        "secrets are never logged:\n{logs}"
    );
    assert!(server.stop().success());

    let again = Server::start_with(&db, &[], &["--dev"]);
    assert!(
        again.stdout.lock().unwrap().is_empty(),
        "credentials are shown only on first run"
    );
    sign_in(&again, &pat_name, &secret).await;
}

#[tokio::test]
async fn webhooks_survive_a_restart_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("persist.db");
    let server = Server::start(&db, &[]);
    let (token, site, _) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    let hooks = format!("/api/3.24/sites/{site}/webhooks");
    let body = r#"<tsRequest><webhook name="kept" event="DatasourceRefreshFailed"><webhook-destination><webhook-destination-http method="POST" url="https://example.com/kept" /></webhook-destination></webhook></tsRequest>"#;
    let client = reqwest::Client::new();
    let created = client
        .post(server.url(&hooks))
        .header("X-Tableau-Auth", &token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let status = server.stop();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");

    let restarted = Server::start(&db, &[]);
    let listed = client
        .get(restarted.url(&hooks))
        .header("X-Tableau-Auth", &token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200, "sessions persist too");
    let json: serde_json::Value = listed.json().await.unwrap();
    let webhooks = json["webhooks"]["webhook"].as_array().unwrap();
    assert_eq!(webhooks.len(), 1);
    assert_eq!(webhooks[0]["name"], "kept");
    assert_eq!(webhooks[0]["event"], "DatasourceRefreshFailed");
}

#[tokio::test]
async fn configuration_file_environment_and_flags_layer_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vizhook.toml");
    std::fs::write(
        &config,
        "[auth]\nsession_ttl = \"30m\"\n[tableau]\nrest_api_version = \"3.21\"\n",
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("env.db").display());
    let env = [
        ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
        ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
        ("VIZHOOK_AUTH__SESSION_TTL", "45m"),
        ("VIZHOOK_DATABASE_URL", db_url.as_str()),
    ];
    let server = Server::start_with(
        &dir.path().join("unused.db"),
        &env,
        &["--config", config_arg, "--database", &db_url],
    );
    let (_, _, answer) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    assert!(
        answer.contains("\"estimatedTimeToExpiration\":\"0:45:00\""),
        "environment beats the file: {answer}"
    );
    let info = reqwest::get(server.url("/api/2.4/serverInfo"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        info.contains("<restApiVersion>3.21</restApiVersion>"),
        "the file beats the defaults: {info}"
    );
    assert!(
        dir.path().join("env.db").exists(),
        "VIZHOOK_DATABASE_URL names the database"
    );
    assert!(!dir.path().join("unused.db").exists());
}

#[test]
fn bad_configuration_and_missing_credentials_are_plain_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    /// Environment, extra arguments, and the message expected on stderr.
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<String>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![], vec![], "no administrator credentials are set"),
        (
            vec![("VIZHOOK_ADMIN_PASSWORD", "pw")],
            vec!["--config".into(), "/nonexistent/vizhook.toml".into()],
            "configuration file /nonexistent/vizhook.toml does not exist",
        ),
        (
            vec![
                ("VIZHOOK_ADMIN_PASSWORD", "pw"),
                ("VIZHOOK_AUTH__SESSION_TTL", "soon"),
            ],
            vec![],
            "session_ttl",
        ),
        (
            vec![
                ("VIZHOOK_ADMIN_PASSWORD", "pw"),
                ("VIZHOOK_SERVER__NO_SUCH_KEY", "1"),
            ],
            vec![],
            "unknown field",
        ),
        (
            vec![("VIZHOOK_ADMIN_PASSWORD", "pw")],
            vec!["--database".into(), "mysql://db".into()],
            "unsupported database url",
        ),
    ];
    for (env, args, message) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, _, stderr) = run_to_end(serve_command(&db, &env, &args));
        assert!(!status.success(), "{message}: should fail");
        assert!(
            stderr.to_lowercase().contains(&message.to_lowercase()),
            "expected '{message}' in:\n{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one plain sentence: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_default_configuration_is_printable_and_documented() {
    let (status, stdout, _) = run_to_end({
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vizhook"));
        command.arg("default-config");
        command
    });
    assert!(status.success());
    for key in [
        "listen",
        "dev",
        "max_body_bytes",
        "url",
        "session_ttl",
        "rest_api_version",
        "timeout",
        "allow_networks",
        "key",
        "previous_keys",
    ] {
        let lines: Vec<&str> = stdout.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("{key} =")));
        let at = at.unwrap_or_else(|| panic!("{key} missing"));
        let commented = lines[at.saturating_sub(3)..at]
            .iter()
            .any(|l| l.starts_with('#'));
        assert!(commented, "{key} is documented by a comment just above it");
    }
}

#[tokio::test]
async fn failed_deliveries_are_logged_without_their_destination() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A destination that answers every request with 500.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let answer = "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n";
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vizhook.toml");
    std::fs::write(
        &config,
        "[delivery]\nretry_schedule = [\"50ms\", \"50ms\", \"50ms\"]\npoll_interval = \"50ms\"\n",
    )
    .unwrap();
    let env = [
        ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
        ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
    ];
    let server = Server::start_with(
        &dir.path().join("failing.db"),
        &env,
        &["--dev", "--config", config.to_str().unwrap()],
    );
    let (token, site, _) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    let client = reqwest::Client::new();
    let secret_path = "/hooks/key-in-the-path-7f3a";
    let body = format!(
        r#"<tsRequest><webhook name="failing" event="WorkbookCreated"><webhook-destination><webhook-destination-http method="POST" url="http://127.0.0.1:{port}{secret_path}" /></webhook-destination></webhook></tsRequest>"#
    );
    let created = client
        .post(server.url(&format!("/api/3.24/sites/{site}/webhooks")))
        .header("X-Tableau-Auth", &token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let injected = client
        .post(server.url(&format!("/vizhook/v1/sites/{site}/events")))
        .header("X-Tableau-Auth", &token)
        .header("Content-Type", "application/json")
        .body(r#"{"event_type": "WorkbookCreated", "resource_name": "Book", "resource_luid": "1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 202);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !server.logs().contains("a delivery failed its last attempt") {
        assert!(
            std::time::Instant::now() < deadline,
            "no failure logged:\n{}",
            server.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let logs = server.logs();
    assert_eq!(
        logs.matches("a delivery attempt failed; it will be retried")
            .count(),
        3,
        "{logs}"
    );
    assert!(logs.contains("HTTP 500"), "{logs}");
    assert!(
        !logs.contains(secret_path),
        "the destination stays out of the logs:\n{logs}"
    );
    assert!(server.stop().success());
}

#[test]
fn completions_are_printed_for_each_shell_and_an_unknown_shell_is_a_plain_error() {
    for (shell, marker) in [
        ("bash", "_vizhook()"),
        ("zsh", "#compdef vizhook"),
        ("fish", "complete -c vizhook"),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vizhook"));
        command.args(["completions", shell]);
        let (status, stdout, stderr) = run_to_end(command);
        assert!(status.success(), "{shell}: {stderr}");
        assert!(stdout.contains(marker), "{shell}: {stdout}");
        assert!(
            stdout.contains("serve") && stdout.contains("receive"),
            "{shell}"
        );
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vizhook"));
    command.args(["completions", "tcsh"]);
    let (status, _, stderr) = run_to_end(command);
    assert!(!status.success());
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");
}
