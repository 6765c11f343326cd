//! Which routes the routers of `vizhook serve` declare, read from the sources, so that the
//! role matrix knows when a route has no row.

use std::collections::BTreeSet;

/// Every `(method, route)` the routers of `vizhook serve` declare, read from the sources: the
/// Tableau resources are nested under `/api/{version}`.
pub(super) fn declared_routes() -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut found = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let prefix = if path.starts_with(root.join("tableau")) {
                "/api/{version}"
            } else {
                ""
            };
            for (route, methods) in route_calls(&source) {
                for method in methods {
                    found.insert((method, format!("{prefix}{route}")));
                }
            }
        }
    }
    found
}

/// The `.route("path", get(a).post(b))` calls of one source file.
fn route_calls(source: &str) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let after = &rest[at + ".route(".len()..];
        let mut depth = 1usize;
        let end = after
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(after.len(), |(i, _)| i);
        let inside = &after[..end];
        let path = inside.split('"').nth(1).unwrap_or_default().to_owned();
        let methods = ["get", "post", "put", "delete", "patch"]
            .into_iter()
            .filter(|method| {
                inside.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !inside.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && inside.as_bytes()[i - 1] != b'_'
                })
            })
            .map(str::to_uppercase)
            .collect();
        calls.push((path, methods));
        rest = &after[end..];
    }
    calls
}
