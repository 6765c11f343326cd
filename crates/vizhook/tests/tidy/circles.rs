//! No files of a crate import each other in a circle: the `crate::`, `super::` and `self::`
//! paths between a crate's files, outside tests, form no cycle.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use crate::{
    is_test_file,
    paths::{code_only, module_paths, without_tests},
    rust_files, shown, source_dirs,
};

/// The module path of a file under `src` (`lib.rs`, `main.rs` → `[]`; `a/mod.rs`, `a.rs` →
/// `["a"]`; `a/b.rs` → `["a", "b"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    let root = parts.is_empty() && matches!(stem, "lib" | "main");
    if stem != "mod" && !root {
        parts.push(stem.to_owned());
    }
    parts
}

/// The import edges between one crate's non-test files.
fn edges(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .filter(|file| !is_test_file(src, file))
        .map(|file| (module_of(src, file), file.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for (module, file) in &modules {
        let code = without_tests(&code_only(&std::fs::read_to_string(file).unwrap()));
        let mut targets = BTreeSet::new();
        for path in module_paths(&code) {
            let Some(absolute) = resolve(module, &path) else {
                continue;
            };
            // The deepest module the path names, or passes through.
            let target = (0..=absolute.len())
                .rev()
                .find_map(|len| modules.get(&absolute[..len]));
            if let Some(target) = target.filter(|target| *target != file) {
                targets.insert(target.clone());
            }
        }
        edges.insert(file.clone(), targets);
    }
    edges
}

/// `path` (starting with `crate`, `super` or `self`) as a path from the crate's root, seen
/// from `module`.
fn resolve(module: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path[0].as_str() {
        "crate" => Vec::new(),
        _ => module.to_vec(),
    };
    let mut rest = &path[1..];
    if path[0] == "super" {
        base.pop()?;
        while rest.first().is_some_and(|seg| seg == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The strongly connected components with more than one file (Tarjan's algorithm).
fn circles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        found: Vec<Vec<PathBuf>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a PathBuf) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.edges.get(node).into_iter().flatten() {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.clone());
                    if top == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.found
}

#[test]
fn no_files_of_a_crate_import_each_other_in_a_circle() {
    let mut found = Vec::new();
    let mut edge_count = 0;
    for src in source_dirs() {
        let edges = edges(&src);
        edge_count += edges.values().map(BTreeSet::len).sum::<usize>();
        for circle in circles(&edges) {
            let files: Vec<String> = circle.iter().map(|file| shown(file)).collect();
            found.push(files.join(" ⇄ "));
        }
    }
    assert!(
        edge_count > 100,
        "only {edge_count} imports between files were read"
    );
    assert!(
        found.is_empty(),
        "files importing each other in a circle: {found:#?}"
    );
}

#[test]
fn a_circle_is_found_and_paths_resolve_from_their_module() {
    let src = Path::new("/r/src");
    assert_eq!(module_of(src, &src.join("lib.rs")), Vec::<String>::new());
    assert_eq!(module_of(src, &src.join("a/mod.rs")), ["a"]);
    assert_eq!(module_of(src, &src.join("a/b.rs")), ["a", "b"]);
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let module = path("a::b");
    assert_eq!(resolve(&module, &path("super::c")), Some(path("a::c")));
    assert_eq!(resolve(&module, &path("super::super::d")), Some(path("d")));
    assert_eq!(resolve(&module, &path("self::e")), Some(path("a::b::e")));
    assert_eq!(resolve(&module, &path("crate::f::G")), Some(path("f::G")));

    let (a, b, c) = (
        PathBuf::from("a.rs"),
        PathBuf::from("b.rs"),
        PathBuf::from("c.rs"),
    );
    let mut edges = BTreeMap::new();
    edges.insert(a.clone(), BTreeSet::from([b.clone()]));
    edges.insert(b.clone(), BTreeSet::from([c.clone()]));
    edges.insert(c.clone(), BTreeSet::from([a.clone()]));
    assert_eq!(circles(&edges), [vec![a.clone(), b.clone(), c.clone()]]);
    edges.insert(c, BTreeSet::new());
    assert!(circles(&edges).is_empty());
}
