//! Request values are checked against Tableau's types: a JSON value of the wrong type, or a
//! second copy of an element that appears once, is a `400` with Tableau's error body and
//! changes nothing; where Tableau is lenient (a null user id beside a token), so is vizhook.

use crate::helpers::*;

const SIGNIN: &str = "/api/3.24/auth/signin";

async fn webhook_count(app: &TestApp, session: &Session) -> usize {
    let list = app
        .json("GET", &webhooks_path(session), &session.token, None)
        .await
        .json();
    list["webhooks"]["webhook"].as_array().map_or(0, Vec::len)
}

fn assert_bad_request(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 400, "{what}: {}", answer.text);
    let body = answer.json();
    assert_eq!(body["error"]["code"], "400000", "{what}: {}", answer.text);
    assert!(
        body["error"]["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("must")),
        "{what}: {}",
        answer.text
    );
}

#[tokio::test]
async fn json_values_of_the_wrong_type_are_refused_and_change_nothing() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let hook = |name: &str, method: &str| {
        format!(
            r#"{{"webhook": {{"name": {name}, "event": "DatasourceCreated", "webhook-destination": {{"webhook-destination-http": {{"method": {method}, "url": "https://example.com/h"}}}}}}}}"#
        )
    };
    for (name, method) in [
        ("1", r#""POST""#),
        ("true", r#""POST""#),
        (r#""ok""#, "null"),
        (r#""ok""#, "[]"),
        (r#""ok""#, "{}"),
    ] {
        let body = hook(name, method);
        let answer = app
            .json(
                "POST",
                &webhooks_path(&session),
                &session.token,
                Some(&body),
            )
            .await;
        assert_bad_request(&answer, &body);
    }
    assert_eq!(
        webhook_count(&app, &session).await,
        0,
        "nothing was created"
    );

    let created = app
        .json(
            "POST",
            &webhooks_path(&session),
            &session.token,
            Some(&hook(r#""ok""#, r#""POST""#)),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["webhook"]["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", webhooks_path(&session));
    for enabled in ["[]", "{}", r#""""#, "1", r#""maybe""#] {
        let body = format!(r#"{{"webhook": {{"isEnabled": {enabled}}}}}"#);
        let answer = app.json("PUT", &path, &session.token, Some(&body)).await;
        assert_bad_request(&answer, &body);
    }
    let stored = app.json("GET", &path, &session.token, None).await.json();
    assert_eq!(stored["webhook"]["isEnabled"], true, "still enabled");
    assert_eq!(stored["webhook"]["name"], "ok");
}

#[tokio::test]
async fn a_site_of_the_wrong_type_does_not_sign_in_to_the_default_site() {
    let app = or_skip!(TestApp::spawn().await);
    for site in ["1", "null", "[]", r#""""#] {
        let body = format!(
            r#"{{"credentials": {{"site": {site}, "personalAccessTokenName": "{PAT_NAME}", "personalAccessTokenSecret": "{PAT_SECRET}"}}}}"#
        );
        let answer = app.call("POST", SIGNIN, None, Some(&body), true).await;
        assert_bad_request(&answer, &body);
    }
}

#[tokio::test]
async fn a_second_webhook_element_is_refused() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let one = r#"<webhook name="W" event="DatasourceCreated"><webhook-destination><webhook-destination-http method="POST" url="https://example.com/h"/></webhook-destination></webhook>"#;
    let body = format!("<tsRequest>{one}{one}</tsRequest>");
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
        (400, "400000"),
        "{}",
        answer.text
    );
    let json = r#"{"webhook": [{"name": "a", "event": "DatasourceCreated"}, {"name": "b", "event": "DatasourceCreated"}]}"#;
    let answer = app
        .json("POST", &webhooks_path(&session), &session.token, Some(json))
        .await;
    assert_bad_request(&answer, json);
    assert_eq!(webhook_count(&app, &session).await, 0);
}

#[tokio::test]
async fn a_null_or_empty_user_id_beside_a_token_is_no_impersonation() {
    let app = or_skip!(TestApp::spawn().await);
    for user in [r#"{"id": null}"#, r#"{"id": ""}"#, "{}"] {
        let body = format!(
            r#"{{"credentials": {{"site": {{"contentUrl": ""}}, "personalAccessTokenName": "{PAT_NAME}", "personalAccessTokenSecret": "{PAT_SECRET}", "user": {user}}}}}"#
        );
        let answer = app.call("POST", SIGNIN, None, Some(&body), true).await;
        assert_eq!(answer.status, 200, "{body}: {}", answer.text);
        assert!(answer.json()["credentials"]["token"].is_string());
    }
    let xml = format!(
        r#"<tsRequest><credentials personalAccessTokenName="{PAT_NAME}" personalAccessTokenSecret="{PAT_SECRET}"><site contentUrl=""/><user id=""/></credentials></tsRequest>"#
    );
    let answer = app.call("POST", SIGNIN, None, Some(&xml), false).await;
    assert_eq!(answer.status, 200, "{}", answer.text);

    let admin = app.admin().await;
    let body = format!(
        r#"{{"credentials": {{"site": {{"contentUrl": ""}}, "personalAccessTokenName": "{PAT_NAME}", "personalAccessTokenSecret": "{PAT_SECRET}", "user": {{"id": "{}"}}}}}}"#,
        admin.user_id
    );
    let answer = app.call("POST", SIGNIN, None, Some(&body), true).await;
    assert_eq!(
        answer.status, 401,
        "a real id still asks for impersonation: {}",
        answer.text
    );
    assert_eq!(answer.json()["error"]["code"], "401001");
}
