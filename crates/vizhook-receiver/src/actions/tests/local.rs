//! Command and file actions. Commands are small scripts written into a temporary folder and run
//! as `/bin/sh script args...` (the action itself never involves a shell; running the script
//! through `sh` only avoids "text file busy" when a test executes a file it just wrote).

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use expect_test::expect;

use super::{HOSTILE, firing, resolved, runtime, try_build};
use crate::actions::{ActionError, Actions, Context};

/// A receiver `local` with one command action running `script` with `args`.
fn command(dir: &Path, script: &str, args: &[&str], extra: &str) -> Actions {
    let path = dir.join("script.sh");
    std::fs::write(&path, script).unwrap();
    let argv: Vec<String> = ["/bin/sh", path.to_str().unwrap()]
        .iter()
        .chain(args)
        .map(|arg| format!("{arg:?}"))
        .collect();
    let toml = format!(
        "[[receiver]]\nname = \"local\"\n[[receiver.action]]\ntype = \"command\"\nargv = [{}]\n{extra}\n",
        argv.join(", ")
    );
    try_build(&toml, &[], dir).unwrap()
}

#[tokio::test]
async fn a_command_gets_the_event_in_its_environment_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let env_out = dir.path().join("env.txt");
    let stdin_out = dir.path().join("stdin.json");
    // Cargo sets CARGO_* variables for tests: they must not reach the command.
    let script = "env | grep -E '^(VIZHOOK_|CARGO_)' | sort > \"$1\"\ncat > \"$2\"\n";
    let actions = command(
        dir.path(),
        script,
        &[env_out.to_str().unwrap(), stdin_out.to_str().unwrap()],
        "",
    );
    let ctx = firing("Sales Q4");
    runtime(None)
        .execute(&actions, "local/0", &ctx)
        .await
        .unwrap();
    expect![[r#"
        VIZHOOK_CREATED_AT=2026-03-01T08:00:00Z
        VIZHOOK_EVENT_TYPE=DatasourceRefreshFailed
        VIZHOOK_NOTICE=firing
        VIZHOOK_OWNER_NAME=Ana <ana@example.com>
        VIZHOOK_PROJECT_NAME=Sales & Ops
        VIZHOOK_RECEIVER=data-team
        VIZHOOK_RESOURCE=DATASOURCE
        VIZHOOK_RESOURCE_LUID=9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111
        VIZHOOK_RESOURCE_NAME=Sales Q4
        VIZHOOK_SITE_LUID=0b2c4d6e-1111-4222-8333-444455556666
        VIZHOOK_SITE_NAME=Finance
    "#]]
    .assert_eq(&std::fs::read_to_string(&env_out).unwrap());
    let stdin = std::fs::read_to_string(&stdin_out).unwrap();
    assert!(stdin.ends_with('\n'));
    assert_eq!(serde_json::from_str::<Context>(&stdin).unwrap(), ctx);
}

#[tokio::test]
async fn a_command_that_times_out_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    let actions = command(
        dir.path(),
        "sleep 1\ntouch \"$1\"\n",
        &[marker.to_str().unwrap()],
        "timeout = \"200ms\"",
    );
    let started = Instant::now();
    let err = runtime(None)
        .execute(&actions, "local/0", &firing("Sales"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, ActionError::Command { reason, .. } if reason == "killed after the 200ms timeout"),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !marker.exists(),
        "the command was killed before it finished"
    );
}

#[tokio::test]
async fn a_timeout_also_kills_what_the_command_started() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    // The script starts a background job that outlives it by a second, then waits past the
    // timeout itself.
    let actions = command(
        dir.path(),
        "(sleep 1; touch \"$1\") &\nsleep 5\n",
        &[marker.to_str().unwrap()],
        "timeout = \"200ms\"",
    );
    let err = runtime(None)
        .execute(&actions, "local/0", &firing("Sales"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Command { reason, .. } if reason == "killed after the 200ms timeout"),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!marker.exists(), "the background job was killed too");
}

#[tokio::test]
async fn a_command_that_exits_may_leave_a_background_job() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    let actions = command(
        dir.path(),
        "(sleep 0.3; touch \"$1\") >/dev/null 2>&1 &\n",
        &[marker.to_str().unwrap()],
        "timeout = \"5s\"",
    );
    runtime(None)
        .execute(&actions, "local/0", &firing("Sales"))
        .await
        .unwrap();
    for _ in 0..50 {
        if marker.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the background job of a command that exited was killed");
}

#[tokio::test]
async fn a_non_zero_exit_is_an_error_with_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let actions = command(
        dir.path(),
        "echo 'boom: disk full' >&2\necho 'second line' >&2\nexit 3\n",
        &[],
        "",
    );
    let err = runtime(None)
        .execute(&actions, "local/0", &firing("Sales"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("command /bin/sh: "), "{text}");
    assert!(
        text.ends_with("exit status: 3, stderr: boom: disk full second line"),
        "{text}"
    );
}

#[tokio::test]
async fn concurrent_runs_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    let script = "touch \"$1/run.$$\"\nls \"$1\" | grep -c '^run\\.' >> \"$2\"\nsleep 0.3\nrm \"$1/run.$$\"\n";
    let counts = dir.path().join("counts");
    let actions = Arc::new(command(
        dir.path(),
        script,
        &[runs.to_str().unwrap(), counts.to_str().unwrap()],
        "max_concurrent = 2",
    ));
    let runtime = runtime(None);
    let started = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (actions, runtime) = (actions.clone(), runtime.clone());
            tokio::spawn(
                async move { runtime.execute(&actions, "local/0", &firing("Sales")).await },
            )
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let counts: Vec<u32> = std::fs::read_to_string(&counts)
        .unwrap()
        .lines()
        .map(|line| line.trim().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 6);
    assert!(counts.iter().all(|&n| n <= 2), "{counts:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "three waves of two"
    );
}

#[tokio::test]
async fn the_file_action_appends_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[[receiver]]\nname = \"archive\"\n[[receiver.action]]\ntype = \"file\"\npath = \"events.jsonl\"\n";
    let actions = Arc::new(try_build(toml, &[], dir.path()).unwrap());
    let runtime = runtime(None);
    runtime
        .execute(&actions, "archive/0", &firing(HOSTILE))
        .await
        .unwrap();
    runtime
        .execute(&actions, "archive/0", &resolved())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (actions, runtime) = (actions.clone(), runtime.clone());
            tokio::spawn(async move {
                let name = format!("{i}-{}", "x".repeat(5000));
                runtime.execute(&actions, "archive/0", &firing(&name)).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let lines: Vec<Context> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 22);
    assert_eq!(lines[0], firing(HOSTILE));
    assert_eq!(lines[1], resolved());
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(r#""notice":"firing""#),
        "{text}"
    );
}
