//! The webhooks resource end to end: every event in both naming styles, both formats, updates
//! with Tableau's status rules, delete, and test against a real local destination.

use vizhook_core::EventKind;

use crate::helpers::*;

fn source_body(name: &str, source: &str, url: &str) -> String {
    format!(
        r#"<tsRequest><webhook name="{name}"><webhook-source><{source} /></webhook-source><webhook-destination><webhook-destination-http method="POST" url="{url}" /></webhook-destination></webhook></tsRequest>"#
    )
}

#[tokio::test]
async fn all_22_events_can_be_created_in_both_styles_and_read_back_in_both() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    for kind in EventKind::ALL {
        let by_event = app
            .create_webhook(
                &session,
                &format!("e-{kind}"),
                kind.api_name(),
                "https://example.com/e",
            )
            .await;
        let by_source = app
            .xml(
                "POST",
                &path,
                &session.token,
                Some(&source_body(
                    &format!("s-{kind}"),
                    kind.source_name(),
                    "https://example.com/s",
                )),
            )
            .await;
        assert_eq!(by_source.status, 201, "{kind}: {}", by_source.text);
        for id in [
            by_event,
            by_source
                .xml()
                .find("webhook")
                .unwrap()
                .get("id")
                .unwrap()
                .to_owned(),
        ] {
            let got = app
                .xml("GET", &format!("{path}/{id}"), &session.token, None)
                .await
                .xml();
            let webhook = got.find("webhook").unwrap();
            assert_eq!(webhook.get("event"), Some(kind.api_name()));
            let source = webhook.find("webhook-source").unwrap();
            assert_eq!(source.children.len(), 1);
            assert_eq!(source.children[0].name, kind.source_name());
        }
    }
    let listed = app.json("GET", &path, &session.token, None).await.json();
    assert_eq!(listed["webhooks"]["webhook"].as_array().unwrap().len(), 44);
}

#[tokio::test]
async fn create_answers_201_with_location_and_the_full_webhook() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    let body = source_body(
        "hook",
        "webhook-source-event-datasource-created",
        "https://example.com/hook",
    );
    let answer = app
        .xml(
            "POST",
            &format!("/api/3.6/sites/{}/webhooks", session.site_id),
            &session.token,
            Some(&body),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let root = answer.xml();
    let webhook = root.find("webhook").unwrap();
    let id = webhook.get("id").unwrap();
    assert_eq!(
        answer.headers["location"].to_str().unwrap(),
        format!("/api/3.6/sites/{}/webhooks/{id}", session.site_id)
    );
    assert_eq!(webhook.get("name"), Some("hook"));
    assert_eq!(webhook.get("isEnabled"), Some("true"));
    assert_eq!(webhook.get("statusChangeReason"), Some(""));
    assert_eq!(webhook.get("event"), Some("DatasourceCreated"));
    let http = webhook
        .find("webhook-destination")
        .unwrap()
        .find("webhook-destination-http")
        .unwrap();
    assert_eq!(
        (http.get("method"), http.get("url")),
        (Some("POST"), Some("https://example.com/hook"))
    );
    let owner = webhook.find("owner").unwrap();
    assert_eq!(
        (owner.get("id"), owner.get("name")),
        (Some(session.user_id.as_str()), Some(ADMIN))
    );
    let listed = app
        .xml("GET", &format!("{path}/"), &session.token, None)
        .await;
    assert_eq!(
        listed.xml().find("webhooks").unwrap().children.len(),
        1,
        "trailing slash tolerated"
    );
}

#[tokio::test]
async fn json_create_list_get_update_and_delete() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    let empty = app.json("GET", &path, &session.token, None).await;
    assert_eq!(empty.json(), serde_json::json!({"webhooks": {}}));

    let body = r#"{"webhook":{"webhook-destination":{"webhook-destination-http":{"method":"POST","url":"https://example.com/j"}},"event":"WorkbookDeleted","name":"json hook","isEnabled":true}}"#;
    let created = app.json("POST", &path, &session.token, Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let webhook = created.json()["webhook"].clone();
    assert_eq!(webhook["isEnabled"], true, "booleans are JSON booleans");
    assert_eq!(
        webhook["webhook-source"],
        serde_json::json!({"webhook-source-event-workbook-deleted": {}})
    );
    assert_eq!(webhook["owner"]["name"], ADMIN);
    let id = webhook["id"].as_str().unwrap().to_owned();

    let listed = app.json("GET", &path, &session.token, None).await.json();
    assert_eq!(listed["webhooks"]["webhook"][0]["id"], id.as_str());
    let got = app
        .json("GET", &format!("{path}/{id}"), &session.token, None)
        .await
        .json();
    assert_eq!(got["webhook"], webhook);

    let disable =
        r#"{"webhook":{"isEnabled":"false","statusChangeReason":"receiver maintenance"}}"#;
    let updated = app
        .json(
            "PUT",
            &format!("{path}/{id}"),
            &session.token,
            Some(disable),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let updated = updated.json()["webhook"].clone();
    assert_eq!(updated["isEnabled"], false);
    assert_eq!(updated["statusChangeReason"], "receiver maintenance");
    assert_eq!(
        updated["name"], "json hook",
        "a partial update keeps the other fields"
    );
    assert_eq!(updated["event"], "WorkbookDeleted");

    let enable = r#"{"webhook":{"isEnabled":true,"statusChangeReason":""}}"#;
    let enabled = app
        .json("PUT", &format!("{path}/{id}"), &session.token, Some(enable))
        .await
        .json();
    assert_eq!(enabled["webhook"]["isEnabled"], true);
    assert_eq!(enabled["webhook"]["statusChangeReason"], "");

    let deleted = app
        .json("DELETE", &format!("{path}/{id}"), &session.token, None)
        .await;
    assert_eq!(deleted.status, 204);
    let gone = app
        .json("GET", &format!("{path}/{id}"), &session.token, None)
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["error"]["code"], "404050");
}

#[tokio::test]
async fn update_follows_tableau_status_rules_and_changes_what_is_given() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let id = app
        .create_webhook(
            &session,
            "hook",
            "DatasourceRefreshFailed",
            "https://example.com/a",
        )
        .await;
    let path = format!("{}/{id}", webhooks_path(&session));

    let disable = r#"<tsRequest><webhook isEnabled="false" /></tsRequest>"#;
    let answer = app.xml("PUT", &path, &session.token, Some(disable)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let root = answer.xml();
    let webhook = root.find("webhook").unwrap();
    assert_eq!(webhook.get("isEnabled"), Some("false"));
    assert_eq!(
        webhook.get("statusChangeReason"),
        Some("Webhook disabled by user")
    );

    let bad = r#"<tsRequest><webhook isEnabled="true" statusChangeReason="because" /></tsRequest>"#;
    let refused = app.xml("PUT", &path, &session.token, Some(bad)).await;
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (400, "400127")
    );
    let unchanged = app.xml("GET", &path, &session.token, None).await.xml();
    assert_eq!(
        unchanged.find("webhook").unwrap().get("isEnabled"),
        Some("false"),
        "a refused update changes nothing"
    );

    let change = r#"<tsRequest><webhook name="renamed" isEnabled="true"><webhook-source><webhook-source-event-workbook-created /></webhook-source><webhook-destination><webhook-destination-http method="POST" url="https://example.com/b" /></webhook-destination></webhook></tsRequest>"#;
    let changed = app
        .xml("PUT", &path, &session.token, Some(change))
        .await
        .xml();
    let webhook = changed.find("webhook").unwrap();
    assert_eq!(webhook.get("name"), Some("renamed"));
    assert_eq!(webhook.get("event"), Some("WorkbookCreated"));
    assert_eq!(webhook.get("isEnabled"), Some("true"));
    let http = webhook
        .find("webhook-destination")
        .unwrap()
        .find("webhook-destination-http")
        .unwrap();
    assert_eq!(http.get("url"), Some("https://example.com/b"));

    // An unset Postman variable leaves `isEnabled` empty: that is not a boolean, and saying
    // so beats guessing what was meant. An empty reason is just no reason.
    let postman_unset = r#"<tsRequest><webhook name="renamed again" isEnabled="" statusChangeReason="" /></tsRequest>"#;
    let answer = app
        .xml("PUT", &path, &session.token, Some(postman_unset))
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (400, "400000"),
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains("'isEnabled' must be true or false"),
        "{}",
        answer.text
    );
    let no_reason =
        r#"<tsRequest><webhook name="renamed again" statusChangeReason="" /></tsRequest>"#;
    let answer = app.xml("PUT", &path, &session.token, Some(no_reason)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn update_needs_api_3_8_and_webhooks_need_3_6() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let id = app
        .create_webhook(&session, "hook", "ViewDeleted", "https://example.com/a")
        .await;
    let body = r#"<tsRequest><webhook name="x" /></tsRequest>"#;
    let at_3_7 = app
        .xml(
            "PUT",
            &format!("/api/3.7/sites/{}/webhooks/{id}", session.site_id),
            &session.token,
            Some(body),
        )
        .await;
    assert_eq!(
        (at_3_7.status, at_3_7.error_code().as_str()),
        (404, "404003")
    );
    let at_3_8 = app
        .xml(
            "PUT",
            &format!("/api/3.8/sites/{}/webhooks/{id}", session.site_id),
            &session.token,
            Some(body),
        )
        .await;
    assert_eq!(at_3_8.status, 200);
    let at_3_5 = app
        .xml(
            "GET",
            &format!("/api/3.5/sites/{}/webhooks", session.site_id),
            &session.token,
            None,
        )
        .await;
    assert_eq!(
        (at_3_5.status, at_3_5.error_code().as_str()),
        (404, "404003")
    );
}

#[tokio::test]
async fn test_posts_an_empty_payload_and_reports_the_destination_answer() {
    let app = or_skip!(TestApp::spawn().await);
    let receiver = TestReceiver::start();
    let session = app.admin().await;
    let id = app
        .create_webhook(
            &session,
            "hook",
            "DatasourceCreated",
            &receiver.url("/hooks/abc?key=1"),
        )
        .await;
    let path = format!("{}/{id}/test", webhooks_path(&session));

    receiver.answer_with(200, "thanks");
    let answer = app.xml("GET", &path, &session.token, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let root = answer.xml();
    let result = root.find("webhookTestResult").unwrap();
    assert_eq!(
        (result.get("id"), result.get("status")),
        (Some(id.as_str()), Some("200"))
    );
    assert_eq!(result.find("body").unwrap().text_or_empty(), "thanks");
    let sent = receiver.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/hooks/abc")
    );
    assert!(sent[0].body.is_empty(), "Tableau sends an empty payload");
    assert!(
        sent[0].headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("vizhook/")
    );

    receiver.answer_with(404, "no such hook");
    let json = app.json("GET", &path, &session.token, None).await;
    assert_eq!(
        json.status, 200,
        "the test ran; the destination's status is inside"
    );
    assert_eq!(json.json()["webhookTestResult"]["status"], "404");
    assert_eq!(json.json()["webhookTestResult"]["body"], "no such hook");
}

#[tokio::test]
async fn test_of_an_unreachable_or_redirecting_destination() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let id = app
        .create_webhook(
            &session,
            "dead",
            "DatasourceCreated",
            &format!("http://127.0.0.1:{port}/"),
        )
        .await;
    let answer = app
        .xml(
            "GET",
            &format!("{}/{id}/test", webhooks_path(&session)),
            &session.token,
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (400, "400113")
    );

    let receiver = TestReceiver::start();
    receiver.answer_with(302, "");
    let id = app
        .create_webhook(&session, "moved", "DatasourceCreated", &receiver.url("/"))
        .await;
    let answer = app
        .xml(
            "GET",
            &format!("{}/{id}/test", webhooks_path(&session)),
            &session.token,
            None,
        )
        .await;
    let root = answer.xml();
    assert_eq!(
        root.find("webhookTestResult").unwrap().get("status"),
        Some("302"),
        "redirects are not followed"
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn test_times_out_on_a_hanging_destination() {
    let app = or_skip!(TestApp::spawn_with(|config| {
        config.outbound.timeout = std::time::Duration::from_millis(300)
    })
    .await);
    let receiver = TestReceiver::start();
    receiver.delay(std::time::Duration::from_secs(5));
    let session = app.admin().await;
    let id = app
        .create_webhook(&session, "slow", "DatasourceCreated", &receiver.url("/"))
        .await;
    let answer = app
        .xml(
            "GET",
            &format!("{}/{id}/test", webhooks_path(&session)),
            &session.token,
            None,
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (400, "400113")
    );
    assert!(
        answer.text.contains("did not answer within"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn destinations_must_be_https_and_public_outside_dev_mode() {
    let app = or_skip!(TestApp::spawn_with(|config| config.server.dev = false).await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    let http = source_body(
        "h",
        "webhook-source-event-datasource-created",
        "http://example.com/hook",
    );
    let answer = app.xml("POST", &path, &session.token, Some(&http)).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (400, "400000")
    );
    assert!(answer.text.contains("must use https"), "{}", answer.text);
    for private in [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://localhost/x",
        "https://localhost./x",
        "https://LOCALHOST/x",
        "https://app.localhost/x",
        "https://localhost.:8443/x",
    ] {
        let body = source_body("p", "webhook-source-event-datasource-created", private);
        let answer = app.xml("POST", &path, &session.token, Some(&body)).await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (400, "400000"),
            "{private}"
        );
        assert!(answer.text.contains("not allowed"), "{}", answer.text);
    }
    let empty = app.xml("GET", &path, &session.token, None).await.xml();
    assert!(
        empty.find("webhooks").unwrap().children.is_empty(),
        "nothing was stored"
    );
    // A trailing dot names the same host; it is stored without it.
    let dotted = source_body(
        "d",
        "webhook-source-event-datasource-created",
        "https://hooks.example.com./in",
    );
    let answer = app.xml("POST", &path, &session.token, Some(&dotted)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(
        answer
            .text
            .contains(r#"url="https://hooks.example.com/in""#),
        "{}",
        answer.text
    );
}
