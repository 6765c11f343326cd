//! Rate-limited destinations: a `429` (or `503` with `Retry-After`) is waited for as long as
//! it asks (and the delivery itself at least its schedule's gap), by that delivery and every
//! other delivery of the webhook; and such attempts still use up the retry schedule, so a
//! delivery that is only ever rate limited counts as failed towards disabling the webhook only
//! once its schedule runs out.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(20);

async fn fire(app: &TestApp, session: &Session, name: &str) {
    let path = format!("/vizhook/v1/sites/{}/events", session.site_id);
    let body = format!(r#"{{"event_type": "SiteUpdated", "resource_name": "{name}"}}"#);
    let fired = app.json("POST", &path, &session.token, Some(&body)).await;
    assert_eq!(fired.status, 202, "{}", fired.text);
}

#[tokio::test]
async fn retry_after_is_honoured_for_the_delivery_and_the_rest_of_its_webhook() {
    // The schedule would retry after 100 ms; the destination asks for 2 s, and the poll (60 s)
    // would not look within the test.
    let app = or_skip!(
        TestApp::spawn_with(|config| retry_schedule(
            config,
            &["100ms", "100ms", "100ms"],
            Duration::from_secs(60)
        ))
        .await
    );
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    let destination = TestReceiver::answering_with_retry_after(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            (429, Some("2".to_owned()), "slow down".to_owned())
        } else {
            (200, None, "ok".to_owned())
        }
    });
    let session = app.admin().await;
    let webhook = app
        .create_webhook(&session, "limited", "SiteUpdated", &destination.url("/in"))
        .await;
    fire(&app, &session, "first").await;
    // Once the 429 is recorded, the webhook is paused: new events wait too.
    eventually(WAIT, "the 429 to be recorded", || async {
        let log = delivery_log(&app, &session, &webhook).await;
        (log.first()?["attempts"][0]["status"] == 429).then_some(())
    })
    .await;
    for name in ["second", "third", "fourth"] {
        fire(&app, &session, name).await;
    }
    let received = eventually(WAIT, "the retry and the three others", || async {
        let received = destination.received();
        (received.len() >= 5).then_some(received)
    })
    .await;
    let first = received[0].at;
    for later in &received[1..] {
        let gap = later.at.duration_since(first);
        assert!(
            gap >= Duration::from_millis(1900) && gap < Duration::from_secs(15),
            "every later request waits out the 2 s Retry-After, none goes at the 100 ms schedule: {:?}",
            received
                .iter()
                .map(|r| r.at.duration_since(first))
                .collect::<Vec<_>>()
        );
    }
    let retried = received
        .iter()
        .filter(|r| r.json()["resource_name"] == "first")
        .count();
    assert_eq!(retried, 2, "the rate-limited delivery was tried again");
    let settled = eventually(WAIT, "four deliveries delivered", || async {
        let log = delivery_log(&app, &session, &webhook).await;
        (log.len() == 4 && log.iter().all(|d| d["state"] == "delivered")).then_some(log)
    })
    .await;
    let statuses: Vec<_> = settled
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap().clone())
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn only_rate_limited_deliveries_count_as_failed_once_their_schedule_runs_out() {
    let app = or_skip!(
        TestApp::spawn_with(|config| {
            retry_schedule(
                config,
                &["100ms", "100ms", "100ms"],
                Duration::from_secs(60),
            );
            config.delivery.disable_after_failed_deliveries = 2;
        })
        .await
    );
    let destination = TestReceiver::answering_with_retry_after(|_| {
        (429, Some("0".to_owned()), "slow down".to_owned())
    });
    let session = app.admin().await;
    let webhook = app
        .create_webhook(&session, "limited", "SiteUpdated", &destination.url("/in"))
        .await;
    let hook_path = format!(
        "/api/3.24/sites/{}/webhooks/{webhook}",
        session.site_id
    );
    let enabled = || async {
        let hook = app.xml("GET", &hook_path, &session.token, None).await.xml();
        hook.find("webhook").unwrap().get("isEnabled") == Some("true")
    };

    fire(&app, &session, "first").await;
    let failed = eventually(WAIT, "the first delivery to fail", || async {
        let log = delivery_log(&app, &session, &webhook).await;
        (log.first()?["state"] == "failed").then(|| log[0].clone())
    })
    .await;
    assert_eq!(
        failed["attempts"].as_array().unwrap().len(),
        4,
        "the 429s used up the schedule: {failed}"
    );
    assert!(enabled().await, "one failed delivery of two does not disable");

    fire(&app, &session, "second").await;
    eventually(WAIT, "the second failed delivery to disable", || async {
        (!enabled().await).then_some(())
    })
    .await;
    assert_eq!(destination.count(), 8, "four attempts for each delivery");
}
