//! Building the routing tree from its configuration: inheritance from parent to child, and
//! every configuration problem found, each with its path.

use std::time::Duration;

use super::{ALL_GROUP_LABELS, Node, RouteConfig, RouteProblem, matcher::Matcher};
use vizhook_tableau::payload::LABELS;

/// What a node passes on to its children.
struct Inherited {
    receiver: String,
    group_by: Vec<&'static str>,
    repeat_interval: Duration,
    send_resolved: bool,
}

/// The root of the tree `config` describes, or every problem in it.
pub(super) fn tree(
    config: &RouteConfig,
    is_receiver: &dyn Fn(&str) -> bool,
) -> Result<Node, Vec<RouteProblem>> {
    let mut problems = Vec::new();
    let path = "route";
    if config.receiver.is_none() {
        problem(
            &mut problems,
            format!("{path}.receiver"),
            "the root route needs a receiver (child routes inherit it)",
        );
    }
    if !config.matchers.is_empty() {
        problem(
            &mut problems,
            format!("{path}.matchers"),
            "the root route matches every event and cannot have matchers; put them on child routes",
        );
    }
    if config.continue_matching {
        problem(
            &mut problems,
            format!("{path}.continue"),
            "the root route has no siblings, so continue has no meaning there",
        );
    }
    let defaults = Inherited {
        receiver: String::new(),
        group_by: ALL_GROUP_LABELS.to_vec(),
        repeat_interval: Duration::ZERO,
        send_resolved: false,
    };
    let mut builder = Builder {
        is_receiver,
        problems,
        names: std::collections::HashSet::new(),
    };
    let root = builder.node(config, path, "0".to_owned(), &defaults);
    if builder.problems.is_empty() {
        Ok(root)
    } else {
        Err(builder.problems)
    }
}

fn problem(problems: &mut Vec<RouteProblem>, path: String, message: impl Into<String>) {
    problems.push(RouteProblem {
        path,
        message: message.into(),
    });
}

struct Builder<'a> {
    is_receiver: &'a dyn Fn(&str) -> bool,
    problems: Vec<RouteProblem>,
    /// Route names seen so far.
    names: std::collections::HashSet<String>,
}

/// Why a route's `name` cannot be used: it starts its groups' stored keys
/// (`NAME:{labels}`), where a position (`0.2`) must not be mistaken for it.
fn check_route_name(name: &str) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        Err("must not be empty")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        Err("must not start with a digit: positions of unnamed routes do")
    } else if name.contains(['.', ':', '{', '}']) {
        Err("must not contain '.', ':', '{' or '}'")
    } else {
        Ok(())
    }
}

impl Builder<'_> {
    fn node(
        &mut self,
        config: &RouteConfig,
        path: &str,
        position: String,
        parent: &Inherited,
    ) -> Node {
        let receiver = match &config.receiver {
            Some(name) => {
                if !(self.is_receiver)(name) {
                    self.problem(
                        format!("{path}.receiver"),
                        format!("unknown receiver {name:?}"),
                    );
                }
                name.clone()
            }
            None => parent.receiver.clone(),
        };
        let group_by = match &config.group_by {
            Some(names) => self.group_by(names, path),
            None => parent.group_by.clone(),
        };
        let mut matchers = Vec::new();
        for (index, text) in config.matchers.iter().enumerate() {
            match Matcher::parse(text) {
                Ok(matcher) => matchers.push(matcher),
                Err(message) => self.problem(format!("{path}.matchers[{index}]"), message),
            }
        }
        let position = match &config.name {
            None => position,
            Some(name) => {
                if let Err(message) = check_route_name(name) {
                    self.problem(format!("{path}.name"), message);
                } else if !self.names.insert(name.clone()) {
                    self.problem(format!("{path}.name"), "another route has this name");
                }
                name.clone()
            }
        };
        let inherited = Inherited {
            receiver,
            group_by,
            repeat_interval: config.repeat_interval.unwrap_or(parent.repeat_interval),
            send_resolved: config.send_resolved.unwrap_or(parent.send_resolved),
        };
        let routes = config
            .routes
            .iter()
            .enumerate()
            .map(|(index, child)| {
                self.node(
                    child,
                    &format!("{path}.routes[{index}]"),
                    format!("{position}.{index}"),
                    &inherited,
                )
            })
            .collect();
        Node {
            position,
            receiver: inherited.receiver,
            group_by: inherited.group_by,
            repeat_interval: inherited.repeat_interval,
            send_resolved: inherited.send_resolved,
            matchers,
            continue_matching: config.continue_matching,
            routes,
        }
    }

    /// The labels of a `group_by`, in the canonical order of [`LABELS`].
    fn group_by(&mut self, names: &[String], path: &str) -> Vec<&'static str> {
        if names.iter().any(|name| name == "...") {
            if names.len() > 1 {
                self.problem(
                    format!("{path}.group_by"),
                    "\"...\" already stands for every label and cannot be combined with others",
                );
            }
            return ALL_GROUP_LABELS.to_vec();
        }
        let mut seen = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let at = format!("{path}.group_by[{index}]");
            match LABELS.iter().copied().find(|known| known == name) {
                None => self.problem(
                    at,
                    format!(
                        "unknown label {name:?}; the labels are {}, or \"...\" for all",
                        LABELS.join(", ")
                    ),
                ),
                Some(label) if seen.contains(&label) => {
                    self.problem(at, format!("the label {name:?} is listed twice"));
                }
                Some(label) => seen.push(label),
            }
        }
        LABELS
            .iter()
            .copied()
            .filter(|label| seen.contains(label))
            .collect()
    }

    fn problem(&mut self, path: String, message: impl Into<String>) {
        problem(&mut self.problems, path, message);
    }
}
