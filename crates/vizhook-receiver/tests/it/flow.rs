//! What happens after an event is stored: actions that fail are retried without the sender
//! noticing, and alert groups page once per repeat interval with a recovery message.

use std::time::Duration;

use vizhook_store::TaskState;

use super::harness::*;
use vizhook_test_support::{Recorder as TestReceiver, eventually};

fn config(slack: &str, extra: &str) -> String {
    format!(
        r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"

[route]
receiver = "nobody"
group_by = ["resource_luid"]

  [[route.routes]]
  matchers = ['event_type =~ ".*Refresh(Failed|Succeeded)"']
  receiver = "slack"
  {extra}

[[receiver]]
name = "nobody"

[[receiver]]
name = "slack"
  [[receiver.action]]
  type = "slack"
  webhook_url = "{slack}"
{FAST}"#
    )
}

#[tokio::test]
async fn a_down_action_target_keeps_the_2xx_and_is_retried() {
    let slack = TestReceiver::start();
    slack.answer_with(503, "slack is down");
    let rx = or_skip!(Receive::start(&config(&slack.url("/services/T0/B0/x"), "")).await);
    let (status, _) = rx
        .post(
            &rx.hook("/tableau"),
            &event("DatasourceRefreshFailed", "r1", "Sales"),
        )
        .await;
    assert_eq!(status, 202, "the sender never sees the action's failure");
    eventually(Duration::from_secs(10), "two failed attempts", || async {
        (slack.received().len() >= 2).then_some(())
    })
    .await;
    slack.answer_with(200, "ok");
    let task = eventually(Duration::from_secs(10), "the retry to succeed", || async {
        let inbox = rx.inbox().await;
        let task = inbox.first()?.tasks.first()?.clone();
        (task.state == TaskState::Done).then_some(task)
    })
    .await;
    assert!(task.attempts >= 3, "{task:?}");
    let posts = slack.received();
    assert!(posts.len() >= 3);
    assert!(
        posts.iter().all(|post| post.json() == posts[0].json()),
        "every attempt sends the same message"
    );
    assert!(posts[0].json()["text"].as_str().unwrap().contains("Sales"));
}

#[tokio::test]
async fn a_refresh_failing_every_five_minutes_pages_once_then_recovers() {
    let slack = TestReceiver::start();
    let extra = "repeat_interval = \"1h\"\n  send_resolved = true";
    let rx = or_skip!(Receive::start(&config(&slack.url("/hook"), extra)).await);
    for minute in ["00", "05", "10", "15"] {
        let body = event_at(
            "DatasourceRefreshFailed",
            "r1",
            "Sales",
            &format!("2026-11-23T10:{minute}:00Z"),
        );
        assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
    }
    // Another data source failing is another group.
    let other = event("DatasourceRefreshFailed", "r2", "Orders");
    assert_eq!(rx.post(&rx.hook("/tableau"), &other).await.0, 202);
    let success = event_at(
        "DatasourceRefreshSucceeded",
        "r1",
        "Sales",
        "2026-11-23T10:20:00Z",
    );
    assert_eq!(rx.post(&rx.hook("/tableau"), &success).await.0, 202);
    let texts = eventually(Duration::from_secs(10), "three messages", || async {
        let posts = slack.received();
        (posts.len() >= 3).then(|| {
            posts
                .iter()
                .map(|post| post.json()["text"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        })
    })
    .await;
    settle().await;
    assert_eq!(slack.received().len(), 3, "{texts:#?}");
    assert_eq!(
        texts.iter().filter(|t| t.contains("Sales")).count(),
        2,
        "{texts:#?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.contains("Orders")).count(),
        1,
        "{texts:#?}"
    );
    let recovered: Vec<&String> = texts
        .iter()
        .filter(|t| t.to_lowercase().contains("recovered"))
        .collect();
    assert_eq!(recovered.len(), 1, "{texts:#?}");
    assert!(recovered[0].contains("Sales"));
}

#[tokio::test]
async fn a_command_running_one_at_a_time_gets_its_tasks_one_at_a_time() {
    // Each run takes 0.6 s; four queued runs would need 2.4 s, more than one attempt's 1.5 s.
    // The engine must hand the command its tasks one by one, not let them wait inside attempts.
    let text = format!(
        r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"

[route]
receiver = "script"

[[receiver]]
name = "script"
  [[receiver.action]]
  type = "command"
  argv = ["/bin/sh", "-c", "sleep 0.6"]
  timeout = "1s"
  max_concurrent = 1

[delivery]
retry_schedule = ["100ms"]
attempt_timeout = "1500ms"
poll_interval = "50ms"
lease = "60s"
"#
    );
    let rx = or_skip!(Receive::start(&text).await);
    for n in 0..4 {
        let body = event("WorkbookCreated", &format!("w{n}"), "Book");
        assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
    }
    let tasks = eventually(Duration::from_secs(20), "four finished runs", || async {
        let tasks: Vec<_> = rx.inbox().await.into_iter().flat_map(|e| e.tasks).collect();
        tasks
            .iter()
            .all(|task| task.state != TaskState::Pending)
            .then_some(tasks)
    })
    .await;
    assert_eq!(tasks.len(), 4);
    for task in &tasks {
        assert_eq!(
            (task.state, task.attempts),
            (TaskState::Done, 1),
            "{task:?}"
        );
    }
}

/// A file action, as a `[[receiver.action]]` table.
const FILE_ACTION: &str = "  [[receiver.action]]\n  type = \"file\"\n  path = \"actions.jsonl\"\n";

/// Every event to one receiver, `team`, whose actions are `actions`; retries 300 ms apart.
fn team_config(actions: &str) -> String {
    format!(
        r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"

[route]
receiver = "team"

[[receiver]]
name = "team"
{actions}
[delivery]
retry_schedule = ["300ms", "300ms", "300ms"]
attempt_timeout = "3s"
poll_interval = "50ms"
lease = "60s"
"#
    )
}

#[tokio::test]
async fn tasks_of_an_action_removed_from_the_configuration_fail_at_once() {
    let down = TestReceiver::start();
    down.answer_with(503, "down");
    let with = |extra: &str| team_config(&format!("{FILE_ACTION}{extra}"));
    let second = format!(
        "  [[receiver.action]]\n  type = \"http\"\n  url = \"{}\"\n",
        down.url("/hook")
    );
    let rx = or_skip!(Receive::start(&with(&second)).await);
    let body = event("WorkbookCreated", "w1", "Book");
    assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
    eventually(
        Duration::from_secs(10),
        "the first failed attempt",
        || async { (!down.received().is_empty()).then_some(()) },
    )
    .await;
    // The http action is removed while its task waits for a retry.
    let rx = rx.restart_with(&with("")).await;
    let task = eventually(Duration::from_secs(10), "the task to end", || async {
        let inbox = rx.inbox().await;
        let task = inbox.first()?.tasks.get(1)?.clone();
        (task.state != TaskState::Pending).then_some(task)
    })
    .await;
    assert_eq!(task.state, TaskState::Failed);
    assert_eq!(
        task.attempts, 2,
        "no retries for an action that is gone: {task:?}"
    );
    assert!(task.last_error.unwrap().contains("team/1"));
}

#[tokio::test]
async fn a_named_action_keeps_its_tasks_when_actions_are_reordered() {
    let target = TestReceiver::start();
    target.answer_with(503, "down");
    let http = format!(
        "  [[receiver.action]]\n  type = \"http\"\n  name = \"alerts\"\n  url = \"{}\"\n",
        target.url("/hook")
    );
    let rx = or_skip!(Receive::start(&team_config(&format!("{FILE_ACTION}{http}"))).await);
    let body = event("WorkbookCreated", "w1", "Book");
    assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
    eventually(
        Duration::from_secs(10),
        "the first failed attempt",
        || async { (!target.received().is_empty()).then_some(()) },
    )
    .await;
    // The named action moves to the front while its task waits for a retry.
    target.answer_with(200, "ok");
    let rx = rx
        .restart_with(&team_config(&format!("{http}{FILE_ACTION}")))
        .await;
    let task = eventually(Duration::from_secs(10), "the task to end", || async {
        let inbox = rx.inbox().await;
        let task = inbox
            .first()?
            .tasks
            .iter()
            .find(|t| t.receiver == "team/alerts")?
            .clone();
        (task.state != TaskState::Pending).then_some(task)
    })
    .await;
    assert_eq!(task.state, TaskState::Done, "{task:?}");
    assert_eq!(
        target.received().len(),
        2,
        "the retry went to the named action, not to whatever took its place"
    );
}

#[tokio::test]
async fn a_failure_waiting_for_its_retry_is_not_sent_after_the_recovery() {
    let slack = TestReceiver::start();
    slack.answer_with(503, "down");
    let config = config(&slack.url("/hook"), "send_resolved = true")
        .replace(r#"["100ms", "200ms", "300ms"]"#, r#"["2s", "2s", "2s"]"#);
    let rx = or_skip!(Receive::start(&config).await);
    let failed = event("DatasourceRefreshFailed", "r1", "Sales");
    assert_eq!(rx.post(&rx.hook("/tableau"), &failed).await.0, 202);
    eventually(
        Duration::from_secs(10),
        "the failed first attempt",
        || async { (!slack.received().is_empty()).then_some(()) },
    )
    .await;
    // Slack is back, and the refresh succeeds before the failure's retry is due.
    slack.answer_with(200, "ok");
    let succeeded = event("DatasourceRefreshSucceeded", "r1", "Sales");
    assert_eq!(rx.post(&rx.hook("/tableau"), &succeeded).await.0, 202);
    eventually(Duration::from_secs(10), "the recovery", || async {
        (slack.received().len() >= 2).then_some(())
    })
    .await;
    // Past the failure's retry time: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let texts: Vec<String> = slack
        .received()
        .iter()
        .map(|post| post.json()["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:#?}");
    assert!(texts[1].contains("Recovered"), "{texts:#?}");
    let inbox = rx.inbox().await;
    let superseded = inbox
        .iter()
        .flat_map(|entry| &entry.tasks)
        .filter(|task| task.state == TaskState::Superseded)
        .count();
    assert_eq!(superseded, 1, "{inbox:#?}");
}
