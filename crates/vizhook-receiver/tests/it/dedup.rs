//! De-duplication: by payload within the window, by `webhook-id`, and across a restart.

use super::harness::*;

fn config() -> String {
    format!(
        r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"

[route]
receiver = "log"

[[receiver]]
name = "log"
  [[receiver.action]]
  type = "file"
  path = "actions.jsonl"
{FAST}"#
    )
}

#[tokio::test]
async fn the_same_payload_runs_its_actions_once_even_after_a_restart() {
    let rx = or_skip!(Receive::start(&config()).await);
    let failed = event("DatasourceRefreshFailed", "r1", "Sales");
    let (status, first) = rx.post(&rx.hook("/tableau"), &failed).await;
    assert_eq!((status, first["status"].as_str()), (202, Some("accepted")));
    let (status, again) = rx.post(&rx.hook("/tableau"), &failed).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(
        again["id"], first["id"],
        "a duplicate names the event it repeats"
    );
    settle().await;
    assert_eq!(rx.lines("actions.jsonl").len(), 1);

    let rx = rx.restart().await;
    let (status, after) = rx.post(&rx.hook("/tableau"), &failed).await;
    assert_eq!((status, after["id"].clone()), (200, first["id"].clone()));
    let other = event("DatasourceRefreshFailed", "r2", "Orders");
    assert_eq!(rx.post(&rx.hook("/tableau"), &other).await.0, 202);
    settle().await;
    let lines = rx.lines("actions.jsonl");
    let names: Vec<&str> = lines
        .iter()
        .map(|line| line["event"]["resource_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sales", "Orders"]);
    assert_eq!(rx.inbox().await.len(), 2);
}

#[tokio::test]
async fn webhook_ids_identify_repeats_and_tests_are_never_repeats() {
    let rx = or_skip!(Receive::start(&config()).await);
    let id = [("webhook-id", "msg_42".to_owned())];
    let first = event_at("WorkbookCreated", "w1", "Book", "2026-11-23T10:00:00Z");
    // A retry of the same message may carry a different body (a new timestamp): same id, same event.
    let retry = event_at("WorkbookCreated", "w1", "Book", "2026-11-23T10:00:01Z");
    assert_eq!(rx.post_with(&rx.hook("/tableau"), &first, &id).await.0, 202);
    assert_eq!(rx.post_with(&rx.hook("/tableau"), &retry, &id).await.0, 200);
    // The same payload under another id is still the same payload.
    let other_id = [("webhook-id", "msg_43".to_owned())];
    assert_eq!(
        rx.post_with(&rx.hook("/tableau"), &first, &other_id)
            .await
            .0,
        200
    );
    // Tableau's "Test a Webhook" sends an empty body; every test is accepted and recorded.
    for _ in 0..2 {
        let (status, answer) = rx.post(&rx.hook("/tableau"), "").await;
        assert_eq!((status, answer["status"].as_str()), (202, Some("test")));
    }
    settle().await;
    assert_eq!(rx.inbox().await.len(), 3);
    assert_eq!(rx.lines("actions.jsonl").len(), 1, "tests are not routed");
}

#[tokio::test]
async fn repeats_after_the_window_count_again() {
    let text = format!("{}\n[dedup]\nwindow = \"300ms\"\n", config());
    let rx = or_skip!(Receive::start(&text).await);
    let body = event("WorkbookCreated", "w1", "Book");
    assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
    assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(rx.post(&rx.hook("/tableau"), &body).await.0, 202);
}
