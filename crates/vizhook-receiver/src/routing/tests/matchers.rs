//! Tests of matchers (operators, anchoring, quoting, escapes, missing labels) and of
//! configuration errors with their paths.

use super::{File, RECEIVERS, config, event};
use crate::routing::{Labels, RouteTree, matcher::Matcher};

#[test]
fn matchers() {
    // (matcher, event type, site name, expected)
    let cases: &[(&str, &str, Option<&str>, bool)] = &[
        (
            r#"event_type = "DatasourceRefreshFailed""#,
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (
            r#"event_type="DatasourceRefreshFailed""#,
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (
            "event_type = DatasourceRefreshFailed",
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (
            "event_type=DatasourceRefreshFailed",
            "WorkbookRefreshFailed",
            None,
            false,
        ),
        (
            r#"event_type != "DatasourceRefreshFailed""#,
            "WorkbookRefreshFailed",
            None,
            true,
        ),
        (
            r#"event_type != "DatasourceRefreshFailed""#,
            "DatasourceRefreshFailed",
            None,
            false,
        ),
        (
            r#"event_type =~ ".*RefreshFailed""#,
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (
            r#"event_type =~ "Refresh""#,
            "DatasourceRefreshFailed",
            None,
            false,
        ),
        (
            r#"event_type =~ "Datasource.*""#,
            "XDatasourceRefreshFailed",
            None,
            false,
        ),
        (
            r#"event_type =~ "A|DatasourceRefreshFailed""#,
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (r#"event_type =~ "A|B""#, "AB", None, false),
        (
            r#"event_type !~ ".*Failed""#,
            "DatasourceRefreshFailed",
            None,
            false,
        ),
        (
            r#"event_type !~ "Failed""#,
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (
            r#"event_type =~ "\w+Failed""#,
            "DatasourceRefreshFailed",
            None,
            true,
        ),
        (r#"resource_name = "Sales \"Q1\"""#, "", None, false),
        (r#"site_name = "Sandbox""#, "", Some("Sandbox"), true),
        (r#"site_name != "Sandbox""#, "", None, true),
        (r#"site_name = """#, "", None, true),
        ("site_name =", "", None, true),
        (r#"site_name =~ ".*""#, "", None, true),
        (r#"site_name =~ ".+""#, "", None, false),
        (r#"site_name !~ "Sand.*""#, "", Some("Sandbox"), false),
        (r#"site_name = "A \\ B""#, "", Some(r"A \ B"), true),
    ];
    for (text, event_type, site_name, expected) in cases {
        let matcher = Matcher::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
        let labels = Labels {
            event: &event(event_type, "99"),
            event_type,
            site_name: *site_name,
        };
        assert_eq!(
            matcher.matches(labels.get(matcher.label())),
            *expected,
            "{text} on {event_type:?} / {site_name:?}"
        );
    }
    let quoted = Matcher::parse(r#"resource_name = "Sales \"Q1\"""#).unwrap();
    assert!(quoted.matches(r#"Sales "Q1""#));
}

#[test]
fn bad_matchers() {
    // (matcher, part of the message)
    let cases: &[(&str, &str)] = &[
        (r#"project = "x""#, "unknown label \"project\""),
        (r#"event_type == "x""#, "unexpected '\"'"),
        (r#"event_type ~ "x""#, "expected an operator"),
        (r#"= "x""#, "expected a label name"),
        (r#"event_type = "x"#, "no closing quote"),
        (r#"event_type = "x" y"#, "after the closing quote"),
        (r#"event_type =~ "(""#, "invalid regular expression"),
        ("", "expected a label name"),
    ];
    for (text, expected) in cases {
        let err = Matcher::parse(text).unwrap_err();
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn configuration_errors_have_paths() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "[route]\ngroup_by = [\"...\"]",
            &[("route.receiver", "needs a receiver")],
        ),
        (
            r#"
[route]
receiver = "nobody"
matchers = ['event_type = "X"']
group_by = ["event_type", "project", "event_type"]
  [[route.routes]]
  receiver = "ops"
  [[route.routes]]
  matchers = ['event_type = "X"', 'owner = "y"', 'site_name =~ "["']
  group_by = ["...", "site_luid"]
    [[route.routes.routes]]
    receiver = "ghost"
"#,
            &[
                ("route.matchers", "cannot have matchers"),
                ("route.receiver", "unknown receiver \"nobody\""),
                ("route.group_by[1]", "unknown label \"project\""),
                ("route.group_by[2]", "listed twice"),
                ("route.routes[1].group_by", "cannot be combined"),
                ("route.routes[1].matchers[1]", "unknown label \"owner\""),
                ("route.routes[1].matchers[2]", "invalid regular expression"),
                (
                    "route.routes[1].routes[0].receiver",
                    "unknown receiver \"ghost\"",
                ),
            ],
        ),
        (
            r#"
[route]
receiver = "default"
  [[route.routes]]
  name = "2fast"
  [[route.routes]]
  name = "a.b"
  [[route.routes]]
  name = "refresh"
    [[route.routes.routes]]
    name = "refresh"
"#,
            &[
                ("route.routes[0].name", "must not start with a digit"),
                ("route.routes[1].name", "must not contain"),
                (
                    "route.routes[2].routes[0].name",
                    "another route has this name",
                ),
            ],
        ),
    ];
    for (text, expected) in cases {
        let problems =
            RouteTree::build(&config(text), &|name| RECEIVERS.contains(&name)).expect_err(text);
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (problem, (path, message)) in problems.iter().zip(expected.iter()) {
            assert_eq!(problem.path, *path, "{problems:#?}");
            assert!(problem.message.contains(message), "{problem:?}");
        }
    }
    let unknown_key = toml::from_str::<File>("[route]\nreceiver = \"default\"\nreciever = \"x\"");
    assert!(unknown_key.is_err(), "unknown keys are refused");
}
