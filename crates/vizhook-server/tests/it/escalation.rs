//! The two holes a site administrator had (issue 16), tried as the attacker did, and the rules
//! that close them: only server administrators manage server administrators, a site
//! administrator changes only accounts confined to their sites, nobody changes their own site
//! role, ContentOnly sites keep their users from site administrators, unlicensed users cannot
//! sign in.

use crate::helpers::*;

/// Site B (`bravo`) with its administrator `badmin`, signed in; the server administrator's
/// session on B.
async fn site_b(app: &TestApp) -> (Session, Session, String) {
    let admin = app.admin().await;
    let site_b = app.create_site(&admin, "Bravo", "bravo").await;
    let admin_on_b = app.sign_in_pat(PAT_NAME, PAT_SECRET, "bravo").await;
    let badmin = app
        .user_on_site(&admin_on_b, "badmin", "SiteAdministratorCreator", "bravo")
        .await;
    (admin_on_b, badmin, site_b)
}

fn user_path(site: &str, user: &str) -> String {
    format!("/api/3.24/sites/{site}/users/{user}")
}

async fn role_of(app: &TestApp, admin: &Session, user: &str) -> String {
    let answer = app
        .xml("GET", &user_path(&admin.site_id, user), &admin.token, None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
        .xml()
        .find("user")
        .unwrap()
        .get("siteRole")
        .unwrap()
        .to_owned()
}

const TO_SERVER_ADMIN: &str = r#"<tsRequest><user siteRole="ServerAdministrator"/></tsRequest>"#;

#[tokio::test]
async fn a_site_administrator_cannot_promote_itself_to_server_administrator() {
    let app = or_skip!(TestApp::spawn().await);
    let (admin_on_b, badmin, _) = site_b(&app).await;
    let own = user_path(&badmin.site_id, &badmin.user_id);
    let answer = app
        .xml("PUT", &own, &badmin.token, Some(TO_SERVER_ADMIN))
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (403, "403009"),
        "{}",
        answer.text
    );
    assert_eq!(
        role_of(&app, &admin_on_b, &badmin.user_id).await,
        "SiteAdministratorCreator"
    );
    // Nothing a server administrator may do became possible.
    let sites = app.xml("GET", "/api/3.24/sites", &badmin.token, None).await;
    assert_eq!(sites.status, 403, "{}", sites.text);
    let create = app
        .xml(
            "POST",
            "/api/3.24/sites",
            &badmin.token,
            Some(r#"<tsRequest><site name="Mine" contentUrl="mine"/></tsRequest>"#),
        )
        .await;
    assert_eq!(create.status, 403, "{}", create.text);
    let default_site = app
        .call(
            "POST",
            "/api/3.24/auth/signin",
            None,
            Some(r#"<tsRequest><credentials name="badmin" password="badmin-password"><site contentUrl=""/></credentials></tsRequest>"#),
            false,
        )
        .await;
    assert_eq!(default_site.status, 401, "{}", default_site.text);
    // Any other role is refused too: nobody changes their own site role.
    let demote = app
        .xml(
            "PUT",
            &own,
            &badmin.token,
            Some(r#"<tsRequest><user siteRole="Viewer"/></tsRequest>"#),
        )
        .await;
    assert_eq!(demote.status, 403, "{}", demote.text);
}

#[tokio::test]
async fn a_site_administrator_cannot_make_another_user_server_administrator() {
    let app = or_skip!(TestApp::spawn().await);
    let (admin_on_b, badmin, _) = site_b(&app).await;
    let helper = app
        .user_on_site(&admin_on_b, "accomplice", "Viewer", "bravo")
        .await;
    let answer = app
        .xml(
            "PUT",
            &user_path(&badmin.site_id, &helper.user_id),
            &badmin.token,
            Some(TO_SERVER_ADMIN),
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code().as_str()),
        (403, "403009"),
        "{}",
        answer.text
    );
    assert_eq!(role_of(&app, &admin_on_b, &helper.user_id).await, "Viewer");
    let sites = app.xml("GET", "/api/3.24/sites", &helper.token, None).await;
    assert_eq!(sites.status, 403, "{}", sites.text);
    // Other roles stay the site administrator's to give.
    let creator = app
        .xml(
            "PUT",
            &user_path(&badmin.site_id, &helper.user_id),
            &badmin.token,
            Some(r#"<tsRequest><user siteRole="Creator"/></tsRequest>"#),
        )
        .await;
    assert_eq!(creator.status, 200, "{}", creator.text);
    assert_eq!(role_of(&app, &admin_on_b, &helper.user_id).await, "Creator");
}

/// `badmin` adds an account of site A to B, then tries to take it over.
async fn try_takeover(app: &TestApp, badmin: &Session, victim: &str) {
    let users = format!("/api/3.24/sites/{}/users", badmin.site_id);
    let body = format!(r#"<tsRequest><user name="{victim}" siteRole="Viewer"/></tsRequest>"#);
    let added = app.xml("POST", &users, &badmin.token, Some(&body)).await;
    assert_eq!(
        added.status, 201,
        "joining site B is allowed: {}",
        added.text
    );
    let id = added
        .xml()
        .find("user")
        .unwrap()
        .get("id")
        .unwrap()
        .to_owned();
    for change in [
        r#"<tsRequest><user password="attacker-password" email="attacker@example.com"/></tsRequest>"#,
        r#"<tsRequest><user password="attacker-password"/></tsRequest>"#,
        r#"<tsRequest><user email="attacker@example.com"/></tsRequest>"#,
        r#"<tsRequest><user fullName="Owned"/></tsRequest>"#,
        r#"<tsRequest><user authSetting="SAML"/></tsRequest>"#,
    ] {
        let answer = app
            .xml("PUT", &format!("{users}/{id}"), &badmin.token, Some(change))
            .await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (403, "403009"),
            "{change}: {}",
            answer.text
        );
    }
    let sign_in = |password: &str| {
        format!(
            r#"<tsRequest><credentials name="{victim}" password="{password}"><site contentUrl="alpha"/></credentials></tsRequest>"#
        )
    };
    let attacker = app
        .call(
            "POST",
            "/api/3.24/auth/signin",
            None,
            Some(&sign_in("attacker-password")),
            false,
        )
        .await;
    assert_eq!(attacker.status, 401, "{}", attacker.text);
    let own = app
        .call(
            "POST",
            "/api/3.24/auth/signin",
            None,
            Some(&sign_in(&format!("{victim}-password"))),
            false,
        )
        .await;
    assert_eq!(
        own.status, 200,
        "the victim's own password still works: {}",
        own.text
    );
}

#[tokio::test]
async fn a_site_administrator_cannot_take_over_an_account_of_another_site() {
    let app = or_skip!(TestApp::spawn().await);
    let (_, badmin, _) = site_b(&app).await;
    let admin = app.admin().await;
    app.create_site(&admin, "Alpha", "alpha").await;
    let admin_on_a = app.sign_in_pat(PAT_NAME, PAT_SECRET, "alpha").await;
    app.user_on_site(&admin_on_a, "victim_a", "Viewer", "alpha")
        .await;
    app.user_on_site(
        &admin_on_a,
        "alpha_admin",
        "SiteAdministratorCreator",
        "alpha",
    )
    .await;
    try_takeover(&app, &badmin, "victim_a").await;
    try_takeover(&app, &badmin, "alpha_admin").await;
}

#[tokio::test]
async fn an_administrator_of_every_site_of_an_account_may_change_it() {
    let app = or_skip!(TestApp::spawn().await);
    let (admin_on_b, badmin, _) = site_b(&app).await;
    let confined = app
        .user_on_site(&admin_on_b, "confined", "Viewer", "bravo")
        .await;
    let answer = app
        .xml(
            "PUT",
            &user_path(&badmin.site_id, &confined.user_id),
            &badmin.token,
            Some(
                r#"<tsRequest><user password="reset-by-admin" fullName="Con Fined"/></tsRequest>"#,
            ),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    app.sign_in_password("confined", "reset-by-admin", "bravo")
        .await;
    // Users keep their own settings, and sending the role they have is no change.
    let own = app
        .xml(
            "PUT",
            &user_path(&confined.site_id, &confined.user_id),
            &confined.token,
            Some(r#"<tsRequest><user siteRole="Viewer" email="me@example.com"/></tsRequest>"#),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
}

#[tokio::test]
async fn server_administrators_are_out_of_a_site_administrators_reach() {
    let app = or_skip!(TestApp::spawn().await);
    let (admin_on_b, badmin, _) = site_b(&app).await;
    let users = format!("/api/3.24/sites/{}/users", badmin.site_id);
    let add_admin = app
        .xml(
            "POST",
            &users,
            &badmin.token,
            Some(&format!(
                r#"<tsRequest><user name="{ADMIN}" siteRole="Viewer"/></tsRequest>"#
            )),
        )
        .await;
    assert_eq!(add_admin.status, 403, "{}", add_admin.text);
    let admin_user = user_path(&badmin.site_id, &admin_on_b.user_id);
    for (method, body) in [
        (
            "PUT",
            Some(r#"<tsRequest><user siteRole="Viewer"/></tsRequest>"#),
        ),
        (
            "PUT",
            Some(r#"<tsRequest><user password="gotcha"/></tsRequest>"#),
        ),
        ("DELETE", None),
    ] {
        let answer = app.xml(method, &admin_user, &badmin.token, body).await;
        assert_eq!(answer.status, 403, "{method} {body:?}: {}", answer.text);
    }
    assert_eq!(
        role_of(&app, &admin_on_b, &admin_on_b.user_id).await,
        "ServerAdministrator"
    );
    app.sign_in_password(ADMIN, ADMIN_PASSWORD, "").await;
}

#[tokio::test]
async fn content_only_sites_keep_their_users_from_site_administrators() {
    let app = or_skip!(TestApp::spawn().await);
    let (admin_on_b, badmin, site_b) = site_b(&app).await;
    let viewer = app
        .user_on_site(&admin_on_b, "viewer_b", "Viewer", "bravo")
        .await;
    let site = format!("/api/3.24/sites/{site_b}");
    let content_only = r#"<tsRequest><site adminMode="ContentOnly"/></tsRequest>"#;
    let by_site_admin = app
        .xml("PUT", &site, &badmin.token, Some(content_only))
        .await;
    assert_eq!(by_site_admin.status, 403, "{}", by_site_admin.text);
    let rename = app
        .xml(
            "PUT",
            &site,
            &badmin.token,
            Some(r#"<tsRequest><site name="Bravo Team"/></tsRequest>"#),
        )
        .await;
    assert_eq!(rename.status, 200, "{}", rename.text);
    let by_server_admin = app
        .xml("PUT", &site, &admin_on_b.token, Some(content_only))
        .await;
    assert_eq!(by_server_admin.status, 200, "{}", by_server_admin.text);

    let users = format!("{site}/users");
    let add = app
        .xml(
            "POST",
            &users,
            &badmin.token,
            Some(r#"<tsRequest><user name="newcomer" siteRole="Viewer"/></tsRequest>"#),
        )
        .await;
    assert_eq!(add.status, 403, "{}", add.text);
    let promote = app
        .xml(
            "PUT",
            &format!("{users}/{}", viewer.user_id),
            &badmin.token,
            Some(r#"<tsRequest><user siteRole="Creator"/></tsRequest>"#),
        )
        .await;
    assert_eq!(promote.status, 403, "{}", promote.text);
    let remove = app
        .xml(
            "DELETE",
            &format!("{users}/{}", viewer.user_id),
            &badmin.token,
            None,
        )
        .await;
    assert_eq!(remove.status, 403, "{}", remove.text);
    assert_eq!(role_of(&app, &admin_on_b, &viewer.user_id).await, "Viewer");
}

#[tokio::test]
async fn unlicensed_users_cannot_sign_in_or_keep_using_a_session() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let viewer = app
        .user_on_site(&admin, "soon_unlicensed", "Viewer", "")
        .await;
    let unlicense = app
        .xml(
            "PUT",
            &user_path(&admin.site_id, &viewer.user_id),
            &admin.token,
            Some(r#"<tsRequest><user siteRole="Unlicensed"/></tsRequest>"#),
        )
        .await;
    assert_eq!(unlicense.status, 200, "{}", unlicense.text);
    let current = app
        .xml("GET", "/api/3.24/sessions/current", &viewer.token, None)
        .await;
    assert_eq!(
        (current.status, current.error_code().as_str()),
        (401, "401002"),
        "{}",
        current.text
    );
    let sign_in = app
        .call(
            "POST",
            "/api/3.24/auth/signin",
            None,
            Some(r#"<tsRequest><credentials name="soon_unlicensed" password="soon_unlicensed-password"><site contentUrl=""/></credentials></tsRequest>"#),
            false,
        )
        .await;
    assert_eq!(
        (sign_in.status, sign_in.error_code().as_str()),
        (401, "401001"),
        "{}",
        sign_in.text
    );
}
