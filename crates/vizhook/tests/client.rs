//! The client commands as a user runs them, against a real `vizhook serve` on a random port:
//! `vizhook webhooks`, `events fire` and `deliveries`, in tables and in JSON, and their
//! errors (a wrong token, an unknown webhook, a user who is not an administrator, a server
//! that does not answer) as one sentence with Tableau's code and a non-zero exit.

mod common;

use std::{net::TcpListener, process::Command, time::Duration};

use common::{PAT_NAME, PAT_SECRET, Server, run_to_end, sign_in};
use serde_json::Value;
use vizhook_test_support::{Recorder, eventually_blocking};

/// `vizhook <args>` against `server` with the CI token from the environment, as a script
/// would run it; inherited `TABLEAU_*` variables are removed first.
fn cli(server: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TABLEAU_") || name.starts_with("VIZHOOK_") {
            command.env_remove(name);
        }
    }
    command
        .env("TABLEAU_SERVER", server)
        .env("TABLEAU_PAT_NAME", PAT_NAME)
        .env("TABLEAU_PAT_SECRET", PAT_SECRET)
        .envs(env.iter().copied())
        .args(args);
    let (status, stdout, stderr) = run_to_end(command);
    (status.success(), stdout, stderr)
}

/// Runs a command that must succeed and returns its stdout.
fn ok(server: &str, args: &[&str]) -> String {
    let (success, stdout, stderr) = cli(server, &[], args);
    assert!(success, "vizhook {args:?} failed: {stderr}");
    stdout
}

fn ok_json(server: &str, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let stdout = ok(server, &args);
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{args:?}: {err}: {stdout}"))
}

/// The value of a `key: value` line.
fn field(block: &str, key: &str) -> String {
    block
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in:\n{block}"))
        .trim()
        .to_owned()
}

/// Runs a command that must fail and returns its stderr, checking it said nothing on stdout.
fn refused(server: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let (success, stdout, stderr) = cli(server, env, args);
    assert!(!success, "vizhook {args:?} should fail; stdout: {stdout}");
    assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
    assert!(
        stderr.starts_with("vizhook: ") && stderr.trim_end().lines().count() == 1,
        "one sentence: {stderr}"
    );
    stderr
}

#[test]
fn manages_webhooks_and_deliveries_in_tables_and_in_json() {
    let destination = Recorder::replying(500, "not today");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("client.db"), &["--dev"]);
    let base = server.url("");
    let url = destination.url("/hook");

    // Any naming style of the event; the table output is `key: value` lines.
    let created = ok(
        &base,
        &[
            "webhooks",
            "create",
            "--name",
            "refresh failures",
            "--event",
            "webhook-source-event-datasource-refresh-failed",
            "--url",
            &url,
        ],
    );
    assert_eq!(field(&created, "event"), "DatasourceRefreshFailed");
    assert_eq!(field(&created, "enabled"), "yes");
    let id = field(&created, "id");

    // The table's columns line up: each header starts where its values start.
    let listed = ok(&base, &["webhooks", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    let (header, row) = (lines[0], lines[1]);
    assert!(header.starts_with("ID "), "{listed}");
    for (column, value) in [("NAME", "refresh failures"), ("URL", url.as_str())] {
        assert_eq!(header.find(column), row.find(value), "{column}:\n{listed}");
    }
    let listed = ok_json(&base, &["webhooks", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["event"], "DatasourceRefreshFailed");
    assert_eq!(listed[0]["url"], url.as_str());

    let disabled = ok_json(
        &base,
        &["webhooks", "disable", &id, "--reason", "maintenance window"],
    );
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["status_change_reason"], "maintenance window");
    let shown = ok(&base, &["webhooks", "get", &id]);
    assert_eq!(field(&shown, "enabled"), "no");
    assert_eq!(field(&shown, "reason"), "maintenance window");
    assert_eq!(
        ok_json(&base, &["webhooks", "enable", &id])["enabled"],
        true
    );

    let tested = ok_json(&base, &["webhooks", "test", &id]);
    assert_eq!(tested["status"], 500, "{tested}");
    assert_eq!(tested["body"], "not today");
    assert_eq!(destination.count(), 1, "the test POSTed once");

    let fired = ok_json(
        &base,
        &[
            "events",
            "fire",
            "--event",
            "datasource-refresh-failed",
            "--resource-name",
            "Sales",
        ],
    );
    assert_eq!(fired["events"][0]["deliveries"], 1, "{fired}");
    let delivery = eventually_blocking(Duration::from_secs(20), "the first attempt", || {
        let listed = ok_json(&base, &["deliveries", "list", "--webhook", &id]);
        let delivery = listed["deliveries"][0].clone();
        (delivery["attempts"][0]["status"] == 500).then_some(delivery)
    });
    assert_eq!(delivery["payload"]["resource_name"], "Sales");
    assert_eq!(delivery["event_type"], "DatasourceRefreshFailed");
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();
    let table = ok(&base, &["deliveries", "list", "--webhook", &id]);
    assert!(
        table.starts_with("ID ") && table.contains(&delivery_id) && table.contains("HTTP 500"),
        "{table}"
    );
    let shown = ok(&base, &["deliveries", "show", &delivery_id]);
    assert_eq!(field(&shown, "webhook"), id);
    assert!(
        shown.contains("ATTEMPT") && shown.contains("not today"),
        "{shown}"
    );

    let before = destination.count();
    let redelivered = ok_json(&base, &["deliveries", "redeliver", &delivery_id]);
    assert_eq!(redelivered["delivery"]["state"], "pending", "{redelivered}");
    eventually_blocking(Duration::from_secs(20), "the redelivery", || {
        (destination.count() > before).then_some(())
    });

    let renamed = ok_json(&base, &["webhooks", "update", &id, "--name", "renamed"]);
    assert_eq!(renamed["name"], "renamed");
    assert_eq!(renamed["url"], url.as_str(), "the rest is kept");
    assert_eq!(
        ok(&base, &["webhooks", "delete", &id]).trim(),
        format!("Deleted webhook {id}.")
    );
    assert_eq!(ok_json(&base, &["webhooks", "list"]), Value::Array(vec![]));
    let (success, stdout, stderr) = cli(&base, &[], &["webhooks", "list"]);
    assert!(success && stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("No webhooks"), "{stderr}");
}

#[tokio::test]
async fn errors_are_one_sentence_with_tableau_codes_and_a_failing_exit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("errors.db"), &["--dev"]);
    let base = server.url("");

    for json in [false, true] {
        let mut args = vec!["webhooks", "list"];
        if json {
            args.push("--json");
        }
        let wrong = refused(&base, &[("TABLEAU_PAT_SECRET", "not-the-secret")], &args);
        assert!(
            wrong.contains("refused the sign-in") && wrong.contains("(401001)"),
            "{wrong}"
        );
        assert!(!wrong.contains("not-the-secret"), "{wrong}");

        let unknown = "5b3c8ad4-46f2-4f48-9a31-1f0f8e3b9b16";
        let mut args = vec!["webhooks", "get", unknown];
        if json {
            args.push("--json");
        }
        let missing = refused(&base, &[], &args);
        assert!(
            missing.contains("(404050)") && missing.contains(unknown),
            "{missing}"
        );
    }
    let missing = refused(
        &base,
        &[],
        &["deliveries", "show", "01a2524c-a168-778a-bcbc-7ca20e457044"],
    );
    assert!(missing.contains("could not be found"), "{missing}");

    // A viewer signs in with a password, and is refused as on Tableau.
    let (token, site, _) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    let http = reqwest::Client::new();
    let users = server.url(&format!("/api/3.24/sites/{site}/users"));
    let added = http
        .post(&users)
        .header("X-Tableau-Auth", &token)
        .header("Accept", "application/json")
        .body(r#"<tsRequest><user name="vic" siteRole="Viewer" /></tsRequest>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let user: Value = added.json().await.unwrap();
    let user_id = user["user"]["id"].as_str().unwrap();
    let updated = http
        .put(format!("{users}/{user_id}"))
        .header("X-Tableau-Auth", &token)
        .body(r#"<tsRequest><user password="vic-password-1" /></tsRequest>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    let viewer = [
        ("TABLEAU_PAT_NAME", ""),
        ("TABLEAU_PAT_SECRET", ""),
        ("TABLEAU_USERNAME", "vic"),
        ("TABLEAU_PASSWORD", "vic-password-1"),
    ];
    let forbidden = refused(&base, &viewer, &["webhooks", "list"]);
    assert!(forbidden.contains("(403"), "{forbidden}");
    let forbidden = refused(
        &base,
        &viewer,
        &["events", "fire", "--event", "SiteCreated"],
    );
    assert!(forbidden.contains("(403"), "{forbidden}");

    // Nothing listens on a port just given back.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = refused(&format!("http://{closed}"), &[], &["webhooks", "list"]);
    assert!(
        unreachable.contains(&format!("could not reach http://{closed}")),
        "{unreachable}"
    );

    // Mistakes found before anything is sent.
    let no_login = [("TABLEAU_PAT_NAME", ""), ("TABLEAU_PAT_SECRET", "")];
    let anonymous = refused(&base, &no_login, &["webhooks", "list"]);
    assert!(anonymous.contains("say how to sign in"), "{anonymous}");
    let bad = refused(
        &base,
        &[],
        &[
            "webhooks", "create", "--name", "n", "--event", "nope", "--url", "http://a",
        ],
    );
    assert!(
        bad.contains("'nope' is not a Tableau webhook event"),
        "{bad}"
    );
    let bad = refused("ftp://example.com", &[], &["webhooks", "list"]);
    assert!(
        bad.contains("--server must be an http:// or https:// address"),
        "{bad}"
    );
}
