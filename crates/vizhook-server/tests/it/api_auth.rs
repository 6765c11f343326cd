//! Server info, sign-in with passwords and personal access tokens, sign-out and token expiry.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn server_info_answers_any_version_without_auth_in_both_formats() {
    let app = or_skip!(TestApp::spawn().await);
    for path in [
        "/api/2.4/serverInfo",
        "/api/3.6/serverinfo",
        "/api/3.24/serverInfo",
        "/api/3.99/serverinfo/",
    ] {
        let answer = app.call("GET", path, None, None, false).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        assert_eq!(answer.content_type, "application/xml;charset=utf-8");
        let root = answer.xml();
        let info = root.find("serverInfo").expect("serverInfo");
        assert_eq!(info.find("restApiVersion").unwrap().text_or_empty(), "3.24");
        assert!(info.find("productVersion").unwrap().get("build").is_some());
    }
    let answer = app
        .call("GET", "/api/3.24/serverinfo", None, None, true)
        .await;
    assert_eq!(answer.content_type, "application/json;charset=utf-8");
    let json = answer.json();
    assert_eq!(json["serverInfo"]["restApiVersion"], "3.24");
    assert_eq!(json["serverInfo"]["productVersion"]["value"], "2024.2.0");
}

#[tokio::test]
async fn versions_outside_the_served_range_are_unknown_resources() {
    let app = or_skip!(TestApp::spawn().await);
    for path in [
        "/api/2.3/serverinfo",
        "/api/1.0/serverinfo",
        "/api/4.0/serverinfo",
        "/api/latest/serverinfo",
    ] {
        let answer = app.call("GET", path, None, None, false).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.error_code(), "404003");
        let shown = path.trim_start_matches("/api");
        assert!(
            answer
                .text
                .contains(&format!("Unknown resource '{shown}' specified in URI.")),
            "{}",
            answer.text
        );
    }
}

#[tokio::test]
async fn sign_in_with_a_token_accepts_every_body_style_clients_send() {
    let app = or_skip!(TestApp::spawn().await);
    let xml = format!(
        r#"<tsRequest><credentials personalAccessTokenName="{PAT_NAME}" personalAccessTokenSecret="{PAT_SECRET}"><site contentUrl="" /></credentials></tsRequest>"#
    );
    let namespaced = xml.replace(
        "<tsRequest>",
        r#"<tsRequest xmlns="http://tableau.com/api">"#,
    );
    for (content_type, body) in [
        (None, &xml),
        (Some("text/xml"), &xml),
        (Some("application/xml"), &namespaced),
    ] {
        let mut request = app
            .client
            .post(app.url("/api/2.4/auth/signin"))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{content_type:?}");
        let text = response.text().await.unwrap();
        let root = vizhook_server::api::format::xml::parse(text.as_bytes()).unwrap();
        let credentials = root.find("credentials").unwrap();
        assert!(credentials.get("token").unwrap().len() > 40);
        assert_eq!(
            credentials.get("estimatedTimeToExpiration"),
            Some("4:00:00")
        );
        assert_eq!(
            credentials.find("site").unwrap().get("contentUrl"),
            Some("")
        );
        assert!(credentials.find("user").unwrap().get("id").is_some());
    }
    let json = format!(
        r#"{{"credentials":{{"site":{{"contentUrl":""}},"personalAccessTokenName":"{PAT_NAME}","personalAccessTokenSecret":"{PAT_SECRET}"}}}}"#
    );
    let answer = app
        .call("POST", "/api/3.6/auth/signin", None, Some(&json), true)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let json = answer.json();
    assert!(json["credentials"]["token"].as_str().unwrap().len() > 40);
    assert!(json["credentials"]["site"]["id"].is_string());
    assert!(json["credentials"]["user"]["id"].is_string());
}

#[tokio::test]
async fn sign_in_with_a_password_and_token_use_work_until_sign_out() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.sign_in_password("ADMIN", ADMIN_PASSWORD, "").await;
    let path = webhooks_path(&session);
    assert_eq!(
        app.xml("GET", &path, &session.token, None).await.status,
        200
    );
    let out = app
        .xml("POST", "/api/3.24/auth/signout", &session.token, Some(""))
        .await;
    assert_eq!(out.status, 204);
    assert!(out.text.is_empty());
    let after = app.xml("GET", &path, &session.token, None).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.error_code(), "401002");
    let again = app
        .xml("POST", "/api/3.24/auth/signout", &session.token, None)
        .await;
    assert_eq!(again.status, 204, "signing out twice is harmless");
}

#[tokio::test]
async fn wrong_credentials_and_unknown_sites_fail_with_401001() {
    let app = or_skip!(TestApp::spawn().await);
    let cases = [
        format!(r#"<credentials personalAccessTokenName="{PAT_NAME}" personalAccessTokenSecret="wrong"><site contentUrl="" /></credentials>"#),
        r#"<credentials personalAccessTokenName="nobody" personalAccessTokenSecret="x"><site contentUrl="" /></credentials>"#.to_owned(),
        r#"<credentials name="admin" password="wrong"><site contentUrl="" /></credentials>"#.to_owned(),
        r#"<credentials name="ghost" password="x"><site contentUrl="" /></credentials>"#.to_owned(),
        format!(r#"<credentials name="admin" password="{ADMIN_PASSWORD}"><site contentUrl="no-such-site" /></credentials>"#),
    ];
    for credentials in cases {
        let body = format!("<tsRequest>{credentials}</tsRequest>");
        let answer = app
            .call("POST", "/api/3.24/auth/signin", None, Some(&body), false)
            .await;
        assert_eq!(answer.status, 401, "{credentials}");
        assert_eq!(answer.error_code(), "401001");
        assert!(
            answer.text.contains("<summary>Signin Error</summary>"),
            "{}",
            answer.text
        );
    }
}

#[tokio::test]
async fn missing_and_bogus_tokens_are_refused() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    let missing = app.call("GET", &path, None, None, false).await;
    assert_eq!(
        (missing.status, missing.error_code().as_str()),
        (401, "401000")
    );
    let bogus = app.xml("GET", &path, "not-a-token", None).await;
    assert_eq!((bogus.status, bogus.error_code().as_str()), (401, "401002"));
    let json = app.json("GET", &path, "not-a-token", None).await;
    assert_eq!(json.status, 401);
    assert_eq!(
        json.json()["error"]["code"],
        "401002",
        "codes are strings in JSON"
    );
}

#[tokio::test]
async fn tokens_expire_after_the_configured_time() {
    let app = or_skip!(TestApp::spawn_with(|config| config.auth.session_ttl = Duration::from_secs(1)).await);
    let session = app.admin().await;
    let path = webhooks_path(&session);
    assert_eq!(
        app.xml("GET", &path, &session.token, None).await.status,
        200
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = app.xml("GET", &path, &session.token, None).await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.error_code(), "401002");
}

#[tokio::test]
async fn server_admins_sign_in_to_any_site_and_get_a_membership_there() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let site_id = app.create_site(&admin, "Finance", "finance").await;
    let there = app.sign_in_pat(PAT_NAME, PAT_SECRET, "Finance").await;
    assert_eq!(
        there.site_id, site_id,
        "content URLs match case-insensitively"
    );
    assert_ne!(
        there.user_id, admin.user_id,
        "Tableau gives users one LUID per site"
    );
    let current = app
        .json("GET", "/api/3.24/sessions/current", &there.token, None)
        .await
        .json();
    assert_eq!(current["session"]["site"]["contentUrl"], "finance");
    assert_eq!(
        current["session"]["user"]["siteRole"],
        "ServerAdministrator"
    );
}

#[tokio::test]
async fn unsupported_sign_in_forms_are_refused_clearly() {
    let app = or_skip!(TestApp::spawn().await);
    let jwt = r#"<tsRequest><credentials jwt="eyJ..." isUat="false"><site contentUrl="" /></credentials></tsRequest>"#;
    let answer = app
        .call("POST", "/api/3.24/auth/signin", None, Some(jwt), false)
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (401, "401001")
    );
    assert!(answer.text.contains("JWT"));
    let empty = r#"<tsRequest><credentials><site contentUrl="" /></credentials></tsRequest>"#;
    let answer = app
        .call("POST", "/api/3.24/auth/signin", None, Some(empty), false)
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (400, "400000")
    );
}
