//! Sites and users: enough of Tableau's API to run multi-site scenarios.

use crate::helpers::*;

#[tokio::test]
async fn sites_create_query_get_update_delete() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let id = app.create_site(&admin, "Marketing", "marketing").await;
    let conflict_name = r#"<tsRequest><site name="marketing" contentUrl="other"/></tsRequest>"#;
    let answer = app
        .xml("POST", "/api/3.24/sites", &admin.token, Some(conflict_name))
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (409, "409001")
    );
    let conflict_url = r#"<tsRequest><site name="Other" contentUrl="MARKETING"/></tsRequest>"#;
    let answer = app
        .xml("POST", "/api/3.24/sites", &admin.token, Some(conflict_url))
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (409, "409002")
    );
    let bad_url = r#"<tsRequest><site name="Bad" contentUrl="has space"/></tsRequest>"#;
    assert_eq!(
        app.xml("POST", "/api/3.24/sites", &admin.token, Some(bad_url))
            .await
            .status,
        400
    );

    let listed = app
        .json(
            "GET",
            "/api/3.24/sites?pageSize=1&pageNumber=2",
            &admin.token,
            None,
        )
        .await
        .json();
    assert_eq!(listed["pagination"]["totalAvailable"], "2");
    assert_eq!(listed["pagination"]["pageSize"], "1");
    assert_eq!(listed["sites"]["site"][0]["contentUrl"], "marketing");

    for path in [
        format!("/api/3.24/sites/{id}"),
        "/api/3.24/sites/Marketing?key=name".to_owned(),
        "/api/3.24/sites/marketing?key=contentUrl".to_owned(),
    ] {
        let answer = app.xml("GET", &path, &admin.token, None).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(
            answer.xml().find("site").unwrap().get("id"),
            Some(id.as_str())
        );
    }

    let update = r#"<tsRequest><site name="Marketing EMEA" state="Suspended"/></tsRequest>"#;
    let updated = app
        .xml(
            "PUT",
            &format!("/api/3.24/sites/{id}"),
            &admin.token,
            Some(update),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let root = updated.xml();
    let site = root.find("site").unwrap();
    assert_eq!(
        (site.get("name"), site.get("state"), site.get("contentUrl")),
        (Some("Marketing EMEA"), Some("Suspended"), Some("marketing"))
    );

    let there = app.sign_in_pat(PAT_NAME, PAT_SECRET, "marketing").await;
    app.create_webhook(&there, "m", "SiteUpdated", "https://example.com/m")
        .await;
    assert_eq!(
        app.xml(
            "DELETE",
            &format!("/api/3.24/sites/{id}"),
            &admin.token,
            None
        )
        .await
        .status,
        204
    );
    let gone = app
        .xml("GET", &format!("/api/3.24/sites/{id}"), &admin.token, None)
        .await;
    assert_eq!((gone.status, gone.error_code().as_str()), (404, "404000"));
    assert_eq!(
        app.xml("GET", &webhooks_path(&there), &there.token, None)
            .await
            .status,
        401,
        "sessions die with the site"
    );

    let default = app
        .xml(
            "DELETE",
            &format!("/api/3.24/sites/{}", admin.site_id),
            &admin.token,
            None,
        )
        .await;
    assert_eq!(default.status, 403, "the Default site stays");
}

#[tokio::test]
async fn users_add_list_get_update_role_and_remove() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let users = format!("/api/3.24/sites/{}/users", admin.site_id);
    let add = r#"<tsRequest><user name="alice" siteRole="Creator" authSetting="ServerDefault"/></tsRequest>"#;
    let added = app.xml("POST", &users, &admin.token, Some(add)).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let root = added.xml();
    let alice = root.find("user").unwrap();
    let alice_id = alice.get("id").unwrap().to_owned();
    assert_eq!(
        (alice.get("name"), alice.get("siteRole")),
        (Some("alice"), Some("Creator"))
    );
    let duplicate = app.xml("POST", &users, &admin.token, Some(add)).await;
    assert_eq!(
        (duplicate.status, duplicate.error_code().as_str()),
        (409, "409017")
    );
    let bad_role = r#"<tsRequest><user name="bob" siteRole="Overlord"/></tsRequest>"#;
    assert_eq!(
        app.xml("POST", &users, &admin.token, Some(bad_role))
            .await
            .status,
        400
    );

    let listed = app.json("GET", &users, &admin.token, None).await.json();
    assert_eq!(listed["pagination"]["totalAvailable"], "2");
    let names: Vec<&str> = listed["users"]["user"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice"]);
    let filtered = app
        .json(
            "GET",
            &format!("{users}?filter=name:eq:alice"),
            &admin.token,
            None,
        )
        .await
        .json();
    assert_eq!(filtered["users"]["user"].as_array().unwrap().len(), 1);

    let promote = r#"<tsRequest><user siteRole="SiteAdministratorCreator" fullName="Alice A" email="alice@example.com" password="pw-1"/></tsRequest>"#;
    let promoted = app
        .xml(
            "PUT",
            &format!("{users}/{alice_id}"),
            &admin.token,
            Some(promote),
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    let root = promoted.xml();
    let user = root.find("user").unwrap();
    assert_eq!(
        (
            user.get("siteRole"),
            user.get("fullName"),
            user.get("email")
        ),
        (
            Some("SiteAdministratorCreator"),
            Some("Alice A"),
            Some("alice@example.com")
        )
    );

    let alice_session = app.sign_in_password("alice", "pw-1", "").await;
    let own = app
        .xml(
            "GET",
            &format!("{users}/{alice_id}"),
            &alice_session.token,
            None,
        )
        .await;
    assert_eq!(own.status, 200);
    app.create_webhook(
        &alice_session,
        "alice's",
        "UserDeleted",
        "https://example.com/a",
    )
    .await;

    assert_eq!(
        app.xml("DELETE", &format!("{users}/{alice_id}"), &admin.token, None)
            .await
            .status,
        204
    );
    let gone = app
        .xml("GET", &format!("{users}/{alice_id}"), &admin.token, None)
        .await;
    assert_eq!((gone.status, gone.error_code().as_str()), (404, "404002"));
    assert_eq!(
        app.xml(
            "GET",
            &webhooks_path(&alice_session),
            &alice_session.token,
            None
        )
        .await
        .status,
        401
    );
    let hooks = app
        .xml("GET", &webhooks_path(&admin), &admin.token, None)
        .await
        .xml();
    let owner = hooks.find("webhooks").unwrap().children[0]
        .find("owner")
        .unwrap()
        .clone();
    assert_eq!(
        owner.get("name"),
        Some(""),
        "the webhook outlives its removed owner"
    );
    let myself = app
        .xml(
            "DELETE",
            &format!("{users}/{}", admin.user_id),
            &admin.token,
            None,
        )
        .await;
    assert_eq!(myself.status, 403, "nobody removes themselves");
}

#[tokio::test]
async fn users_edit_themselves_but_not_their_role() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let viewer = app.user_on_site(&admin, "vic", "Viewer", "").await;
    let path = format!(
        "/api/3.24/sites/{}/users/{}",
        viewer.site_id, viewer.user_id
    );
    let rename = r#"<tsRequest><user fullName="Vic V"/></tsRequest>"#;
    assert_eq!(
        app.xml("PUT", &path, &viewer.token, Some(rename))
            .await
            .status,
        200
    );
    let promote = r#"<tsRequest><user siteRole="SiteAdministratorCreator"/></tsRequest>"#;
    let answer = app.xml("PUT", &path, &viewer.token, Some(promote)).await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (403, "403009")
    );
    let others = format!("/api/3.24/sites/{}/users/{}", admin.site_id, admin.user_id);
    assert_eq!(
        app.xml("GET", &others, &viewer.token, None).await.status,
        403
    );
}

#[tokio::test]
async fn the_default_site_is_found_by_its_empty_content_url() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    app.create_site(&admin, "Marketing", "marketing").await;
    // tableauserverclient's get_by_content_url("") asks exactly this.
    let answer = app
        .xml("GET", "/api/3.24/sites/?key=contentUrl", &admin.token, None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let site = answer.xml();
    let site = site.find("site").expect("one site, not a list");
    assert_eq!(site.get("contentUrl"), Some(""));
    assert_eq!(site.get("id"), Some(admin.site_id.as_str()));
    let answer = app
        .xml("GET", "/api/3.24/sites/?key=name", &admin.token, None)
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (404, "404000")
    );
    let answer = app
        .xml("GET", "/api/3.24/sites/?key=bogus", &admin.token, None)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
}
