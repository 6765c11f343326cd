//! Conformance against the official clients: tableauserverclient 0.42, installed from PyPI into
//! a virtual environment under `target/`, and plain HTTP in JSON through `requests`, each
//! driving a freshly started `vizhook serve`. Python 3 is required; without it these tests fail.

mod common;

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::Command,
};

use common::{PAT_NAME, PAT_SECRET, Server};
use vizhook_test_support::Recorder;

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// Creates (once, under an inter-process lock) a virtual environment with the pinned clients.
fn python() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(target).unwrap();
    let lock = File::create(target.join("tsc-venv.lock")).unwrap();
    lock.lock().unwrap();
    let venv = target.join("tsc-venv");
    let python = venv.join("bin/python");
    let marker = venv.join("installed-requirements.txt");
    let requirements = std::fs::read_to_string(conformance_dir().join("requirements.txt")).unwrap();
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(requirements.as_str()) {
        let status = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .expect("python3 is required for the TSC conformance test and was not found");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(conformance_dir().join("requirements.txt"))
            .status()
            .expect("pip could not run");
        assert!(
            status.success(),
            "pip install of tableauserverclient==0.42 failed"
        );
        std::fs::write(&marker, requirements).unwrap();
    }
    python
}

fn run_flow(script: &str) {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("vizhook.db"), &["--dev"]);
    let destination = Recorder::start();
    let output = Command::new(python)
        .arg(conformance_dir().join(script))
        .arg(server.url(""))
        .args([PAT_NAME, PAT_SECRET])
        .arg(destination.url("/hook"))
        .output()
        .expect("run the conformance script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        server.logs()
    );
    assert_eq!(
        destination.count(),
        1,
        "the test call reached the destination once"
    );
    assert!(
        !server.logs().contains(PAT_SECRET),
        "the token secret must never be logged"
    );
}

#[test]
fn tableauserverclient_works_unchanged() {
    run_flow("tsc_flow.py");
}

#[test]
fn plain_http_json_flow_works() {
    run_flow("json_flow.py");
}

/// Files too large for one request, published by tableauserverclient in chunks (fileUploads):
/// a data source in 1 MB chunks under a lowered limit, and a workbook over TSC's fixed 64 MB.
#[test]
fn tableauserverclient_publishes_large_files_in_chunks() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("vizhook.db"), &["--dev"]);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vizhook-test-support/fixtures");
    let output = Command::new(python)
        .arg(conformance_dir().join("tsc_chunked.py"))
        .arg(server.url(""))
        .args([PAT_NAME, PAT_SECRET])
        .arg(&fixtures)
        .output()
        .expect("run tsc_chunked.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim_end().ends_with("ok"),
        "tsc_chunked.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        server.logs()
    );
}

/// Content events driven by tableauserverclient, including the tutorial: a refresh succeeds, the
/// connection moves to an unreachable server, the next refresh fails and its webhook fires.
#[test]
fn tableauserverclient_fires_content_events_and_the_refresh_failure_tutorial() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("vizhook.db"), &["--dev"]);
    let destination = Recorder::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bad_port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vizhook-test-support/fixtures");
    let output = Command::new(python)
        .arg(conformance_dir().join("tsc_events.py"))
        .arg(server.url(""))
        .args([PAT_NAME, PAT_SECRET])
        .arg(format!("http://{}", destination.addr))
        .arg(&fixtures)
        .args(["5432", &bad_port])
        .output()
        .expect("run tsc_events.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "tsc_events.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log\n{}",
        server.logs()
    );
    let ids: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let (site, datasource, workbook) = (&ids["site"], &ids["datasource"], &ids["workbook"]);

    let expected = [
        (
            "datasource-created",
            "DatasourceCreated",
            "DATASOURCE",
            "Orders",
            datasource,
            1,
        ),
        (
            "datasource-updated",
            "DatasourceUpdated",
            "DATASOURCE",
            "Orders",
            datasource,
            2,
        ),
        (
            "datasource-refresh-started",
            "DatasourceRefreshStarted",
            "EXTRACTS",
            "Orders",
            datasource,
            2,
        ),
        (
            "datasource-refresh-succeeded",
            "DatasourceRefreshSucceeded",
            "EXTRACTS",
            "Orders",
            datasource,
            1,
        ),
        (
            "datasource-refresh-failed",
            "DatasourceRefreshFailed",
            "EXTRACTS",
            "Orders",
            datasource,
            1,
        ),
        (
            "datasource-deleted",
            "DatasourceDeleted",
            "DATASOURCE",
            "Orders",
            datasource,
            1,
        ),
        (
            "workbook-created",
            "WorkbookCreated",
            "WORKBOOK",
            "Orders Overview",
            workbook,
            1,
        ),
        (
            "workbook-deleted",
            "WorkbookDeleted",
            "WORKBOOK",
            "Orders Overview",
            workbook,
            1,
        ),
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let total: usize = expected.iter().map(|e| e.5).sum();
    while destination.count() < total && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    for (path, event_type, resource, name, luid, count) in expected {
        let payloads = destination.json_on(&format!("/{path}"));
        assert_eq!(
            payloads.len(),
            count,
            "{path}: {payloads:?}\n{}",
            server.logs()
        );
        for payload in payloads {
            assert_eq!(payload["event_type"], event_type);
            assert_eq!(payload["resource"], resource);
            assert_eq!(payload["resource_name"], name);
            assert_eq!(&payload["resource_luid"], luid);
            assert_eq!(&payload["site_luid"], site);
            assert_eq!(
                payload.as_object().unwrap().len(),
                6,
                "exactly the six documented fields"
            );
        }
    }
}
