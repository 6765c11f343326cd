//! Every class of bad input gets a precise Tableau error in the client's format, never a panic
//! or a bare status, and never changes what is stored.

use crate::helpers::*;

const GOOD_URL: &str = "https://example.com/hook";

#[tokio::test]
async fn malformed_and_incomplete_bodies_are_400000() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    let cases = [
        ("<tsRequest><webhook name=\"x\"", "unterminated XML"),
        ("<tsRequest><webhook></tsRequest>", "mismatched tags"),
        ("<!DOCTYPE x [<!ENTITY e \"boom\">]><tsRequest/>", "DTD"),
        ("<other/>", "wrong root"),
        ("<tsRequest/><tsRequest/>", "two roots"),
        ("<tsRequest/>", "no webhook element"),
        (
            "<tsRequest><webhook event=\"DatasourceCreated\"><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "no name",
        ),
        (
            "<tsRequest><webhook name=\"x\"><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "no event",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\"/></tsRequest>",
            "no destination",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\"><webhook-destination/></webhook></tsRequest>",
            "empty destination",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"NoSuchEvent\"><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "unknown event",
        ),
        (
            "<tsRequest><webhook name=\"x\"><webhook-source><webhook-source-event-nope/></webhook-source><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "unknown source",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\"><webhook-source><webhook-source-event-workbook-created/></webhook-source><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "event and source disagree",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\"><webhook-destination><webhook-destination-http method=\"GET\" url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "GET method",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\"><webhook-destination><webhook-destination-http url=\"not a url\"/></webhook-destination></webhook></tsRequest>",
            "bad url",
        ),
        (
            "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\" isEnabled=\"maybe\"><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "bad boolean",
        ),
        (
            "<tsRequest><webhook name=\"   \" event=\"DatasourceCreated\"><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
            "blank name",
        ),
    ];
    for (body, what) in cases {
        let answer = app.xml("POST", &path, &session.token, Some(body)).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.text);
        assert_eq!(answer.error_code(), "400000", "{what}");
    }
    for (body, what) in [
        ("{\"webhook\": ", "truncated JSON"),
        ("[1,2]", "JSON array"),
        ("{\"webhook\": {\"name\": \"x\"}}", "incomplete JSON"),
    ] {
        let answer = app.json("POST", &path, &session.token, Some(body)).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.text);
        let json = answer.json();
        assert_eq!(json["error"]["code"], "400000", "{what}");
        assert!(json["error"]["summary"].is_string() && json["error"]["detail"].is_string());
    }
    let listed = app.xml("GET", &path, &session.token, None).await.xml();
    assert!(
        listed.find("webhooks").unwrap().children.is_empty(),
        "no bad request stored anything"
    );
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    let unknown = "9f9e9d9c-b8a8-f8e7-d7c7-b7a6f6d6e6d0";
    for (method, suffix) in [("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/test")] {
        for id in [unknown, "not-an-id"] {
            let body = (method == "PUT").then_some("<tsRequest><webhook name=\"x\"/></tsRequest>");
            let answer = app
                .xml(
                    method,
                    &format!("{path}/{id}{suffix}"),
                    &session.token,
                    body,
                )
                .await;
            assert_eq!(answer.status, 404, "{method} {id}{suffix}: {}", answer.text);
            assert_eq!(answer.error_code(), "404050");
            assert!(
                answer
                    .text
                    .contains(&format!("Webhook '{id}' could not be found."))
            );
        }
    }
    let bad_site = app
        .xml(
            "GET",
            "/api/3.24/sites/not-a-site/webhooks",
            &session.token,
            None,
        )
        .await;
    assert_eq!(
        (bad_site.status, bad_site.error_code().as_str()),
        (404, "404000")
    );
    let missing_site = app
        .xml(
            "GET",
            &format!("/api/3.24/sites/{unknown}/webhooks"),
            &session.token,
            None,
        )
        .await;
    assert_eq!(
        (missing_site.status, missing_site.error_code().as_str()),
        (404, "404000")
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_before_being_read() {
    let app = or_skip!(TestApp::spawn_with(|config| config.server.max_body_bytes = 4096).await);
    let session = app.admin().await;
    let name = "n".repeat(5000);
    let body = format!(
        r#"<tsRequest><webhook name="{name}" event="DatasourceCreated"><webhook-destination><webhook-destination-http url="{GOOD_URL}"/></webhook-destination></webhook></tsRequest>"#
    );
    let answer = app
        .xml(
            "POST",
            &webhooks_path(&session),
            &session.token,
            Some(&body),
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (413, "413000")
    );
    let json = app
        .json(
            "POST",
            &webhooks_path(&session),
            &session.token,
            Some(&body),
        )
        .await;
    assert_eq!(json.json()["error"]["code"], "413000");
}

#[tokio::test]
async fn unknown_paths_and_methods_get_tableau_errors() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let unknown = app
        .xml("GET", "/api/3.24/sites/x/flows/y", &session.token, None)
        .await;
    assert_eq!(
        (unknown.status, unknown.error_code().as_str()),
        (404, "404003")
    );
    assert!(
        unknown
            .text
            .contains("Unknown resource '/3.24/sites/x/flows/y' specified in URI.")
    );
    let outside = app.xml("GET", "/favicon.ico", &session.token, None).await;
    assert_eq!(
        (outside.status, outside.error_code().as_str()),
        (404, "404003")
    );
    let wrong_method = app
        .xml("PATCH", &webhooks_path(&session), &session.token, None)
        .await;
    assert_eq!(
        (wrong_method.status, wrong_method.error_code().as_str()),
        (405, "405000")
    );
    assert!(wrong_method.text.contains("Invalid request method"));
    let json = app
        .json("PATCH", &webhooks_path(&session), &session.token, None)
        .await;
    assert_eq!(json.json()["error"]["code"], "405000");
}

#[tokio::test]
async fn hostile_names_are_stored_and_escaped_faithfully() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let name = r#"Sales "Q1" <draft> & ünïcödé 🎉 'x'"#;
    let body = serde_json::json!({"webhook": {
        "name": name, "event": "DatasourceCreated",
        "webhook-destination": {"webhook-destination-http": {"method": "POST", "url": GOOD_URL}}
    }});
    let created = app
        .json(
            "POST",
            &webhooks_path(&session),
            &session.token,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["webhook"]["id"].as_str().unwrap().to_owned();
    let xml = app
        .xml(
            "GET",
            &format!("{}/{id}", webhooks_path(&session)),
            &session.token,
            None,
        )
        .await;
    assert!(
        xml.text.contains(
            r#"name="Sales &quot;Q1&quot; &lt;draft&gt; &amp; ünïcödé 🎉 &apos;x&apos;""#
        ),
        "{}",
        xml.text
    );
    assert_eq!(xml.xml().find("webhook").unwrap().get("name"), Some(name));
}

/// A NUL character (JSON's `\u0000`) in a name: SQLite stores it, PostgreSQL's text cannot.
/// Either way the answer is the client's (stored, or `400000`), never a 5xx to retry forever,
/// and whatever was stored reads back in both formats.
#[tokio::test]
async fn a_nul_character_in_a_name_is_stored_or_refused_never_a_server_error() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let body = serde_json::json!({"webhook": {
        "name": "before\u{0}after", "event": "DatasourceCreated",
        "webhook-destination": {"webhook-destination-http": {"method": "POST", "url": GOOD_URL}}
    }});
    let path = webhooks_path(&session);
    let created = app
        .json("POST", &path, &session.token, Some(&body.to_string()))
        .await;
    match created.status {
        201 => {
            let id = created.json()["webhook"]["id"].as_str().unwrap().to_owned();
            let json = app
                .json("GET", &format!("{path}/{id}"), &session.token, None)
                .await;
            assert_eq!(json.status, 200, "{}", json.text);
            assert_eq!(json.json()["webhook"]["name"], "before\u{0}after");
            let xml = app
                .xml("GET", &format!("{path}/{id}"), &session.token, None)
                .await;
            assert!(xml.status < 500, "{} {}", xml.status, xml.text);
        }
        400 => {
            assert_eq!(created.json()["error"]["code"], "400000", "{}", created.text);
            let list = app.json("GET", &path, &session.token, None).await;
            assert_eq!(list.status, 200, "{}", list.text);
        }
        other => panic!("answered {other}: {}", created.text),
    }
}
