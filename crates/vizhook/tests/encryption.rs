//! Encryption at rest as a user runs it: `vizhook generate-key`, `serve` with a key from the
//! environment, a signing secret that is in no file of the database and still signs deliveries
//! after restarts, a wrong key that stops start-up with one sentence, and a rotation.

mod common;

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use common::{PAT_NAME, PAT_SECRET, Server, run_to_end, serve_command, sign_in};
use vizhook_store::cipher::Key;
use vizhook_tableau::signing::Signer;
use vizhook_test_support::Recorder;

/// `serve` over `keyed.db` in `dir`, in development mode (the destination is on loopback), with
/// `section` as its `[encryption]` section and `env` added to the environment.
fn serve_keyed(dir: &Path, section: &str, env: &[(&str, &str)]) -> Command {
    let config = dir.join("keyed.toml");
    std::fs::write(&config, format!("[encryption]\n{section}\n")).unwrap();
    let mut vars = vec![
        ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
        ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
    ];
    vars.extend_from_slice(env);
    serve_command(
        &dir.join("keyed.db"),
        &vars,
        &["--dev", "--config", config.to_str().unwrap()],
    )
}

/// Injects an event, waits for the destination's `n`th request, and checks that it carries a
/// Standard Webhooks signature made with `secret`.
async fn injected_delivery_is_signed(
    server: &Server,
    token: &str,
    site: &str,
    destination: &Recorder,
    n: usize,
    secret: &str,
) {
    let injected = reqwest::Client::new()
        .post(server.url(&format!("/vizhook/v1/sites/{site}/events")))
        .header("X-Tableau-Auth", token)
        .header("Content-Type", "application/json")
        .body(r#"{"event_type": "WorkbookCreated", "resource_name": "Book", "resource_luid": "1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(injected.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    while destination.count() < n {
        assert!(Instant::now() < deadline, "no delivery:\n{}", server.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let request = destination.received()[n - 1].clone();
    let body = request.body.to_vec();
    let header = |name: &str| {
        request
            .header(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", request.headers))
    };
    let signer = Signer::new(secret).unwrap();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!(
        signer.verify(
            &header("webhook-id"),
            timestamp,
            &body,
            &header("webhook-signature")
        ),
        "signed with the secret set before the restart"
    );
}

#[tokio::test]
async fn signing_secrets_are_encrypted_at_rest_and_survive_restarts_and_rotation() {
    let generate = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
        command.arg("generate-key");
        let (status, stdout, _) = run_to_end(command);
        assert!(status.success());
        stdout.trim().to_owned()
    };
    let (old, new) = (generate(), generate());
    assert_ne!(old, new);
    let old_id = Key::parse(&old).unwrap().id().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let by_env = r#"key = "env:VIZHOOK_ENCRYPTION_KEY""#;
    let destination = Recorder::start();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    let server = Server::spawn(serve_keyed(
        dir.path(),
        by_env,
        &[("VIZHOOK_ENCRYPTION_KEY", &old)],
    ));
    let (token, site, _) = sign_in(&server, PAT_NAME, PAT_SECRET).await;
    let client = reqwest::Client::new();
    let body = format!(
        r#"<tsRequest><webhook name="signed" event="WorkbookCreated"><webhook-destination><webhook-destination-http method="POST" url="{}" /></webhook-destination></webhook></tsRequest>"#,
        destination.url("/hook")
    );
    let created: serde_json::Value = client
        .post(server.url(&format!("/api/3.24/sites/{site}/webhooks")))
        .header("X-Tableau-Auth", &token)
        .header("Accept", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook = created["webhook"]["id"].as_str().unwrap().to_owned();
    let set = client
        .put(server.url(&format!(
            "/vizhook/v1/sites/{site}/webhooks/{webhook}/signing-secret"
        )))
        .header("X-Tableau-Auth", &token)
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"secret": "{secret}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert!(server.stop().success());
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        on_disk.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let plain = secret.as_bytes();
    assert!(
        !on_disk.windows(plain.len()).any(|w| w == plain),
        "the secret is in no file of the database"
    );

    // The same key: the delivery is signed with the secret set before.
    let server = Server::spawn(serve_keyed(
        dir.path(),
        by_env,
        &[("VIZHOOK_ENCRYPTION_KEY", &old)],
    ));
    injected_delivery_is_signed(&server, &token, &site, &destination, 1, secret).await;
    assert!(server.stop().success());

    // Another key: start-up stops with one sentence, naming the key and what to set.
    let (status, _, stderr) = run_to_end(serve_keyed(
        dir.path(),
        by_env,
        &[("VIZHOOK_ENCRYPTION_KEY", &new)],
    ));
    assert!(!status.success());
    assert_eq!(stderr.lines().count(), 1, "one plain sentence: {stderr}");
    assert!(
        stderr.contains(&format!(
            "the database's secrets were encrypted with key {old_id}, which is not the configured key or one of the previous keys; set [encryption] previous_keys to the old key to rotate"
        )),
        "{stderr}"
    );

    // Rotation: the new key with the old one as a previous key, then the new key alone.
    let rotating = format!("{by_env}\nprevious_keys = [\"env:OLD_KEY\"]");
    let env = [
        ("VIZHOOK_ENCRYPTION_KEY", new.as_str()),
        ("OLD_KEY", old.as_str()),
    ];
    let server = Server::spawn(serve_keyed(dir.path(), &rotating, &env));
    injected_delivery_is_signed(&server, &token, &site, &destination, 2, secret).await;
    assert!(server.stop().success());
    let server = Server::spawn(serve_keyed(
        dir.path(),
        by_env,
        &[("VIZHOOK_ENCRYPTION_KEY", &new)],
    ));
    injected_delivery_is_signed(&server, &token, &site, &destination, 3, secret).await;
    assert!(server.stop().success());
}
