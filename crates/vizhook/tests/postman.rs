//! Tableau's official webhooks Postman collection (`../shared/tableau/postman/`, vendored in
//! `tests/postman/`) run by newman against a fresh `vizhook serve`, the JSON folder and the
//! XML folder each on a server of its own.
//!
//! The collection's requests assert nothing, so the test derives a copy: the requests in the
//! order a person runs them, each with the variables a person would set before it (the event
//! in the style that request takes, `isEnabled`), the created webhook's id stored as a person
//! would paste it, and a test script asserting the status and the body. newman is installed
//! from the npm registry, once, under `target/`.

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{PAT_NAME, PAT_SECRET, Server, npm_install};
use serde_json::{Value, json};
use vizhook_test_support::Recorder;

const NEWMAN: &str = "newman@6.2.2";
const ADMIN: &str = "postman-admin";
const PASSWORD: &str = "postman-password-1";

fn postman_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/postman")
}

/// Installs newman (once, under an inter-process lock) and returns its executable.
fn newman() -> PathBuf {
    npm_install(NEWMAN, "newman").join(".bin/newman")
}

/// One request of the derived run: which request of the folder, what a person sets first,
/// and what must hold of the answer.
struct Step {
    request: &'static str,
    name: &'static str,
    set: &'static [(&'static str, &'static str)],
    checks: &'static str,
}

const SIGNED_IN: &str = r#"
pm.test("signs in", () => pm.response.to.have.status(200));
const credentials = tableau().credentials;
pm.test("with a token, a site and a user", () => {
    pm.expect(attrs(credentials).token).to.be.a("string").and.not.empty;
    pm.expect(attrs(credentials.site).id).to.match(/^[0-9a-f-]{36}$/);
    pm.expect(attrs(credentials.site).contentUrl).to.equal("");
    pm.expect(attrs(credentials.user).id).to.match(/^[0-9a-f-]{36}$/);
});
"#;

const STEPS: &[Step] = &[
    Step {
        request: "Sign in (username and password)",
        name: "Sign in (username and password)",
        set: &[],
        checks: SIGNED_IN,
    },
    Step {
        request: "Sign in (personal access token)",
        name: "Sign in (personal access token)",
        set: &[],
        checks: SIGNED_IN,
    },
    Step {
        request: "List webhooks",
        name: "List webhooks (none yet)",
        set: &[],
        checks: r#"
pm.test("lists", () => pm.response.to.have.status(200));
pm.test("no webhooks yet", () => pm.expect(webhooksOf(tableau())).to.have.lengthOf(0));
"#,
    },
    Step {
        request: "Create a webhook",
        name: "Create a webhook",
        set: &[
            ("webhook-name", "refresh failures"),
            (
                "webhook-event",
                "webhook-source-event-datasource-refresh-failed",
            ),
        ],
        checks: r#"
pm.test("creates", () => pm.response.to.have.status(201));
const webhook = tableau().webhook;
pm.environment.set("webhook-id", attrs(webhook).id);
pm.test("the webhook as asked", () => {
    pm.expect(attrs(webhook).id).to.match(/^[0-9a-f-]{36}$/);
    pm.expect(attrs(webhook).name).to.equal("refresh failures");
    pm.expect(webhook["webhook-source"]).to.have.property("webhook-source-event-datasource-refresh-failed");
    pm.expect(destinationUrl(webhook)).to.equal(pm.environment.get("webhook-url"));
    pm.expect(attrs(webhook.owner).id).to.match(/^[0-9a-f-]{36}$/);
});
"#,
    },
    Step {
        request: "Get a webhook",
        name: "Get a webhook",
        set: &[],
        checks: r#"
pm.test("gets", () => pm.response.to.have.status(200));
const webhook = tableau().webhook;
pm.test("the webhook created", () => {
    pm.expect(attrs(webhook).id).to.equal(pm.environment.get("webhook-id"));
    pm.expect(attrs(webhook).name).to.equal("refresh failures");
    pm.expect(String(attrs(webhook).isEnabled)).to.equal("true");
    pm.expect(destinationUrl(webhook)).to.equal(pm.environment.get("webhook-url"));
});
"#,
    },
    Step {
        request: "Update a webhook (2020.2+)",
        name: "Update a webhook (2020.2+): disable it",
        set: &[
            ("webhook-name", "refresh failures (paused)"),
            ("webhook-isenabled", "false"),
            ("webhook-statuschangereason", "paused from Postman"),
        ],
        checks: r#"
pm.test("updates", () => pm.response.to.have.status(200));
const webhook = tableau().webhook;
pm.test("disabled, with the reason", () => {
    pm.expect(attrs(webhook).id).to.equal(pm.environment.get("webhook-id"));
    pm.expect(attrs(webhook).name).to.equal("refresh failures (paused)");
    pm.expect(String(attrs(webhook).isEnabled)).to.equal("false");
    pm.expect(attrs(webhook).statusChangeReason).to.equal("paused from Postman");
});
"#,
    },
    Step {
        request: "Test a webhook",
        name: "Test a webhook",
        set: &[],
        checks: r#"
pm.test("tests", () => pm.response.to.have.status(200));
const result = tableau().webhookTestResult;
pm.test("the destination answered 200", () => {
    pm.expect(attrs(result).id).to.equal(pm.environment.get("webhook-id"));
    pm.expect(String(attrs(result).status)).to.equal("200");
});
"#,
    },
    Step {
        request: "Update a webhook (2020.3+)",
        name: "Update a webhook (2020.3+): enable it, another event",
        set: &[
            ("webhook-name", "refresh successes"),
            ("webhook-event", "DatasourceRefreshSucceeded"),
            ("webhook-isenabled", "true"),
            ("webhook-statuschangereason", ""),
        ],
        checks: r#"
pm.test("updates", () => pm.response.to.have.status(200));
const webhook = tableau().webhook;
pm.test("enabled, for the new event", () => {
    pm.expect(attrs(webhook).name).to.equal("refresh successes");
    pm.expect(String(attrs(webhook).isEnabled)).to.equal("true");
    pm.expect(attrs(webhook).event).to.equal("DatasourceRefreshSucceeded");
    pm.expect(webhook["webhook-source"]).to.have.property("webhook-source-event-datasource-refresh-succeeded");
});
"#,
    },
    Step {
        request: "Create a webhook (2020.3+)",
        name: "Create a webhook (2020.3+)",
        set: &[
            ("webhook-name", "new workbooks"),
            ("webhook-event", "WorkbookCreated"),
        ],
        checks: r#"
pm.test("creates", () => pm.response.to.have.status(201));
const webhook = tableau().webhook;
pm.environment.set("webhook-id", attrs(webhook).id);
pm.test("the webhook as asked", () => {
    pm.expect(attrs(webhook).name).to.equal("new workbooks");
    pm.expect(attrs(webhook).event).to.equal("WorkbookCreated");
    pm.expect(destinationUrl(webhook)).to.equal(pm.environment.get("webhook-url"));
});
"#,
    },
    Step {
        request: "List webhooks",
        name: "List webhooks (both)",
        set: &[],
        checks: r#"
pm.test("lists", () => pm.response.to.have.status(200));
pm.test("both webhooks", () => {
    const names = webhooksOf(tableau()).map((w) => attrs(w).name).sort();
    pm.expect(names).to.eql(["new workbooks", "refresh successes"]);
});
"#,
    },
    Step {
        request: "Delete a webhook",
        name: "Delete a webhook",
        set: &[],
        checks: r#"
pm.test("deletes", () => pm.response.to.have.status(204));
pm.test("with no body", () => pm.expect(pm.response.text()).to.equal(""));
"#,
    },
    Step {
        request: "Get a webhook",
        name: "Get the deleted webhook",
        set: &[],
        checks: r#"
pm.test("is not found", () => pm.response.to.have.status(404));
pm.test("in Tableau's error format", () => {
    const error = tableau().error;
    pm.expect(attrs(error).code).to.equal("404050");
    pm.expect(error.summary).to.be.a("string").and.not.empty;
});
"#,
    },
];

fn script(lines: &str) -> Value {
    json!(lines.lines().collect::<Vec<_>>())
}

/// The derived collection for `folder` of the official one.
fn derive(official: &Value, folder: &str) -> Value {
    let requests = official["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == folder)
        .unwrap_or_else(|| panic!("the collection has a {folder} folder"))["item"]
        .as_array()
        .unwrap();
    let prelude = std::fs::read_to_string(postman_dir().join("checks.js")).unwrap();
    let xml = folder == "XML";
    let mut items = Vec::new();
    for step in STEPS {
        let mut item = requests
            .iter()
            .find(|r| r["name"] == step.request)
            .unwrap_or_else(|| panic!("{folder} has '{}'", step.request))
            .clone();
        // The collection's own sign-in scripts store the token and site id; keep them.
        let own: Vec<Value> = item["event"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["listen"] == "test")
            .flat_map(|e| e["script"]["exec"].as_array().cloned().unwrap_or_default())
            .collect();
        let mut test = format!("const XML = {xml};\n{prelude}\n");
        for line in own {
            test.push_str(line.as_str().unwrap_or_default());
            test.push('\n');
        }
        test.push_str(step.checks);
        let set: String = step
            .set
            .iter()
            .map(|(key, value)| format!("pm.environment.set({key:?}, {value:?});\n"))
            .collect();
        item["name"] = json!(step.name);
        item["event"] = json!([
            {"listen": "prerequest", "script": {"type": "text/javascript", "exec": script(&set)}},
            {"listen": "test", "script": {"type": "text/javascript", "exec": script(&test)}},
        ]);
        items.push(item);
    }
    json!({
        "info": {
            "name": format!("{} ({folder}, derived by crates/vizhook/tests/postman.rs)", official["info"]["name"].as_str().unwrap_or_default()),
            "schema": official["info"]["schema"],
        },
        "item": items,
    })
}

/// The official environment with a person's values filled in.
fn environment(official: &Value, server: &str, destination: &str) -> Value {
    let mut environment = official.clone();
    let values = [
        ("server", server),
        ("content-url", ""),
        ("username", ADMIN),
        ("password", PASSWORD),
        ("pat-name", PAT_NAME),
        ("pat-secret", PAT_SECRET),
        ("webhook-url", destination),
    ];
    for entry in environment["values"].as_array_mut().unwrap() {
        if let Some((_, value)) = values.iter().find(|(key, _)| entry["key"] == *key) {
            entry["value"] = json!(value);
        }
    }
    environment
}

fn run_folder(folder: &str) {
    let newman = newman();
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(postman_dir().join(name)).unwrap()).unwrap()
    };
    let official = read("Postman-Collection-Tableau-Webhooks.json");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("postman.db"),
        &[
            ("VIZHOOK_ADMIN_USER", ADMIN),
            ("VIZHOOK_ADMIN_PASSWORD", PASSWORD),
            ("VIZHOOK_ADMIN_PAT_NAME", PAT_NAME),
            ("VIZHOOK_ADMIN_PAT_SECRET", PAT_SECRET),
        ],
        &["--dev"],
    );
    let destination = Recorder::start();
    let collection = dir.path().join("collection.json");
    let env = dir.path().join("environment.json");
    let report = dir.path().join("report.json");
    std::fs::write(&collection, derive(&official, folder).to_string()).unwrap();
    let environment = environment(
        &read("Postman-Environment-Tableau-Webhooks.json"),
        &server.url(""),
        &destination.url("/hook"),
    );
    std::fs::write(&env, environment.to_string()).unwrap();
    let output = Command::new(&newman)
        .arg("run")
        .arg(&collection)
        .arg("--environment")
        .arg(&env)
        .args(["--reporters", "cli,json", "--reporter-json-export"])
        .arg(&report)
        .args(["--color", "off", "--disable-unicode"])
        .output()
        .expect("run newman");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "newman failed on the {folder} folder\n{stdout}\n{}\n--- server log\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.logs()
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let stats = &report["run"]["stats"];
    assert_eq!(stats["requests"]["total"], STEPS.len(), "{stdout}");
    assert_eq!(stats["requests"]["failed"], 0, "{stdout}");
    assert_eq!(stats["assertions"]["failed"], 0, "{stdout}");
    assert_eq!(report["run"]["failures"], json!([]), "{stdout}");
    // Every request asserted its status and at least one thing of its body.
    for execution in report["run"]["executions"].as_array().unwrap() {
        let name = execution["item"]["name"].as_str().unwrap_or_default();
        let assertions = execution["assertions"].as_array().map_or(0, Vec::len);
        assert!(assertions >= 3, "{name}: {assertions} assertions\n{stdout}");
    }
    assert_eq!(
        destination.count(),
        1,
        "the test request reached the destination once"
    );
}

#[test]
fn json_folder_passes_under_newman() {
    run_folder("JSON");
}

#[test]
fn xml_folder_passes_under_newman() {
    run_folder("XML");
}
