//! The dashboard in a real browser: Debian's headless Chromium (`/usr/bin/chromium`, which
//! `.ci/run` installs), driven over CDP by playwright-core (from the npm registry, under
//! `target/`), against a `vizhook serve` whose webhook was disabled after four failed
//! deliveries. The script (`browser/dashboard.mjs`) signs in, sees the webhook with its reason
//! and attempts, has a form without its CSRF token refused, re-enables the webhook, redelivers
//! a delivery and saves screenshots under `target/screenshots/`; this test checks the server's
//! state afterwards.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use common::{PAT_NAME, PAT_SECRET, Server, npm_install, sign_in};
use serde_json::{Value, json};
use vizhook_test_support::{Recorder, eventually};

const PLAYWRIGHT: &str = "playwright-core@1.64.1";
const ADMIN: &str = "dashboard-admin";
const PASSWORD: &str = "dashboard-password-1";

/// Installs playwright-core (once, under an inter-process lock) and returns its folder.
fn playwright() -> PathBuf {
    npm_install(PLAYWRIGHT, "playwright").join("playwright-core")
}

fn screenshots() -> PathBuf {
    // CARGO_TARGET_TMPDIR is target/tmp; screenshots go beside it, in target/screenshots.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn an_administrator_revives_a_disabled_webhook_in_the_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "the browser test needs Chromium at {chromium}: install Debian's chromium and chromium-driver (.ci/run does)"
    );
    let playwright = playwright();
    let destination = Recorder::replying(500, "down for maintenance");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vizhook.toml");
    std::fs::write(
        &config,
        "[delivery]\nretry_schedule = [\"20ms\", \"20ms\", \"20ms\"]\npoll_interval = \"50ms\"\n",
    )
    .unwrap();
    let server = Server::start_with(
        &dir.path().join("dashboard.db"),
        &[
            ("VIZHOOK_ADMIN_USER", ADMIN),
            ("VIZHOOK_ADMIN_PASSWORD", PASSWORD),
            ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
            ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
        ],
        &["--dev", "--config", config.to_str().unwrap()],
    );
    let (token, site, _) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(server.url(&format!("/api/3.24/sites/{site}/webhooks")))
        .header("X-Tableau-Auth", &token)
        .header("Accept", "application/json")
        .json(&json!({"webhook": {
            "name": "refresh failures",
            "event": "DatasourceRefreshFailed",
            "webhook-destination": {"webhook-destination-http": {"method": "POST", "url": destination.url("/hook")}},
        }}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook = created["webhook"]["id"].as_str().unwrap().to_owned();
    // Four events, one at a time, so that each delivery fails on its own before the next.
    let webhook_url = server.url(&format!("/api/3.24/sites/{site}/webhooks/{webhook}"));
    let get_webhook = || async {
        let answer: Value = http
            .get(&webhook_url)
            .header("X-Tableau-Auth", &token)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["webhook"].clone()
    };
    for i in 0..4 {
        let fired = http
            .post(server.url(&format!("/vizhook/v1/sites/{site}/events")))
            .header("X-Tableau-Auth", &token)
            .json(&json!({"event_type": "DatasourceRefreshFailed", "resource_name": format!("extract {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(fired.status(), 202);
        eventually(
            Duration::from_secs(30),
            "the delivery's four attempts",
            || async { (destination.count() >= 4 * (i + 1)).then_some(()) },
        )
        .await;
    }
    let disabled = eventually(Duration::from_secs(30), "the webhook disabled", || async {
        let hook = get_webhook().await;
        (hook["isEnabled"] == false || hook["isEnabled"] == "false").then_some(hook)
    })
    .await;
    assert!(
        !disabled["statusChangeReason"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    destination.answer_with(200, "back");
    let before = destination.count();

    let shots = screenshots();
    let output = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.mjs"))
        .arg(&playwright)
        .arg(server.url(""))
        .args([ADMIN, PASSWORD, &webhook])
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is required for the browser test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser script failed\n--- its steps\n{}\n--- server log\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.logs()
    );
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    let redelivered = result["redelivered"].as_str().unwrap().to_owned();

    // The clicks changed the server: enabled again, and the redelivery arrived and succeeded.
    assert_eq!(
        get_webhook().await["isEnabled"]
            .to_string()
            .trim_matches('"'),
        "true"
    );
    eventually(
        Duration::from_secs(30),
        "the redelivery delivered",
        || async {
            let answer: Value = http
                .get(server.url(&format!(
                    "/vizhook/v1/sites/{site}/deliveries/{redelivered}"
                )))
                .header("X-Tableau-Auth", &token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (answer["delivery"]["state"] == "delivered").then_some(())
        },
    )
    .await;
    assert_eq!(
        destination.count(),
        before + 1,
        "one redelivery, nothing else"
    );
    assert!(
        destination
            .received()
            .last()
            .unwrap()
            .header("webhook-id")
            .is_some(),
        "the redelivery carries its webhook-id"
    );
    for shot in [
        "webhooks",
        "webhook-disabled",
        "csrf-refused",
        "delivery",
        "deliveries",
        "phone",
    ] {
        let path = shots.join(format!("{shot}.png"));
        assert!(
            std::fs::metadata(&path)
                .map(|m| m.len() > 1000)
                .unwrap_or(false),
            "{} was saved",
            path.display()
        );
    }
}
