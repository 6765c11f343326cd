//! Every non-test source file stays readable in one sitting: at most 400 lines, inline
//! `mod tests` blocks included (they move to a sibling `tests.rs` when they would push a file
//! over).

use crate::{is_test_file, rust_files, shown, source_dirs};

const MAX_LINES: usize = 400;

#[test]
fn no_source_file_is_over_400_lines() {
    let mut checked = 0;
    let mut long = Vec::new();
    for src in source_dirs() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files.iter().filter(|file| !is_test_file(&src, file)) {
            let lines = std::fs::read_to_string(file).unwrap().lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", shown(file)));
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} files checked");
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them, or move their tests to a sibling tests.rs): {long:#?}"
    );
}

#[test]
fn test_files_are_told_apart_from_sources() {
    use std::path::Path;
    let src = Path::new("/r/crates/x/src");
    for test in [
        "a/tests.rs",
        "tests.rs",
        "a/tests/mod.rs",
        "testkit/fixtures.rs",
    ] {
        assert!(crate::is_test_file(src, &src.join(test)), "{test}");
    }
    for source in ["a/testing.rs", "lib.rs", "contests/a.rs", "a/tests_of.rs"] {
        assert!(!crate::is_test_file(src, &src.join(source)), "{source}");
    }
}
