//! A rate-limited action destination (a Slack webhook answering `429` with `Retry-After`, say)
//! is waited for as long as it asks, not as soon as the retry schedule says.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use vizhook_store::TaskState;

use super::harness::*;
use vizhook_test_support::{Recorder as TestReceiver, eventually};

#[tokio::test]
async fn an_action_answered_429_retries_when_retry_after_says() {
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    let slack = TestReceiver::answering_with_retry_after(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            (429, Some("1".to_owned()), "rate_limited".to_owned())
        } else {
            (200, None, "ok".to_owned())
        }
    });
    // The schedule would retry after 100 ms and the poll (60 s) long after the test gives up;
    // the destination asks for 1 s.
    let text = format!(
        r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"

[route]
receiver = "team"

[[receiver]]
name = "team"
  [[receiver.action]]
  type = "slack"
  webhook_url = "{}"

[delivery]
retry_schedule = ["100ms", "100ms"]
attempt_timeout = "3s"
poll_interval = "60s"
lease = "120s"
"#,
        slack.url("/services/T0/B0/x")
    );
    let rx = or_skip!(Receive::start(&text).await);
    let body = event("DatasourceRefreshFailed", "d1", "Sales");
    assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
    let task = eventually(Duration::from_secs(20), "the task to be done", || async {
        let inbox = rx.inbox().await;
        let task = inbox.first()?.tasks.first()?.clone();
        (task.state == TaskState::Done).then_some(task)
    })
    .await;
    assert_eq!(task.attempts, 2, "{task:?}");
    let received = slack.received();
    assert_eq!(received.len(), 2);
    let gap = received[1].at.duration_since(received[0].at);
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(15),
        "retried after the 1 s Retry-After, not the 100 ms schedule: {gap:?}"
    );
}
