//! Projects: the Default project stays where the site can find it, and the hierarchy stays a
//! tree.

use crate::helpers::TestApp;

#[tokio::test]
async fn the_default_project_cannot_be_renamed_moved_or_deleted_and_no_cycle_is_made() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let token = Some(session.token.as_str());
    let base = format!("/api/3.24/sites/{}/projects", session.site_id);
    let list = app.call("GET", &base, token, None, true).await;
    let default = list.json()["projects"]["project"]
        .as_array()
        .expect("projects")
        .iter()
        .find(|p| p["name"] == "Default")
        .expect("a Default project")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let create = |name: String, parent: Option<String>| {
        let body = match parent {
            Some(parent) => {
                format!(r#"{{"project": {{"name": "{name}", "parentProjectId": "{parent}"}}}}"#)
            }
            None => format!(r#"{{"project": {{"name": "{name}"}}}}"#),
        };
        let (app, base) = (&app, &base);
        async move {
            let answer = app.call("POST", base, token, Some(&body), true).await;
            assert_eq!(answer.status, 201, "{}", answer.text);
            answer.json()["project"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        }
    };
    let a = create("A".to_owned(), None).await;
    let b = create("B".to_owned(), Some(a.clone())).await;

    let put = |id: &str, body: &str| {
        let path = format!("{base}/{id}");
        let (app, body) = (&app, body.to_owned());
        async move { app.call("PUT", &path, token, Some(&body), false).await }
    };
    for body in [
        r#"<tsRequest><project name="Renamed"/></tsRequest>"#.to_owned(),
        format!(r#"<tsRequest><project parentProjectId="{a}"/></tsRequest>"#),
    ] {
        let answer = put(&default, &body).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (403, "403004".to_owned()),
            "{body}: {}",
            answer.text
        );
    }
    let answer = put(
        &default,
        r#"<tsRequest><project name="Default" description="still here"/></tsRequest>"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = app
        .call("DELETE", &format!("{base}/{default}"), token, None, false)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text);

    // A into its own child B: a cycle; A into itself too.
    for parent in [&b, &a] {
        let answer = put(
            &a,
            &format!(r#"<tsRequest><project parentProjectId="{parent}"/></tsRequest>"#),
        )
        .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, "400000".to_owned()),
            "{}",
            answer.text
        );
    }
    // Moving B to the top level is fine.
    let answer = put(
        &b,
        r#"<tsRequest><project parentProjectId=""/></tsRequest>"#,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn content_permissions_must_be_a_mode_tableau_knows() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let token = Some(session.token.as_str());
    let base = format!("/api/3.24/sites/{}/projects", session.site_id);
    let body =
        |mode: &str| format!(r#"{{"project": {{"name": "P", "contentPermissions": "{mode}"}}}}"#);
    let answer = app
        .call("POST", &base, token, Some(&body("Bogus")), true)
        .await;
    assert_eq!(
        (answer.status, answer.json()["error"]["code"].as_str()),
        (400, Some("400000"))
    );
    assert!(answer.text.contains("LockedToProject"), "{}", answer.text);
    let answer = app
        .call("POST", &base, token, Some(&body("LockedToProject")), true)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let id = answer.json()["project"]["id"].as_str().unwrap().to_owned();
    let answer = app
        .call(
            "PUT",
            &format!("{base}/{id}"),
            token,
            Some(&body("Nope")),
            true,
        )
        .await;
    assert_eq!(
        (answer.status, answer.json()["error"]["code"].as_str()),
        (400, Some("400000"))
    );
}
