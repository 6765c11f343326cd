//! Delivery end to end: injected events reach a local receiver with Tableau's exact payload;
//! failures retry with growing gaps, four failed deliveries disable the webhook and email its
//! owner through a real SMTP server; a success resets the count; slow destinations stay isolated.

use std::time::Duration;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(20);

/// Fast retries for tests: four attempts 30, 60 and 120 ms apart.
fn fast_retries(config: &mut vizhook_server::Config) {
    retry_schedule(config, &["30ms", "60ms", "120ms"], Duration::from_millis(20));
}

async fn inject(app: &TestApp, session: &Session, body: serde_json::Value) -> serde_json::Value {
    let path = format!("/vizhook/v1/sites/{}/events", session.site_id);
    let answer = app
        .call(
            "POST",
            &path,
            Some(&session.token),
            Some(&body.to_string()),
            true,
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    answer.json()
}

/// Waits until every delivery of `webhook` is finished and `count` exist; returns them.
async fn settled(
    app: &TestApp,
    session: &Session,
    webhook: &str,
    count: usize,
) -> Vec<serde_json::Value> {
    eventually(WAIT, "deliveries to settle", || async {
        let all = delivery_log(app, session, webhook).await;
        (all.len() == count && all.iter().all(|d| d["state"] != "pending")).then_some(all)
    })
    .await
}

#[tokio::test]
async fn injected_events_arrive_with_the_exact_tableau_payload() {
    let app = or_skip!(TestApp::spawn().await);
    let receiver = TestReceiver::start();
    let session = app.admin().await;
    let webhook = app
        .create_webhook(
            &session,
            "hook",
            "DatasourceRefreshFailed",
            &receiver.url("/in"),
        )
        .await;
    app.create_webhook(
        &session,
        "other event",
        "WorkbookCreated",
        &receiver.url("/other"),
    )
    .await;
    let published = inject(
        &app,
        &session,
        serde_json::json!({
            "event_type": "DatasourceRefreshFailed", "resource_name": "Sales \"EMEA\"",
            "resource_luid": "99", "created_at": "2018-11-15T17:14:45Z"
        }),
    )
    .await;
    assert_eq!(published["events"][0]["deliveries"], 1);

    let received = eventually(WAIT, "the delivery", || async {
        receiver.received().first().cloned()
    })
    .await;
    assert_eq!(received.path, "/in");
    let expected = format!(
        r#"{{"resource":"EXTRACTS","event_type":"DatasourceRefreshFailed","resource_name":"Sales \"EMEA\"","site_luid":"{}","resource_luid":"99","created_at":"2018-11-15T17:14:45Z"}}"#,
        session.site_id
    );
    assert_eq!(String::from_utf8_lossy(&received.body), expected);
    assert_eq!(
        received.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(
        received
            .header("user-agent")
            .unwrap()
            .starts_with("vizhook/")
    );
    assert!(
        received.header("webhook-signature").is_none(),
        "unsigned unless a secret is configured"
    );
    let log = settled(&app, &session, &webhook, 1).await;
    assert_eq!(
        received.header("webhook-id").as_deref(),
        log[0]["id"].as_str(),
        "webhook-id is the delivery id"
    );
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["attempts"][0]["status"], 200);
    assert_eq!(log[0]["attempts"][0]["response_excerpt"], "ok");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing for the webhook on another event"
    );
}

#[tokio::test]
async fn a_batch_fans_out_to_every_subscriber() {
    let app = or_skip!(TestApp::spawn().await);
    let receiver = TestReceiver::start();
    let session = app.admin().await;
    for i in 0..3 {
        app.create_webhook(
            &session,
            &format!("h{i}"),
            "ViewDeleted",
            &receiver.url(&format!("/{i}")),
        )
        .await;
    }
    let events: Vec<_> = (0..50)
        .map(
            |i| serde_json::json!({"event_type": "view-deleted", "resource_name": format!("v{i}")}),
        )
        .collect();
    let published = inject(&app, &session, serde_json::json!({ "events": events })).await;
    assert_eq!(published["events"].as_array().unwrap().len(), 50);
    eventually(WAIT, "150 deliveries", || async {
        (receiver.received().len() == 150).then_some(())
    })
    .await;
    let mut seen: Vec<(String, String)> = receiver
        .received()
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.json()["resource_name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 150, "each event once per webhook");
}

#[tokio::test]
async fn signatures_follow_standard_webhooks_with_server_and_webhook_secrets() {
    use base64::Engine;
    use hmac::Mac;
    const SERVER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let app =
        or_skip!(TestApp::spawn_with(|config| config.delivery.signing_secret = SERVER_SECRET.to_owned())
            .await);
    let receiver = TestReceiver::start();
    let session = app.admin().await;
    let first = app
        .create_webhook(
            &session,
            "server secret",
            "SiteUpdated",
            &receiver.url("/a"),
        )
        .await;
    let second = app
        .create_webhook(&session, "own secret", "SiteUpdated", &receiver.url("/b"))
        .await;
    let path = format!(
        "/vizhook/v1/sites/{}/webhooks/{second}/signing-secret",
        session.site_id
    );
    let set = app.json("PUT", &path, &session.token, Some("{}")).await;
    assert_eq!(set.status, 200, "{}", set.text);
    let own_secret = set.json()["secret"].as_str().unwrap().to_owned();
    assert!(own_secret.starts_with("whsec_"));
    let hooks = app
        .xml("GET", &webhooks_path(&session), &session.token, None)
        .await;
    assert!(
        !hooks.text.contains(&own_secret[6..]),
        "secrets are never read back"
    );

    inject(
        &app,
        &session,
        serde_json::json!({"event_type": "SiteUpdated", "resource_name": "s"}),
    )
    .await;
    let received = eventually(WAIT, "two deliveries", || async {
        let all = receiver.received();
        (all.len() == 2).then_some(all)
    })
    .await;
    for r in received {
        let secret = if r.path == "/a" {
            SERVER_SECRET
        } else {
            own_secret.as_str()
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(&secret[6..])
            .unwrap();
        let (id, ts) = (
            r.header("webhook-id").unwrap(),
            r.header("webhook-timestamp").unwrap(),
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(&r.body);
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(
            r.header("webhook-signature"),
            Some(expected),
            "signature for {}",
            r.path
        );
        let age = time::OffsetDateTime::now_utc().unix_timestamp() - ts.parse::<i64>().unwrap();
        assert!((0..60).contains(&age));
    }
    let _ = first;
    let bad = app
        .json(
            "PUT",
            &path,
            &session.token,
            Some(r#"{"secret":"not-a-secret"}"#),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json()["error"]["code"].as_str()),
        (400, Some("400000"))
    );
}

#[tokio::test]
async fn four_failed_deliveries_retry_with_growing_gaps_then_disable_and_email_the_owner() {
    let smtp = SmtpSink::start();
    let app = or_skip!(TestApp::spawn_with(|config| {
        fast_retries(config);
        config.smtp.host = "127.0.0.1".to_owned();
        config.smtp.port = smtp.port();
    })
    .await);
    let receiver = TestReceiver::start();
    receiver.answer_with(500, "broken");
    let session = app.admin().await;
    let me = format!(
        "/api/3.24/sites/{}/users/{}",
        session.site_id, session.user_id
    );
    let email = r#"<tsRequest><user email="owner@example.com"/></tsRequest>"#;
    assert_eq!(
        app.xml("PUT", &me, &session.token, Some(email))
            .await
            .status,
        200
    );
    let webhook = app
        .create_webhook(
            &session,
            "Refresh alerts",
            "DatasourceRefreshFailed",
            &receiver.url("/"),
        )
        .await;

    for i in 1..=4 {
        inject(&app, &session, serde_json::json!({"event_type": "DatasourceRefreshFailed", "resource_name": format!("ds{i}")})).await;
        settled(&app, &session, &webhook, i).await;
    }
    let requests = receiver.received();
    assert_eq!(requests.len(), 16, "4 attempts for each of 4 deliveries");
    let first: Vec<_> = requests
        .iter()
        .filter(|r| r.json()["resource_name"] == "ds1")
        .collect();
    assert_eq!(first.len(), 4);
    assert!(
        first
            .iter()
            .all(|r| r.header("webhook-id") == first[0].header("webhook-id")),
        "same webhook-id on every attempt"
    );
    let gaps: Vec<Duration> = first.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (gap, minimum) in gaps.iter().zip([30, 60, 120]) {
        assert!(
            *gap >= Duration::from_millis(minimum),
            "gap {gap:?} shorter than the schedule's {minimum} ms"
        );
    }

    let hook = app
        .xml(
            "GET",
            &format!("{}/{webhook}", webhooks_path(&session)),
            &session.token,
            None,
        )
        .await
        .xml();
    let hook = hook.find("webhook").unwrap().clone();
    assert_eq!(hook.get("isEnabled"), Some("false"));
    assert_eq!(
        hook.get("statusChangeReason"),
        Some("Webhook disabled by vizhook after 4 consecutive failed deliveries")
    );
    let log = delivery_log(&app, &session, &webhook).await;
    assert!(
        log.iter()
            .all(|d| d["state"] == "failed" && d["attempts"].as_array().unwrap().len() == 4)
    );
    assert_eq!(log[0]["attempts"][3]["status"], 500);

    let notices_path = format!("/vizhook/v1/sites/{}/notices", session.site_id);
    let notice = eventually(WAIT, "the notice email", || async {
        let notices = app
            .json("GET", &notices_path, &session.token, None)
            .await
            .json();
        let notice = notices["notices"][0].clone();
        (notice["email_state"] == "sent").then_some(notice)
    })
    .await;
    assert_eq!(notice["recipient"], "owner@example.com");
    assert_eq!(notice["webhook_id"], webhook.as_str());
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].data.contains("To: owner@example.com"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("Refresh alerts"),
        "{}",
        mails[0].data
    );

    // Disabled: new events queue nothing. Re-enabling through Update resumes deliveries.
    let none = inject(
        &app,
        &session,
        serde_json::json!({"event_type": "DatasourceRefreshFailed"}),
    )
    .await;
    assert_eq!(none["events"][0]["deliveries"], 0);
    receiver.answer_with(200, "fixed");
    let enable = r#"<tsRequest><webhook isEnabled="true"/></tsRequest>"#;
    let path = format!("{}/{webhook}", webhooks_path(&session));
    assert_eq!(
        app.xml("PUT", &path, &session.token, Some(enable))
            .await
            .status,
        200
    );
    inject(
        &app,
        &session,
        serde_json::json!({"event_type": "DatasourceRefreshFailed", "resource_name": "after"}),
    )
    .await;
    let log = settled(&app, &session, &webhook, 5).await;
    assert_eq!(log[0]["state"], "delivered");
}

#[tokio::test]
async fn a_success_between_failures_resets_the_count() {
    let app = or_skip!(TestApp::spawn_with(|config| {
        config.delivery.retry_schedule = Vec::new();
        config.delivery.disable_after_failed_deliveries = 2;
        config.delivery.poll_interval = Duration::from_millis(20);
    })
    .await);
    let receiver = TestReceiver::start();
    let session = app.admin().await;
    let webhook = app
        .create_webhook(&session, "flaky", "WorkbookUpdated", &receiver.url("/"))
        .await;
    let enabled = || async {
        let hook = app
            .xml(
                "GET",
                &format!("{}/{webhook}", webhooks_path(&session)),
                &session.token,
                None,
            )
            .await
            .xml();
        hook.find("webhook").unwrap().get("isEnabled") == Some("true")
    };
    // Without the reset, 500 then 500 would be two consecutive failures.
    for (i, status) in [500, 200, 500].into_iter().enumerate() {
        receiver.answer_with(status, "");
        inject(
            &app,
            &session,
            serde_json::json!({"event_type": "WorkbookUpdated"}),
        )
        .await;
        settled(&app, &session, &webhook, i + 1).await;
        assert!(enabled().await, "still enabled after {status}");
    }
    receiver.answer_with(302, "");
    inject(
        &app,
        &session,
        serde_json::json!({"event_type": "WorkbookUpdated"}),
    )
    .await;
    settled(&app, &session, &webhook, 4).await;
    assert!(
        !enabled().await,
        "a 500 and a 302 in a row are two failed deliveries"
    );
    let log = delivery_log(&app, &session, &webhook).await;
    assert_eq!(
        log[0]["attempts"][0]["status"], 302,
        "a redirect is not followed and counts as a failure"
    );
    assert_eq!(log[0]["state"], "failed");
}

#[tokio::test]
async fn a_hanging_receiver_hits_the_attempt_timeout() {
    let app = or_skip!(TestApp::spawn_with(|config| {
        config.delivery.retry_schedule = Vec::new();
        config.delivery.attempt_timeout = Duration::from_millis(300);
    })
    .await);
    let receiver = TestReceiver::start();
    receiver.delay(Duration::from_secs(5));
    let session = app.admin().await;
    let webhook = app
        .create_webhook(&session, "slow", "UserDeleted", &receiver.url("/"))
        .await;
    inject(
        &app,
        &session,
        serde_json::json!({"event_type": "UserDeleted"}),
    )
    .await;
    let log = settled(&app, &session, &webhook, 1).await;
    let attempt = &log[0]["attempts"][0];
    assert_eq!(attempt["status"], serde_json::Value::Null);
    assert!(
        attempt["error"]
            .as_str()
            .unwrap()
            .contains("did not answer within 300ms"),
        "{attempt}"
    );
    assert!(attempt["latency_ms"].as_u64().unwrap() >= 300);
}

#[tokio::test]
async fn a_slow_destination_does_not_hold_back_a_fast_one() {
    let app = or_skip!(TestApp::spawn_with(|config| config.delivery.max_in_flight_per_webhook = 2).await);
    let slow = TestReceiver::start();
    slow.delay(Duration::from_secs(3));
    let fast = TestReceiver::start();
    let session = app.admin().await;
    app.create_webhook(&session, "slow", "LabelUpdated", &slow.url("/"))
        .await;
    app.create_webhook(&session, "fast", "LabelUpdated", &fast.url("/"))
        .await;
    let events: Vec<_> = (0..30)
        .map(
            |i| serde_json::json!({"event_type": "LabelUpdated", "resource_name": format!("l{i}")}),
        )
        .collect();
    inject(&app, &session, serde_json::json!(events)).await;
    eventually(WAIT, "all fast deliveries", || async {
        (fast.received().len() == 30).then_some(())
    })
    .await;
    let slow_count = slow.received().len();
    assert!(
        slow_count <= 4,
        "the slow destination had {slow_count} requests: at most its share (2) in flight at a time"
    );
}

#[tokio::test]
async fn the_delivery_log_and_redelivery() {
    let app = or_skip!(TestApp::spawn_with(|config| config.delivery.retry_schedule = Vec::new()).await);
    let receiver = TestReceiver::start();
    receiver.answer_with(404, "gone");
    let session = app.admin().await;
    let webhook = app
        .create_webhook(&session, "log", "DatasourceDeleted", &receiver.url("/"))
        .await;
    inject(
        &app,
        &session,
        serde_json::json!({"event_type": "DatasourceDeleted", "resource_name": "old"}),
    )
    .await;
    let log = settled(&app, &session, &webhook, 1).await;
    assert_eq!(
        (
            log[0]["state"].as_str(),
            log[0]["attempts"][0]["status"].as_u64()
        ),
        (Some("failed"), Some(404))
    );
    assert_eq!(log[0]["payload"]["resource_name"], "old");

    receiver.answer_with(200, "");
    let id = log[0]["id"].as_str().unwrap();
    let path = format!("/vizhook/v1/sites/{}/deliveries/{id}", session.site_id);
    let answer = app
        .json("POST", &format!("{path}/redeliver"), &session.token, None)
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let delivered = eventually(WAIT, "the redelivery", || async {
        let one = app.json("GET", &path, &session.token, None).await.json();
        (one["delivery"]["state"] == "delivered").then_some(one)
    })
    .await;
    let attempts = delivered["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| a["number"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    let ids: Vec<_> = receiver
        .received()
        .iter()
        .map(|r| r.header("webhook-id"))
        .collect();
    assert_eq!(ids[0], ids[1], "a redelivery keeps its webhook-id");

    let unknown = format!(
        "/vizhook/v1/sites/{}/deliveries/{}",
        session.site_id,
        uuid::Uuid::new_v4()
    );
    let missing = app.json("GET", &unknown, &session.token, None).await;
    assert_eq!(
        (missing.status, missing.json()["error"]["code"].as_str()),
        (404, Some("404051"))
    );
}

#[tokio::test]
async fn injection_validates_its_input_and_its_caller() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = format!("/vizhook/v1/sites/{}/events", session.site_id);
    let cases = [
        (r#"{"event_type": "NoSuchEvent"}"#, "events[0].event_type"),
        (
            r#"[{"event_type": "ViewDeleted"}, {"event_type": "ViewDeleted", "resource": "PLANET"}]"#,
            "events[1].resource",
        ),
        (
            r#"{"event_type": "ViewDeleted", "created_at": "yesterday"}"#,
            "events[0].created_at",
        ),
        (
            r#"{"event_type": "ViewDeleted", "created_at": "9999-12-31T23:59:59-23:59"}"#,
            "outside the years 0000 to 9999",
        ),
        (
            r#"{"event_type": "ViewDeleted", "created_at": "0000-01-01T00:00:00+23:59"}"#,
            "outside the years 0000 to 9999",
        ),
        (r#"{"events": []}"#, "No events"),
        (
            r#"{"event_type": "ViewDeleted", "colour": "red"}"#,
            "not valid",
        ),
        ("not json", "not valid"),
    ];
    for (body, message) in cases {
        let answer = app
            .call("POST", &path, Some(&session.token), Some(body), true)
            .await;
        assert_eq!(answer.status, 400, "{body}");
        let error = answer.json()["error"].clone();
        assert_eq!(error["code"], "400000");
        assert!(
            error["detail"].as_str().unwrap().contains(message),
            "{error}"
        );
    }
    let many: Vec<_> = (0..1001)
        .map(|_| serde_json::json!({"event_type": "ViewDeleted"}))
        .collect();
    let answer = app
        .call(
            "POST",
            &path,
            Some(&session.token),
            Some(&serde_json::json!(many).to_string()),
            true,
        )
        .await;
    assert_eq!(answer.status, 400);
    let viewer = app.user_on_site(&session, "viewer", "Viewer", "").await;
    let answer = app
        .call(
            "POST",
            &path,
            Some(&viewer.token),
            Some(r#"{"event_type": "ViewDeleted"}"#),
            true,
        )
        .await;
    assert_eq!(
        (answer.status, answer.json()["error"]["code"].as_str()),
        (403, Some("403004"))
    );
    let answer = app
        .call(
            "POST",
            &path,
            None,
            Some(r#"{"event_type": "ViewDeleted"}"#),
            false,
        )
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json()["error"]["code"],
        "401000",
        "vizhook's own API answers in JSON"
    );
}
