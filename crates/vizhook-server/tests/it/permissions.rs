//! Who may do what: only server and site administrators manage webhooks, only on their own
//! site; only server administrators manage sites and server administrators.

use crate::helpers::*;

#[tokio::test]
async fn site_users_cannot_manage_webhooks() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let id = app
        .create_webhook(&admin, "hook", "DatasourceCreated", "https://example.com/h")
        .await;
    let path = webhooks_path(&admin);
    for role in ["Viewer", "Explorer", "Creator"] {
        let user = app
            .user_on_site(&admin, &format!("user-{role}"), role, "")
            .await;
        let requests = [
            ("GET", path.clone(), None),
            ("GET", format!("{path}/{id}"), None),
            ("GET", format!("{path}/{id}/test"), None),
            ("DELETE", format!("{path}/{id}"), None),
            (
                "PUT",
                format!("{path}/{id}"),
                Some("<tsRequest><webhook isEnabled=\"false\"/></tsRequest>"),
            ),
            (
                "POST",
                path.clone(),
                Some(
                    "<tsRequest><webhook name=\"x\" event=\"DatasourceCreated\"><webhook-destination><webhook-destination-http url=\"https://example.com\"/></webhook-destination></webhook></tsRequest>",
                ),
            ),
        ];
        for (method, path, body) in requests {
            let answer = app.xml(method, &path, &user.token, body).await;
            assert_eq!(answer.status, 403, "{role} {method} {path}");
            assert_eq!(answer.error_code(), "403004");
        }
        let json = app
            .json("GET", &webhooks_path(&user), &user.token, None)
            .await;
        assert_eq!(json.json()["error"]["code"], "403004");
    }
    let still = app
        .xml("GET", &format!("{path}/{id}"), &admin.token, None)
        .await
        .xml();
    assert_eq!(
        still.find("webhook").unwrap().get("isEnabled"),
        Some("true"),
        "nothing changed"
    );
}

#[tokio::test]
async fn site_admins_manage_webhooks_on_their_site_only() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    app.create_site(&admin, "Sales", "sales").await;
    let default_hook = app
        .create_webhook(
            &admin,
            "default",
            "DatasourceCreated",
            "https://example.com/d",
        )
        .await;

    let server_admin_on_sales = app.sign_in_pat(PAT_NAME, PAT_SECRET, "sales").await;
    let sales_admin = app
        .user_on_site(
            &server_admin_on_sales,
            "sally",
            "SiteAdministratorCreator",
            "sales",
        )
        .await;
    let own = app
        .create_webhook(
            &sales_admin,
            "sales hook",
            "WorkbookCreated",
            "https://example.com/s",
        )
        .await;
    let listed = app
        .xml(
            "GET",
            &webhooks_path(&sales_admin),
            &sales_admin.token,
            None,
        )
        .await
        .xml();
    assert_eq!(listed.find("webhooks").unwrap().children.len(), 1);
    assert_eq!(
        listed.find("webhooks").unwrap().children[0].get("id"),
        Some(own.as_str())
    );

    let other = format!("/api/3.24/sites/{}/webhooks", admin.site_id);
    for (method, path) in [
        ("GET", other.clone()),
        ("GET", format!("{other}/{default_hook}")),
        ("DELETE", format!("{other}/{default_hook}")),
    ] {
        let answer = app.xml(method, &path, &sales_admin.token, None).await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (403, "403000"),
            "{method} {path}"
        );
    }
    let sales_hook_via_default = format!("{}/{own}", webhooks_path(&admin));
    let answer = app
        .xml("GET", &sales_hook_via_default, &admin.token, None)
        .await;
    assert_eq!(
        answer.status, 404,
        "a webhook is only visible on its own site"
    );
    let still = app
        .xml(
            "GET",
            &format!("{other}/{default_hook}"),
            &admin.token,
            None,
        )
        .await;
    assert_eq!(still.status, 200);
}

#[tokio::test]
async fn only_server_admins_manage_sites_and_server_admins() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let site_admin = app
        .user_on_site(&admin, "sam", "SiteAdministratorExplorer", "")
        .await;
    let create = r#"<tsRequest><site name="Nope" contentUrl="nope"/></tsRequest>"#;
    let answer = app
        .xml("POST", "/api/3.24/sites", &site_admin.token, Some(create))
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (403, "403004")
    );
    let answer = app
        .xml("GET", "/api/3.24/sites", &site_admin.token, None)
        .await;
    assert_eq!(answer.status, 403);
    let own_site = app
        .xml(
            "GET",
            &format!("/api/3.24/sites/{}", admin.site_id),
            &site_admin.token,
            None,
        )
        .await;
    assert_eq!(
        own_site.status, 200,
        "a site administrator may read their own site"
    );

    let users = format!("/api/3.24/sites/{}/users", admin.site_id);
    let promote = r#"<tsRequest><user name="mallory" siteRole="ServerAdministrator"/></tsRequest>"#;
    let answer = app
        .xml("POST", &users, &site_admin.token, Some(promote))
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (403, "403004")
    );
    let answer = app
        .xml(
            "DELETE",
            &format!("{users}/{}", admin.user_id),
            &site_admin.token,
            None,
        )
        .await;
    assert_eq!(
        answer.status, 403,
        "site admins cannot remove server admins"
    );
    let demote = r#"<tsRequest><user siteRole="Viewer"/></tsRequest>"#;
    let answer = app
        .xml(
            "PUT",
            &format!("{users}/{}", admin.user_id),
            &site_admin.token,
            Some(demote),
        )
        .await;
    assert_eq!(
        answer.status, 403,
        "site admins cannot demote server admins"
    );
}
