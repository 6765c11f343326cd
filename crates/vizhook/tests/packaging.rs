//! What ships beside the binary: the example systemd units in `examples/systemd/` verify with
//! `systemd-analyze`, and every `vizhook` command line in them (the `ExecStart` and the
//! install steps in their comments) parses with the built binary.

mod common;

use std::{io::Write, path::Path, process::Command};

use common::run_to_end;

const INSTALLED: &str = "/usr/local/bin/vizhook";

fn units() -> Vec<(String, String)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/systemd");
    let mut units: Vec<(String, String)> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "service"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    units.sort();
    let names: Vec<&str> = units.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["vizhook-receive.service", "vizhook-serve.service"]);
    units
}

/// The arguments of every `vizhook …` command line in a unit: its `ExecStart`, and the
/// install steps in its comments (`#   vizhook …`, up to a shell redirection).
fn command_lines(unit: &str) -> Vec<Vec<String>> {
    unit.lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("ExecStart=")
                .map(|exec| {
                    exec.strip_prefix(INSTALLED)
                        .expect("ExecStart runs the binary")
                })
                .or_else(|| line.strip_prefix("#   vizhook "))?;
            let rest = rest.split(['>', '#']).next().unwrap_or_default();
            Some(rest.split_whitespace().map(str::to_owned).collect())
        })
        .collect()
}

#[test]
fn every_vizhook_command_in_the_systemd_units_parses() {
    for (name, unit) in units() {
        let lines = command_lines(&unit);
        assert!(lines.len() >= 2, "{name}: ExecStart and an install step");
        for args in lines {
            let mut command = Command::new(env!("CARGO_BIN_EXE_vizhook"));
            command.args(&args).arg("--help");
            let (status, stdout, stderr) = run_to_end(command);
            assert!(
                status.success(),
                "{name}: `vizhook {}` does not parse: {stderr}",
                args.join(" ")
            );
            assert!(stdout.contains("Usage: vizhook"), "{name}: {stdout}");
        }
    }
}

#[test]
fn the_systemd_units_verify() {
    let analyze = Command::new("systemd-analyze").arg("--version").output();
    if !analyze.is_ok_and(|out| out.status.success()) {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: systemd-analyze is not installed, so the units cannot be verified"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("vizhook.env");
    std::fs::write(&env_file, "VIZHOOK_KEY=unused\n").unwrap();
    for (name, unit) in units() {
        // The unit as installed, with the binary and the secrets file where this test has them.
        let unit = unit
            .replace(INSTALLED, env!("CARGO_BIN_EXE_vizhook"))
            .lines()
            .map(|line| match line.strip_prefix("EnvironmentFile=") {
                Some(_) => format!("EnvironmentFile={}", env_file.display()),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let path = dir.path().join(&name);
        std::fs::write(&path, unit).unwrap();
        let mut command = Command::new("systemd-analyze");
        command.args(["verify", "--man=no"]).arg(&path);
        let (status, stdout, stderr) = run_to_end(command);
        assert!(
            status.success() && stderr.trim().is_empty(),
            "{name} does not verify:\n{stdout}{stderr}"
        );
    }
}
