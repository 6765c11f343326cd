//! The crate graph, read from `cargo metadata`, against ARCHITECTURE.md's crate map: every
//! dependency between vizhook's crates is an arrow the map allows, every arrow points to a lower
//! layer, the wire and store crates do not reach axum, and delivery and the receiver do not reach
//! the server.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::root;

/// One row of the crate map.
#[derive(Debug)]
struct Row {
    /// `None` for the dev-only layer: a crate only tests depend on.
    layer: Option<u32>,
    may_use: BTreeSet<String>,
}

/// The crate map: the table under ARCHITECTURE.md's `## Crate map` heading, whose columns are
/// the crate, its layer (a number, or `dev`), what it owns and the crates it may depend on.
fn crate_map() -> BTreeMap<String, Row> {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = architecture
        .split("\n## Crate map")
        .nth(1)
        .expect("ARCHITECTURE.md has a `## Crate map` section");
    let section = section.split("\n## ").next().unwrap();
    let mut map = BTreeMap::new();
    for line in section.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(
            cells.len(),
            4,
            "crate map row with {} cells: {line}",
            cells.len()
        );
        let name = cells[0].trim_matches('`').to_owned();
        let layer = match cells[1] {
            "dev" => None,
            number => Some(
                number
                    .parse()
                    .unwrap_or_else(|_| panic!("layer of {name}: {number}")),
            ),
        };
        let may_use = cells[3]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        map.insert(name, Row { layer, may_use });
    }
    assert!(map.len() >= 9, "the crate map has only {} rows", map.len());
    map
}

/// `cargo metadata` for this machine's platform (other platforms' packages are not
/// downloaded, and the test runs offline).
fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .unwrap();
    let host = String::from_utf8(rustc.stdout).unwrap();
    let host = host
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host");
    let output = std::process::Command::new(cargo)
        .current_dir(root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            host,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The graph: for each package id, its name and its dependencies' ids with their kinds
/// (`normal`, `dev`, `build`).
struct Graph {
    names: BTreeMap<String, String>,
    deps: BTreeMap<String, Vec<(String, BTreeSet<String>)>>,
    members: Vec<String>,
}

impl Graph {
    fn read() -> Self {
        let metadata = metadata();
        let names = metadata["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_owned(),
                    p["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let deps = metadata["resolve"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| {
                let deps = node["deps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|dep| {
                        let kinds = dep["dep_kinds"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|kind| kind["kind"].as_str().unwrap_or("normal").to_owned())
                            .collect();
                        (dep["pkg"].as_str().unwrap().to_owned(), kinds)
                    })
                    .collect();
                (node["id"].as_str().unwrap().to_owned(), deps)
            })
            .collect();
        let members = metadata["workspace_members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect();
        Self {
            names,
            deps,
            members,
        }
    }

    fn name(&self, id: &str) -> &str {
        &self.names[id]
    }

    fn id(&self, name: &str) -> &str {
        self.members
            .iter()
            .find(|id| self.name(id) == name)
            .unwrap_or_else(|| panic!("no workspace crate {name}"))
    }

    /// The crates `name` depends on directly, with the kinds of each dependency.
    fn direct(&self, name: &str) -> Vec<(&str, &BTreeSet<String>)> {
        self.deps[self.id(name)]
            .iter()
            .map(|(id, kinds)| (self.name(id), kinds))
            .collect()
    }

    /// Every crate `name` builds against outside its tests (normal and build dependencies,
    /// transitively).
    fn reach(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![self.id(name).to_owned()];
        while let Some(id) = stack.pop() {
            for (dep, kinds) in &self.deps[&id] {
                if kinds.iter().any(|kind| kind != "dev") && seen.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
        seen.iter().map(|id| self.name(id).to_owned()).collect()
    }
}

#[test]
fn dependencies_follow_the_crate_map() {
    let map = crate_map();
    let graph = Graph::read();
    let mut problems = Vec::new();
    let members: BTreeSet<&str> = graph.members.iter().map(|id| graph.name(id)).collect();
    for member in &members {
        let Some(row) = map.get(*member) else {
            problems.push(format!("{member} is not in ARCHITECTURE.md's crate map"));
            continue;
        };
        for allowed in &row.may_use {
            match map.get(allowed) {
                None => problems.push(format!("{member} may use {allowed}, which the map lacks")),
                Some(lower) if !(lower.layer.is_some() && lower.layer < row.layer) => problems
                    .push(format!(
                        "{member} may use {allowed}, which is not in a lower layer"
                    )),
                Some(_) => {}
            }
        }
        for (dep, kinds) in graph.direct(member) {
            let Some(target) = map.get(dep) else { continue };
            let only_dev = kinds.iter().all(|kind| kind == "dev");
            if only_dev {
                // Tests may use the dev-only crates and any crate of a lower layer.
                let below = target.layer.is_some() && target.layer < row.layer;
                if target.layer.is_some() && !below {
                    problems.push(format!("{member}'s tests use {dep}, which is not below it"));
                }
            } else if target.layer.is_none() {
                problems.push(format!(
                    "{member} depends on {dep}, which is for tests only"
                ));
            } else if !row.may_use.contains(dep) {
                problems.push(format!(
                    "{member} depends on {dep}, an arrow the crate map does not allow"
                ));
            }
        }
    }
    for name in map.keys() {
        if !members.contains(name.as_str()) {
            problems.push(format!(
                "the crate map names {name}, which is not a workspace crate"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn wire_and_store_crates_do_not_reach_axum() {
    let graph = Graph::read();
    for name in [
        "vizhook-tableau",
        "vizhook-store",
        "vizhook-store-sqlite",
        "vizhook-core",
    ] {
        let reach = graph.reach(name);
        for framework in ["axum", "axum-core", "axum-server"] {
            assert!(!reach.contains(framework), "{name} depends on {framework}");
        }
    }
}

#[test]
fn delivery_and_the_receiver_do_not_reach_the_server() {
    let graph = Graph::read();
    for name in ["vizhook-delivery", "vizhook-receiver"] {
        let reach = graph.reach(name);
        assert!(
            !reach.contains("vizhook-server"),
            "{name} depends on vizhook-server"
        );
        assert!(!reach.contains("vizhook"), "{name} depends on the binary");
    }
    let receiver = graph.reach("vizhook-receiver");
    assert!(
        !receiver.contains("vizhook-delivery"),
        "the receiver depends on delivery"
    );
}
