//! Loading actions: unknown types and keys, template problems found at load time with their
//! paths, secret references, targets, and the stored context's JSON shape.

use std::path::Path;

use expect_test::expect;

use super::{build, parse, resolved, try_build};
use crate::actions::{ConfigProblem, Context};

fn problems(toml: &str, secrets: &[(&str, &str)], base: &Path) -> Vec<String> {
    try_build(toml, secrets, base)
        .unwrap_err()
        .iter()
        .map(ConfigProblem::to_string)
        .collect()
}

#[test]
fn unknown_action_types_and_keys_are_rejected() {
    let err = parse("[[receiver]]\nname = \"a\"\n[[receiver.action]]\ntype = \"pager\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown variant `pager`"), "{err}");
    let err = parse(
        "[[receiver]]\nname = \"a\"\n[[receiver.action]]\ntype = \"slack\"\nwebhook_url = \"https://x\"\nchannel = \"#data\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `channel`"), "{err}");
    let err = parse("[[receiver]]\nname = \"a\"\nactions = []\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `actions`"), "{err}");
    let err = parse("[[receiver]]\nname = \"a\"\n[[receiver.action]]\ntype = \"command\"\nargv = [\"x\"]\ntimeout = \"soon\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a duration"), "{err}");
}

#[test]
fn an_undefined_variable_is_rejected_at_load_with_its_path() {
    let toml = r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "file"
path = "events.jsonl"
[[receiver.action]]
type = "slack"
webhook_url = "https://hooks.slack.com/services/T/B/x"
text = "{{ event.resource_nmae }} on {{ site }}"
"#;
    expect![[r#"
        [
            "receiver[0].action[1].text: undefined value: `event.resource_nmae` is undefined (line 1); unknown: event.resource_nmae, site",
        ]
    "#]].assert_debug_eq(&problems(toml, &[], Path::new(".")));
}

#[test]
fn templates_may_test_for_extra_fields() {
    let toml = r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "email"
to = ["a@example.com"]
subject = "{{ event.job_id | default('no job') }}{% if event.querystring is defined %}?{% endif %}"
"#;
    assert!(try_build(toml, &[], Path::new(".")).is_ok());
}

#[test]
fn every_problem_is_reported_at_once() {
    let toml = r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "email"
to = ["not an address"]
subject = "{{ event.event_type"
[[receiver.action]]
type = "http"
method = "TRACE"
url = "ftp://{{ secrets.key }}"
headers = { "Bad Header" = "x", "X-Id" = "{{ event.resource_name }}" }
body = '{"value1": "{{ event.resource_name }}"}'
[[receiver.action]]
type = "command"
argv = []
[[receiver.action]]
type = "command"
argv = ["./missing.sh"]
max_concurrent = 0
[[receiver.action]]
type = "file"
path = "no/such/folder/events.jsonl"
[[receiver.action]]
type = "teams"
webhook_url = "not a url"
[[receiver.action]]
type = "x"
api_url = "https://api.x.com?x=1"
consumer_key = "env:VIZHOOK_SURELY_UNSET_KEY"
consumer_secret = "file:missing-secret"
access_token = "t"
access_token_secret = "ts"
text = "{{ secrets.nope }}"
[[receiver]]
name = "data-team"
"#;
    let dir = tempfile::tempdir().unwrap();
    let found = problems(toml, &[("key", "k")], dir.path());
    let shown: Vec<String> = found
        .iter()
        .map(|p| p.replace(&dir.path().display().to_string(), "<base>"))
        .collect();
    expect![[r#"
        [
            "receiver[0].action[0].to[0]: \"not an address\" is not a valid email address",
            "receiver[0].action[0].subject: syntax error: unexpected end of input, expected end of variable block (line 1)",
            "receiver[0].action[1].method: \"TRACE\" is not one of GET, POST, PUT, PATCH, DELETE",
            "receiver[0].action[1].url: does not render an http:// or https:// URL",
            "receiver[0].action[1].headers.Bad Header: is not a valid header name",
            "receiver[0].action[1].body: does not render valid JSON (expected `,` or `}` at line 1 column 14); values are already JSON literals, do not quote them",
            "receiver[0].action[2].argv: must name a program",
            "receiver[0].action[3].argv: <base>/./missing.sh is not a file",
            "receiver[0].action[3].max_concurrent: must be at least 1",
            "receiver[0].action[4].path: the folder <base>/no/such/folder does not exist",
            "receiver[0].action[5].webhook_url: must be an http:// or https:// URL",
            "receiver[0].action[6].api_url: must be an http:// or https:// URL without a query",
            "receiver[0].action[6].consumer_key: the environment variable VIZHOOK_SURELY_UNSET_KEY is not set",
            "receiver[0].action[6].consumer_secret: cannot read the secret file <base>/missing-secret: No such file or directory (os error 2)",
            "receiver[0].action[6].text: undefined value: `secrets.nope` is undefined (line 1); unknown: secrets.nope",
            "receiver[1].name: another receiver has this name",
        ]
    "#]].assert_debug_eq(&shown);
}

#[test]
fn secret_references_are_resolved() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slack-url"),
        "https://hooks.slack.com/services/T0/B0/from-a-file\n",
    )
    .unwrap();
    let toml = r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "slack"
webhook_url = "file:slack-url"
[[receiver.action]]
type = "http"
url = "file:slack-url"
"#;
    let actions = try_build(toml, &[], dir.path()).unwrap();
    assert_eq!(
        format!("{actions:?}"),
        r#"{"data-team": ["slack", "http"]}"#,
        "Debug shows no URL"
    );
    let missing = toml.replace("file:slack-url", "env:VIZHOOK_SURELY_UNSET_URL");
    expect![[r#"
        [
            "receiver[0].action[0].webhook_url: the environment variable VIZHOOK_SURELY_UNSET_URL is not set",
            "receiver[0].action[1].url: the environment variable VIZHOOK_SURELY_UNSET_URL is not set",
        ]
    "#]].assert_debug_eq(&problems(&missing, &[], dir.path()));
}

#[test]
fn named_actions_keep_their_target_when_reordered() {
    let file = |name: &str, path: &str| {
        format!("[[receiver.action]]\ntype = \"file\"\nname = \"{name}\"\npath = \"{path}\"\n")
    };
    let command =
        "[[receiver.action]]\ntype = \"command\"\nargv = [\"true\"]\nmax_concurrent = 3\n";
    let before = build(
        &format!(
            "[[receiver]]\nname = \"a\"\n{}{command}",
            file("audit", "x.jsonl")
        ),
        &[],
    );
    let after = build(
        &format!(
            "[[receiver]]\nname = \"a\"\n{command}{}",
            file("audit", "x.jsonl")
        ),
        &[],
    );
    assert_eq!(
        before.targets("a"),
        Some(vec!["a/audit".to_owned(), "a/1".to_owned()])
    );
    assert_eq!(
        after.targets("a"),
        Some(vec!["a/0".to_owned(), "a/audit".to_owned()])
    );
    // A task stored as `a/audit` still finds the file action, wherever it now stands.
    assert_eq!(before.find("a/audit").map(|a| a.kind()), Some("file"));
    assert_eq!(after.find("a/audit").map(|a| a.kind()), Some("file"));
    assert_eq!(after.concurrency("a/0"), Some(3));
    assert!(after.find("a/1").is_none());
}

#[test]
fn action_names_that_could_be_mistaken_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let toml = [
        r#""""#,
        r#""ops/slack""#,
        r#""2""#,
        r#""twice""#,
        r#""twice""#,
    ]
    .iter()
    .map(|name| {
        format!("[[receiver.action]]\ntype = \"file\"\nname = {name}\npath = \"x.jsonl\"\n")
    })
    .collect::<String>();
    expect![[r#"
        [
            "receiver[0].action[0].name: must not be empty",
            "receiver[0].action[1].name: must not contain '/'",
            "receiver[0].action[2].name: must not be a number: numbers are the positions of unnamed actions",
            "receiver[0].action[4].name: another action of this receiver has this name",
        ]
    "#]]
    .assert_debug_eq(&problems(
        &format!("[[receiver]]\nname = \"a\"\n{toml}"),
        &[],
        dir.path(),
    ));
}

#[test]
fn targets_and_smtp() {
    let actions = build(
        "[[receiver]]\nname = \"a\"\n[[receiver.action]]\ntype = \"file\"\npath = \"x.jsonl\"\n[[receiver.action]]\ntype = \"file\"\npath = \"y.jsonl\"\n[[receiver]]\nname = \"empty\"\n",
        &[],
    );
    assert_eq!(
        actions.targets("a"),
        Some(vec!["a/0".to_owned(), "a/1".to_owned()])
    );
    assert_eq!(actions.targets("empty"), Some(vec![]));
    assert_eq!(actions.targets("nobody"), None);
    assert!(!actions.needs_smtp());
}

#[test]
fn the_context_round_trips_through_json() {
    let ctx = resolved();
    let json = serde_json::to_value(&ctx).unwrap();
    assert_eq!(json["notice"], "resolved");
    assert_eq!(json["site_name"], serde_json::Value::Null);
    assert_eq!(serde_json::from_value::<Context>(json).unwrap(), ctx);
    let bad = serde_json::json!({"event": {}, "notice": "loud", "site_name": null, "project_name": null, "owner_name": null, "receiver": "r", "received_at": "t"});
    let err = serde_json::from_value::<Context>(bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown notice \"loud\""), "{err}");
}
