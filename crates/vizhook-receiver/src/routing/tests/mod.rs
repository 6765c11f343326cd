//! Table-driven tests of the routing tree: tree walking, inheritance, group keys, recovery,
//! and routing combined with the group decisions. Matchers and configuration errors are in
//! `matchers.rs`.

mod matchers;

use std::{collections::HashMap, time::Duration};

use time::macros::datetime;
use vizhook_core::notify::{GroupState, Intent, Notice, decide};

use super::*;

const RECEIVERS: [&str; 5] = ["default", "ops", "finance", "audit", "pager"];

#[derive(serde::Deserialize)]
struct File {
    route: RouteConfig,
}

fn config(toml_text: &str) -> RouteConfig {
    toml::from_str::<File>(toml_text)
        .unwrap_or_else(|err| panic!("bad test TOML: {err}"))
        .route
}

fn tree(toml_text: &str) -> RouteTree {
    RouteTree::build(&config(toml_text), &|name| RECEIVERS.contains(&name))
        .unwrap_or_else(|problems| panic!("{problems:?}"))
}

fn event(event_type: &str, resource_luid: &str) -> InboundEvent {
    let body = serde_json::json!({
        "resource": "EXTRACTS",
        "event_type": event_type,
        "resource_name": "Sales",
        "site_luid": "s1",
        "resource_luid": resource_luid,
        "created_at": "2026-11-23T10:00:00Z",
    });
    InboundEvent::parse(body.to_string().as_bytes()).unwrap()
}

/// `(receiver, intent)` of each result, in order.
fn receivers(routed: &[Routed]) -> Vec<(&str, Intent)> {
    routed
        .iter()
        .map(|r| (r.receiver.as_str(), r.intent))
        .collect()
}

const TREE: &str = r#"
[route]
receiver = "default"
  [[route.routes]]
  matchers = ['event_type =~ ".*RefreshFailed"']
  receiver = "ops"
  continue = true
  [[route.routes]]
  matchers = ['site_name = "Finance"']
  receiver = "finance"
  [[route.routes]]
  matchers = ['resource = "EXTRACTS"']
  receiver = "audit"
"#;

#[test]
fn first_match_wins_and_continue() {
    let tree = tree(TREE);
    // (event type, site name, receivers)
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("WorkbookCreated", None, &["audit"]),
        ("DatasourceRefreshFailed", None, &["ops", "audit"]),
        (
            "DatasourceRefreshFailed",
            Some("Finance"),
            &["ops", "finance"],
        ),
        ("DatasourceRefreshStarted", Some("Finance"), &["finance"]),
    ];
    for (event_type, site_name, expected) in cases {
        let routed = tree.route(&event(event_type, "99"), *site_name);
        let names: Vec<&str> = routed.iter().map(|r| r.receiver.as_str()).collect();
        assert_eq!(names, *expected, "{event_type} on {site_name:?}");
    }
    let mut other = event("UserDeleted", "7");
    other.resource = "USERS".into();
    assert_eq!(
        receivers(&tree.route(&other, None)),
        [("default", Intent::Fire)],
        "a node with no matching child is itself the result"
    );
}

#[test]
fn nested_inheritance() {
    let tree = tree(
        r#"
[route]
receiver = "default"
group_by = ["event_type"]
repeat_interval = "4h"
send_resolved = true
  [[route.routes]]
  matchers = ['resource = EXTRACTS']
  repeat_interval = "1h"
    [[route.routes.routes]]
    matchers = ['event_type =~ "Datasource.*"']
    receiver = "ops"
    send_resolved = false
      [[route.routes.routes.routes]]
      matchers = ['resource_luid = "42"']
      group_by = ["resource_luid", "site_name"]
"#,
    );
    // (resource luid, receiver, group key, repeat interval)
    let cases: &[(&str, &str, &str, u64)] = &[
        (
            "1",
            "ops",
            r#"0.0.0:{event_type="DatasourceRefreshFailed"}"#,
            3600,
        ),
        (
            "42",
            "ops",
            r#"0.0.0.0:{resource_luid="42",site_name=""}"#,
            3600,
        ),
    ];
    for (luid, receiver, key, seconds) in cases {
        let routed = tree.route(&event("DatasourceRefreshFailed", luid), None);
        assert_eq!(
            routed,
            [Routed {
                receiver: (*receiver).into(),
                group_key: (*key).into(),
                intent: Intent::Fire,
                repeat_interval: Duration::from_secs(*seconds),
            }],
            "luid {luid}"
        );
    }
    // send_resolved = false is inherited below "ops"; the "default" root keeps true.
    let success = tree.route(&event("DatasourceRefreshSucceeded", "42"), None);
    assert_eq!(receivers(&success), [("ops", Intent::Fire)]);
    let workbook = tree.route(&event("WorkbookRefreshSucceeded", "1"), None);
    assert_eq!(receivers(&workbook), [("default", Intent::Resolve)]);
    assert_eq!(workbook[0].repeat_interval, Duration::from_secs(3600));
}

#[test]
fn group_keys() {
    // Without a repeat interval or recovery messages nothing is grouped.
    let plain = tree("[route]\nreceiver = \"default\"");
    let failed = event("DatasourceRefreshFailed", "99");
    assert_eq!(plain.route(&failed, None)[0].group_key, "");
    let all = tree("[route]\nreceiver = \"default\"\nrepeat_interval = \"1h\"");
    let mut quoted = event("DatasourceRefreshFailed", "99");
    quoted.resource_name = "Sales \"Q1\"\\".into();
    assert_eq!(
        all.route(&quoted, Some("Finance"))[0].group_key,
        r#"0:{event_type="DatasourceRefreshFailed",resource="EXTRACTS",resource_name="Sales \"Q1\"\\",site_luid="s1",resource_luid="99"}"#
    );
    let explicit = tree(
        "[route]\nreceiver = \"default\"\nsend_resolved = true\ngroup_by = [\"resource_luid\", \"event_type\"]",
    );
    assert_eq!(
        explicit.route(&quoted, None)[0].group_key,
        r#"0:{event_type="DatasourceRefreshFailed",resource_luid="99"}"#,
        "labels in canonical order, whatever the configured order"
    );
    let none = tree("[route]\nreceiver = \"default\"\nrepeat_interval = \"1h\"\ngroup_by = []");
    assert_eq!(none.route(&quoted, None)[0].group_key, "0:{}");
}

#[test]
fn a_named_route_keeps_its_group_keys_when_routes_are_reordered() {
    let routes = |first: &str, second: &str| {
        tree(&format!(
            "[route]\nreceiver = \"default\"\nrepeat_interval = \"1h\"\ngroup_by = [\"resource_luid\"]\n{first}{second}"
        ))
    };
    let named = "  [[route.routes]]\n  name = \"refresh\"\n  matchers = ['event_type =~ \".*Refresh.*\"']\n  receiver = \"ops\"\n    [[route.routes.routes]]\n    matchers = ['resource_luid = \"99\"']\n";
    let other = "  [[route.routes]]\n  matchers = ['event_type = \"WorkbookCreated\"']\n";
    let failed = event("DatasourceRefreshFailed", "99");
    let elsewhere = event("DatasourceRefreshFailed", "1");
    for tree in [routes(named, other), routes(other, named)] {
        assert_eq!(
            tree.route(&failed, None)[0].group_key,
            r#"refresh.0:{resource_luid="99"}"#
        );
        assert_eq!(
            tree.route(&elsewhere, None)[0].group_key,
            r#"refresh:{resource_luid="1"}"#
        );
    }
    // Unnamed, the same route's key follows its position.
    assert_eq!(
        routes(other, &named.replace("  name = \"refresh\"\n", "")).route(&elsewhere, None)[0]
            .group_key,
        r#"0.1:{resource_luid="1"}"#
    );
}

#[test]
fn recovery() {
    let routes = tree(
        r#"
[route]
receiver = "default"
group_by = ["event_type", "resource_luid"]
  [[route.routes]]
  matchers = ['event_type =~ ".*RefreshFailed"']
  receiver = "pager"
  send_resolved = true
  continue = true
  [[route.routes]]
  matchers = ['event_type =~ ".*Refresh.*"']
  receiver = "ops"
"#,
    );
    let failed = routes.route(&event("DatasourceRefreshFailed", "99"), None);
    assert_eq!(
        receivers(&failed),
        [("pager", Intent::Fire), ("ops", Intent::Fire)]
    );
    let succeeded = routes.route(&event("DatasourceRefreshSucceeded", "99"), None);
    assert_eq!(
        succeeded,
        [
            Routed {
                receiver: "ops".into(),
                // "ops" has neither a repeat interval nor recovery messages: not grouped.
                group_key: String::new(),
                intent: Intent::Fire,
                repeat_interval: Duration::ZERO,
            },
            Routed {
                receiver: "pager".into(),
                group_key: failed[0].group_key.clone(),
                intent: Intent::Resolve,
                repeat_interval: Duration::ZERO,
            },
        ],
        "the pager resolves the failure's group and gets no Fire; ops (no send_resolved) fires"
    );
    let legacy = routes.route(&event("datasource-refresh-succeeded", "99"), None);
    assert_eq!(receivers(&legacy), [("default", Intent::Fire)]);

    let same_receiver = tree(
        r#"
[route]
receiver = "default"
send_resolved = true
  [[route.routes]]
  matchers = ['event_type = "DatasourceRefreshFailed"']
  continue = true
  [[route.routes]]
  matchers = ['event_type =~ "Datasource.*"']
"#,
    );
    let routed = same_receiver.route(&event("DatasourceRefreshSucceeded", "99"), None);
    assert_eq!(
        receivers(&routed),
        [("default", Intent::Resolve), ("default", Intent::Resolve)],
        "the Fire is dropped for a receiver that resolves; distinct groups stay"
    );
    assert_ne!(routed[0].group_key, routed[1].group_key);
}

#[test]
fn refresh_failing_every_five_minutes_for_an_hour_pages_once_then_resolves() {
    let tree = tree(
        r#"
[route]
receiver = "default"
group_by = ["event_type", "resource_luid"]
repeat_interval = "1h"
send_resolved = true
"#,
    );
    let start = datetime!(2026-11-23 10:00 UTC);
    let mut groups: HashMap<(String, String), GroupState> = HashMap::new();
    let mut notices = Vec::new();
    let failures = (0..12).map(|step| (step * 5, "DatasourceRefreshFailed"));
    for (minute, event_type) in failures.chain([(60, "DatasourceRefreshSucceeded")]) {
        let now = start + time::Duration::minutes(minute);
        for routed in tree.route(&event(event_type, "99"), None) {
            let key = (routed.receiver.clone(), routed.group_key.clone());
            let (notice, state) = decide(
                routed.intent,
                groups.get(&key).copied(),
                routed.repeat_interval,
                now,
            );
            groups.insert(key, state);
            notices.extend(notice.map(|notice| (minute, notice)));
        }
    }
    assert_eq!(notices, [(0, Notice::Firing), (60, Notice::Resolved)]);
}
