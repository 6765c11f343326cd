//! The dashboard over plain HTTP, for what a browser hides: the session cookie's attributes
//! (`Secure` outside `--dev`), the CSRF rule on the sign-in form and on every button, the
//! administrators-only rule, another site's webhook staying out of reach, and pages (not bare
//! errors) for unknown ids and bad filters. The browser test is `crates/vizhook/tests/browser.rs`.

use reqwest::{StatusCode, header};

use crate::helpers::{ADMIN, ADMIN_PASSWORD, TestApp};

const FORM: &str = "application/x-www-form-urlencoded";

/// A form body, as a browser encodes it.
fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The sign-in form's cookie (`name=value`) and CSRF token.
async fn sign_in_form(app: &TestApp) -> (String, String) {
    let page = app.client.get(app.url("/dashboard/signin")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    (cookie, csrf_of(&html))
}

fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// Signs in to the dashboard; returns the answer.
async fn sign_in(app: &TestApp, name: &str, password: &str, site: &str) -> reqwest::Response {
    let (cookie, csrf) = sign_in_form(app).await;
    app.client
        .post(app.url("/dashboard/signin"))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, FORM).body(encode(&[("csrf", csrf.as_str()), ("username", name), ("password", password), ("site", site)]))
        .send()
        .await
        .unwrap()
}

/// The `vizhook_session=...` pair an answer sets.
fn session_cookie(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("vizhook_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A signed-in administrator's session cookie and a page's CSRF token.
async fn admin_cookie(app: &TestApp) -> (String, String) {
    let answer = sign_in(app, ADMIN, ADMIN_PASSWORD, "").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&answer);
    let page = app
        .client
        .get(app.url("/dashboard"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap());
    (cookie, csrf)
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_outside_dev() {
    for dev in [false, true] {
        let app = or_skip!(TestApp::spawn_with(|config| config.server.dev = dev).await);
        let answer = sign_in(&app, ADMIN, ADMIN_PASSWORD, "").await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()[header::LOCATION], "/dashboard");
        let session = answer
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|v| v.starts_with("vizhook_session="))
            .expect("a session cookie");
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
        assert_eq!(session.contains("Secure"), !dev, "Secure unless --dev: {session}");
    }
}

#[tokio::test]
async fn forms_without_their_csrf_token_change_nothing() {
    let app = or_skip!(TestApp::spawn().await);
    // The sign-in form, without its cookie.
    let (_, csrf) = sign_in_form(&app).await;
    let answer = app
        .client
        .post(app.url("/dashboard/signin"))
        .header(header::CONTENT_TYPE, FORM).body(encode(&[("csrf", csrf.as_str()), ("username", ADMIN), ("password", ADMIN_PASSWORD)]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(answer.headers().get(header::SET_COOKIE).is_none(), "no session");

    let admin = app.admin().await;
    let id = app
        .create_webhook(&admin, "hook", "WorkbookCreated", "https://example.com/hook")
        .await;
    let (cookie, csrf) = admin_cookie(&app).await;
    let disable = app.url(&format!("/dashboard/webhooks/{id}/disable"));
    for token in ["", "0123456789abcdef"] {
        let answer = app
            .client
            .post(&disable)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, FORM).body(encode(&[("csrf", token)]))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "token {token:?}");
        assert!(answer.text().await.unwrap().contains("CSRF token is missing or wrong"));
    }
    let path = format!("/api/3.24/sites/{}/webhooks/{id}", admin.site_id);
    let hook = app.xml("GET", &path, &admin.token, None).await;
    assert_eq!(hook.xml().find("webhook").unwrap().get("isEnabled"), Some("true"));

    let answer = app
        .client
        .post(&disable)
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, FORM).body(encode(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let hook = app.xml("GET", &path, &admin.token, None).await;
    let hook = hook.xml();
    let hook = hook.find("webhook").unwrap();
    assert_eq!(hook.get("isEnabled"), Some("false"));
    assert!(hook.get("statusChangeReason").unwrap().contains("dashboard"));
}

#[tokio::test]
async fn only_administrators_get_in_and_only_to_their_site() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    app.user_on_site(&admin, "vic", "Viewer", "").await;
    let answer = sign_in(&app, "vic", "vic-password", "").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.headers().get_all(header::SET_COOKIE).iter().all(|c| !c.to_str().unwrap().starts_with("vizhook_session=")));
    let page = answer.text().await.unwrap();
    assert!(page.contains("Only server and site administrators"), "{page}");
    let wrong = sign_in(&app, ADMIN, "not-it", "").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("user name or password is wrong"));

    // A site administrator of another site sees none of the Default site's webhooks.
    let id = app
        .create_webhook(&admin, "default's", "WorkbookCreated", "https://example.com/hook")
        .await;
    app.create_site(&admin, "Bravo", "bravo").await;
    let on_bravo = app.sign_in_password(ADMIN, ADMIN_PASSWORD, "bravo").await;
    app.user_on_site(&on_bravo, "sam", "SiteAdministratorCreator", "bravo").await;
    let answer = sign_in(&app, "sam", "sam-password", "bravo").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&answer);
    let page = |path: String| {
        let cookie = cookie.clone();
        let request = app.client.get(app.url(&path)).header(header::COOKIE, cookie);
        async move { request.send().await.unwrap() }
    };
    let overview = page("/dashboard".to_owned()).await;
    assert_eq!(overview.status(), 200);
    let overview = overview.text().await.unwrap();
    assert!(!overview.contains(&id) && !overview.contains("site-switch"), "no switcher for a site administrator");
    let other = page(format!("/dashboard/webhooks/{id}")).await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert!(other.text().await.unwrap().contains("no webhook"));
}

#[tokio::test]
async fn bad_ids_and_filters_get_a_page_that_says_so() {
    let app = or_skip!(TestApp::spawn().await);
    let (cookie, _) = admin_cookie(&app).await;
    for (path, status, says) in [
        ("/dashboard/webhooks/nope", 404, "no webhook &#x27;nope&#x27;"),
        ("/dashboard/deliveries/nope", 404, "no delivery &#x27;nope&#x27;"),
        ("/dashboard/deliveries?state=bogus", 400, "state &#x27;bogus&#x27;"),
        ("/dashboard/deliveries?since=forever", 400, "time window &#x27;forever&#x27;"),
        ("/dashboard/deliveries?event=Nope", 400, "event &#x27;Nope&#x27;"),
    ] {
        let answer = app
            .client
            .get(app.url(path))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{path}");
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let page = answer.text().await.unwrap();
        assert!(page.contains(says), "{path} (escaped as HTML): {page}");
    }
    let anonymous = app.client.get(app.url("/dashboard/deliveries")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[header::LOCATION], "/dashboard/signin");
}
