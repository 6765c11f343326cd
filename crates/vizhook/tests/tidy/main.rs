//! Repository hygiene, as tests: documentation (`docs.rs`), the crate graph against
//! ARCHITECTURE.md's crate map (`crates.rs`), file sizes (`sizes.rs`) and import circles between
//! the files of a crate (`circles.rs`, with the path reader in `paths.rs`).

use std::path::{Path, PathBuf};

mod circles;
mod crates;
mod docs;
mod paths;
mod sizes;

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Every `.rs` file under `dir`, in a stable order.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The `src` directory of every crate of the workspace (`crates/*` and `bench`).
fn source_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|entry| entry.unwrap().path().join("src"))
        .chain([root().join("bench/src")])
        .filter(|dir| dir.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Whether a file under a crate's `src` is test code: a `tests.rs`, or anything under a
/// `tests/` or `testkit/` directory (the store's conformance suite and the fixtures of tests).
fn is_test_file(src: &Path, file: &Path) -> bool {
    let relative = file.strip_prefix(src).unwrap_or(file);
    relative.file_name().is_some_and(|name| name == "tests.rs")
        || relative
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .any(|part| matches!(part.as_os_str().to_str(), Some("tests" | "testkit")))
}

/// A path relative to the repository's root, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
