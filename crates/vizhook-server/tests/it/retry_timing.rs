//! Retries on time: the workers wake when the earliest retry falls due, not at their next
//! poll, so a quiet server keeps the gaps of `[delivery] retry_schedule`.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn retries_fire_when_due_even_with_a_long_poll_interval() {
    // A poll far longer than the whole retry schedule: if the workers only looked at their
    // poll, the four attempts would take three minutes.
    let app = or_skip!(
        TestApp::spawn_with(|config| retry_schedule(
            config,
            &["150ms", "300ms", "600ms"],
            Duration::from_secs(60)
        ))
        .await
    );
    let receiver = TestReceiver::replying(500, "down");
    let session = app.admin().await;
    app.create_webhook(&session, "down", "SiteUpdated", &receiver.url("/down"))
        .await;
    let path = format!("/vizhook/v1/sites/{}/events", session.site_id);
    let fired = app
        .json(
            "POST",
            &path,
            &session.token,
            Some(r#"{"event_type": "SiteUpdated"}"#),
        )
        .await;
    assert_eq!(fired.status, 202, "{}", fired.text);
    let attempts = eventually(Duration::from_secs(20), "four attempts", || async {
        let received = receiver.received();
        (received.len() >= 4).then_some(received)
    })
    .await;
    let gaps: Vec<Duration> = attempts
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect();
    // Each gap is at least its step (a retry is never early) and well short of the poll.
    for (gap, step) in gaps.iter().zip([150, 300, 600]) {
        let step = Duration::from_millis(step);
        assert!(
            *gap >= step.mul_f64(0.95) && *gap < step + Duration::from_secs(5),
            "gaps {gaps:?}: retries follow the schedule, not the poll"
        );
    }
}
