//! Documentation hygiene: every Rust source file starts with a `//!` line saying what it owns,
//! and every path that ARCHITECTURE.md's code map names exists.

use std::path::PathBuf;

use crate::{root, rust_files};

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = dir.unwrap().path();
        for sub in ["src", "tests"] {
            if dir.join(sub).is_dir() {
                rust_files(&dir.join(sub), &mut files);
            }
        }
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    // A file that another pulls in with `include!` cannot hold inner doc comments; it starts
    // with a plain `//` comment instead.
    let included: Vec<std::path::PathBuf> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let dir = file.parent().unwrap().to_path_buf();
            text.lines()
                .filter_map(|line| {
                    let rest = line.trim().strip_prefix("include!(\"")?;
                    Some(dir.join(rest.split('"').next()?))
                })
                .collect::<Vec<_>>()
        })
        .filter_map(|path| path.canonicalize().ok())
        .collect();
    let undocumented: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let is_included = file
                .canonicalize()
                .is_ok_and(|file| included.contains(&file));
            !(text.starts_with("//!") || is_included && text.starts_with("// "))
        })
        .map(|file| file.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        undocumented.is_empty(),
        "files without a leading //! line: {undocumented:?}"
    );
}

#[test]
fn every_path_in_the_code_map_exists() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut checked = 0;
    let mut crate_dir: Option<String> = None;
    for line in architecture.lines() {
        if let Some(heading) = line
            .strip_prefix("### `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            assert!(
                root().join(heading).exists(),
                "ARCHITECTURE.md names {heading}, which does not exist"
            );
            crate_dir = Some(heading.to_owned());
            checked += 1;
            continue;
        }
        // A directory named earlier on the line is the base for the file names after it.
        let mut line_dir: Option<PathBuf> = None;
        for (i, part) in line.split('`').enumerate() {
            let looks_like_path = i % 2 == 1
                && (part.ends_with(".rs")
                    || part.ends_with('/')
                    || part.ends_with(".toml")
                    || part.ends_with(".md"));
            // URL paths (`/vizhook/v1/`) are not files.
            if !looks_like_path || part.contains(' ') || part.starts_with('/') {
                continue;
            }
            let mut candidates = vec![root().join(part)];
            if let Some(dir) = &crate_dir {
                candidates.push(root().join(dir).join(part));
                candidates.push(root().join(dir).join("src").join(part));
            }
            if let Some(dir) = &line_dir {
                candidates.push(dir.join(part));
            }
            let found = candidates.into_iter().find(|c| c.exists());
            let found = found
                .unwrap_or_else(|| panic!("ARCHITECTURE.md names `{part}`, which does not exist"));
            if part.ends_with('/') {
                line_dir = Some(found);
            }
            checked += 1;
        }
    }
    assert!(checked > 15, "only {checked} paths checked");
}
