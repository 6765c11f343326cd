//! `GET /metrics`, parsed as Prometheus reads it: delivery attempts, their latency, the queue's
//! gauges and HTTP requests move as events are delivered; `[server] metrics = false` turns it
//! off.

use std::time::Duration;

use crate::helpers::*;

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            if metric != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(key, value)| rest.contains(&format!("{key}=\"{value}\"")));
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

async fn scrape(app: &TestApp) -> String {
    let answer = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

#[tokio::test]
async fn delivery_counters_and_gauges_move_as_events_are_delivered() {
    let app = or_skip!(
        TestApp::spawn_with(|config| config.delivery.poll_interval = Duration::from_millis(20))
            .await
    );
    let receiver = TestReceiver::start();
    let session = app.admin().await;
    app.create_webhook(&session, "counted", "ViewDeleted", &receiver.url("/in"))
        .await;
    let before = scrape(&app).await;
    let delivered = |text: &str| {
        sample(
            text,
            "vizhook_delivery_attempts_total",
            &[("outcome", "delivered")],
        )
    };
    let events: Vec<_> = (0..3)
        .map(|i| serde_json::json!({"event_type": "ViewDeleted", "resource_name": format!("v{i}"), "resource_luid": format!("{i}")}))
        .collect();
    let answer = app
        .call(
            "POST",
            &format!("/vizhook/v1/sites/{}/events", session.site_id),
            Some(&session.token),
            Some(&serde_json::json!({ "events": events }).to_string()),
            true,
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    eventually(Duration::from_secs(20), "three deliveries", || async {
        (receiver.received().len() >= 3).then_some(())
    })
    .await;
    let after = eventually(Duration::from_secs(20), "the counters", || async {
        let text = scrape(&app).await;
        // Attempts are counted when they end, the queue when they are recorded.
        let recorded = sample(&text, "vizhook_deliveries_pending", &[]) == 0.0;
        (delivered(&text) - delivered(&before) >= 3.0 && recorded).then_some(text)
    })
    .await;
    assert_eq!(delivered(&after) - delivered(&before), 3.0, "{after}");
    assert!(
        sample(&after, "vizhook_delivery_attempt_seconds_count", &[]) >= 3.0,
        "{after}"
    );
    assert_eq!(sample(&after, "vizhook_deliveries_pending", &[]), 0.0);
    assert_eq!(sample(&after, "vizhook_webhooks_disabled", &[]), 0.0);
    assert_eq!(
        sample(&after, "vizhook_oldest_due_delivery_age_seconds", &[]),
        0.0
    );
    assert_eq!(
        sample(
            &after,
            "vizhook_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/vizhook/v1/sites/{site_id}/events"),
                ("status", "202")
            ]
        ) - sample(
            &before,
            "vizhook_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/vizhook/v1/sites/{site_id}/events"),
                ("status", "202")
            ]
        ),
        1.0,
        "{after}"
    );
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = or_skip!(TestApp::spawn_with(|config| config.server.metrics = false).await);
    let answer = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.text().await.unwrap(), "metrics are not enabled\n");
}
