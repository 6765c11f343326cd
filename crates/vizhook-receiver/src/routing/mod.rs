//! The receiver's routing tree, Alertmanager-style: which receivers an event notifies, in
//! which group, with which intent (a success also resolves its failure's group), from the
//! `[route]` table of the configuration.

mod build;
mod matcher;
#[cfg(test)]
mod tests;

use std::time::Duration;

use vizhook_core::notify::{Intent, failure_of};

use self::matcher::Matcher;
use vizhook_tableau::payload::InboundEvent;

/// The labels `group_by = ["..."]` stands for: every label of the event itself.
const ALL_GROUP_LABELS: [&str; 5] = [
    "event_type",
    "resource",
    "resource_name",
    "site_luid",
    "resource_luid",
];

/// A `[route]` table, or one of its `routes`. Unset fields are inherited from the parent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The route's name, unique in the tree. Its alert groups are stored under it (and its
    /// unnamed children's under `NAME.0`, `NAME.1`, …), so they survive reordering routes.
    /// Defaults to the route's position (`0.2`).
    #[serde(default)]
    pub name: Option<String>,
    /// Required at the root.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Default `["..."]`: all labels.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Default zero: every event notifies.
    #[serde(default, with = "humantime_serde")]
    pub repeat_interval: Option<Duration>,
    /// Default false.
    #[serde(default)]
    pub send_resolved: Option<bool>,
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Keep looking at later siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// A validated routing tree.
#[derive(Debug)]
pub struct RouteTree {
    root: Node,
}

/// One notification an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    pub receiver: String,
    /// Empty when the route has neither a repeat interval nor recovery messages.
    pub group_key: String,
    pub intent: Intent,
    pub repeat_interval: Duration,
}

/// A configuration error, at its place in the configuration (`route.routes[1].matchers[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteProblem {
    pub path: String,
    pub message: String,
}

#[derive(Debug)]
struct Node {
    /// The node's place in the tree: `0` for the root, `0.2` for its third child.
    position: String,
    receiver: String,
    group_by: Vec<&'static str>,
    repeat_interval: Duration,
    send_resolved: bool,
    matchers: Vec<Matcher>,
    continue_matching: bool,
    routes: Vec<Node>,
}

/// The labels routing sees: the event's, with its event type possibly replaced (to route a
/// success as the failure it recovers) and `site_name` from enrichment.
#[derive(Clone, Copy)]
struct Labels<'a> {
    event: &'a InboundEvent,
    event_type: &'a str,
    site_name: Option<&'a str>,
}

impl Labels<'_> {
    fn get(&self, name: &str) -> &str {
        if name == "event_type" {
            return self.event_type;
        }
        self.event.label(name, self.site_name).unwrap_or_default()
    }
}

impl RouteTree {
    /// Validates `config` (the `[route]` table); `is_receiver` says which receiver names exist.
    /// Every problem is reported, each with its path.
    pub fn build(
        config: &RouteConfig,
        is_receiver: &dyn Fn(&str) -> bool,
    ) -> Result<Self, Vec<RouteProblem>> {
        build::tree(config, is_receiver).map(|root| Self { root })
    }

    /// The notifications `event` asks for. A `…Succeeded` event is also routed as its
    /// `…Failed` counterpart: each such route with `send_resolved` yields a `Resolve` for the
    /// failure's group, and replaces the ordinary `Fire` for the same receiver.
    pub fn route(&self, event: &InboundEvent, site_name: Option<&str>) -> Vec<Routed> {
        let labels = Labels {
            event,
            event_type: &event.event_type,
            site_name,
        };
        let mut resolves = Vec::new();
        if let Some(failure) = failure_of(&event.event_type) {
            let failed = Labels {
                event_type: &failure,
                ..labels
            };
            let mut nodes = Vec::new();
            self.root.collect(failed, &mut nodes);
            resolves.extend(
                nodes
                    .into_iter()
                    .filter(|node| node.send_resolved)
                    .map(|node| node.routed(failed, Intent::Resolve)),
            );
        }
        let mut nodes = Vec::new();
        self.root.collect(labels, &mut nodes);
        let fires: Vec<Routed> = nodes
            .into_iter()
            .filter(|node| !resolves.iter().any(|r| r.receiver == node.receiver))
            .map(|node| node.routed(labels, Intent::Fire))
            .collect();
        let mut routed: Vec<Routed> = Vec::new();
        for candidate in fires.into_iter().chain(resolves) {
            if !routed.contains(&candidate) {
                routed.push(candidate);
            }
        }
        routed
    }
}

impl Node {
    fn matches(&self, labels: Labels<'_>) -> bool {
        self.matchers
            .iter()
            .all(|matcher| matcher.matches(labels.get(matcher.label())))
    }

    /// Adds the nodes `labels` ends at below (and including) this one, which must match.
    fn collect<'n>(&'n self, labels: Labels<'_>, out: &mut Vec<&'n Node>) {
        let mut any = false;
        for child in &self.routes {
            if child.matches(labels) {
                child.collect(labels, out);
                any = true;
                if !child.continue_matching {
                    break;
                }
            }
        }
        if !any {
            out.push(self);
        }
    }

    fn routed(&self, labels: Labels<'_>, intent: Intent) -> Routed {
        // A group matters only for a repeat interval or a recovery message: without either,
        // the notification is not grouped and the store keeps no state for it.
        let grouped =
            intent == Intent::Resolve || self.send_resolved || !self.repeat_interval.is_zero();
        Routed {
            receiver: self.receiver.clone(),
            group_key: if grouped {
                self.group_key(labels)
            } else {
                String::new()
            },
            intent,
            repeat_interval: self.repeat_interval,
        }
    }

    /// `0.2:{event_type="DatasourceRefreshFailed",resource_luid="99"}`: stored, so stable.
    fn group_key(&self, labels: Labels<'_>) -> String {
        let pairs: Vec<String> = self
            .group_by
            .iter()
            .map(|name| format!("{name}=\"{}\"", escape(labels.get(name))))
            .collect();
        format!("{}:{{{}}}", self.position, pairs.join(","))
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
