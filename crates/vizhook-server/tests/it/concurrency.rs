//! What the API promises about names and refreshes holds when requests race: the database,
//! not only the handler's check, enforces it, and the loser gets Tableau's conflict error.

use futures_util::future::join_all;

use crate::helpers::*;

/// Statuses of `answers`, sorted, with each status's error code.
fn outcomes(answers: &[Answer]) -> Vec<(u16, String)> {
    let mut outcomes: Vec<_> = answers
        .iter()
        .map(|answer| {
            let code = if answer.status >= 400 {
                answer.error_code()
            } else {
                String::new()
            };
            (answer.status, code)
        })
        .collect();
    outcomes.sort();
    outcomes
}

/// A publish body of `overview.twb` as workbook `name`: its content type and bytes.
fn workbook_upload(name: &str) -> (String, Vec<u8>) {
    multipart(
        &format!(r#"<tsRequest><workbook name="{name}" /></tsRequest>"#),
        "tableau_workbook",
        "overview.twb",
        &fixture("overview.twb", "127.0.0.1", 5432),
    )
}

/// How many workbooks the admin's site lists.
async fn workbook_count(app: &TestApp, admin: &Session) -> usize {
    let listed = app
        .xml(
            "GET",
            &format!("/api/3.24/sites/{}/workbooks", admin.site_id),
            &admin.token,
            None,
        )
        .await;
    listed.xml().find("workbooks").unwrap().children.len()
}

fn one_winner(status: u16, code: &str, n: usize) -> Vec<(u16, String)> {
    let mut expected = vec![(status, String::new())];
    expected.extend(std::iter::repeat_n((409, code.to_owned()), n - 1));
    expected
}

#[tokio::test]
async fn concurrent_publishes_of_one_name_create_one_workbook() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let path = format!(
        "/api/3.24/sites/{}/workbooks?workbookType=twb",
        admin.site_id
    );
    let (content_type, body) = workbook_upload("Race");
    let answers =
        join_all((0..20).map(|_| app.publish(&admin, &path, &content_type, body.clone()))).await;
    assert_eq!(outcomes(&answers), one_winner(201, "409000", 20));
    assert_eq!(workbook_count(&app, &admin).await, 1);
}

#[tokio::test]
async fn concurrent_refreshes_start_one_job() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    // A server that accepts connections and never answers keeps the refresh's PostgreSQL
    // sign-in (and so the job) running while the other requests arrive.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let id = app
        .publish_datasource(&admin, "Slow", "127.0.0.1", port, "")
        .await;
    let path = format!("/api/3.24/sites/{}/datasources/{id}/refresh", admin.site_id);
    let answers =
        join_all((0..20).map(|_| app.xml("POST", &path, &admin.token, Some("<tsRequest />"))))
            .await;
    assert_eq!(outcomes(&answers), one_winner(202, "409093", 20));
}

#[tokio::test]
async fn concurrent_site_creations_of_one_name_create_one_site() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let answers = join_all((0..10).map(|i| {
        let body = format!(r#"<tsRequest><site name="Race" contentUrl="race{i}" /></tsRequest>"#);
        let app = &app;
        let token = admin.token.clone();
        async move {
            app.xml("POST", "/api/3.24/sites", &token, Some(&body))
                .await
        }
    }))
    .await;
    assert_eq!(outcomes(&answers), one_winner(201, "409001", 10));
}

#[tokio::test]
async fn renaming_to_a_taken_name_is_a_conflict_and_changes_nothing() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let site = format!("/api/3.24/sites/{}", admin.site_id);
    let cases = [("datasources", "datasource"), ("workbooks", "workbook")];
    for (collection, element) in cases {
        let (first, second) = if collection == "datasources" {
            (
                app.publish_datasource(&admin, "First", "127.0.0.1", 5432, "")
                    .await,
                app.publish_datasource(&admin, "Second", "127.0.0.1", 5432, "")
                    .await,
            )
        } else {
            (
                app.publish_workbook(&admin, "First", "127.0.0.1", 5432, "")
                    .await,
                app.publish_workbook(&admin, "Second", "127.0.0.1", 5432, "")
                    .await,
            )
        };
        let body = format!(r#"<tsRequest><{element} name="first" /></tsRequest>"#);
        let answer = app
            .xml(
                "PUT",
                &format!("{site}/{collection}/{second}"),
                &admin.token,
                Some(&body),
            )
            .await;
        assert_eq!(answer.status, 409, "{collection}: {}", answer.text);
        assert_eq!(answer.error_code(), "409000");
        assert!(answer.text.contains("already exists"), "{}", answer.text);
        for (id, name) in [(&first, "First"), (&second, "Second")] {
            let stored = app
                .xml(
                    "GET",
                    &format!("{site}/{collection}/{id}"),
                    &admin.token,
                    None,
                )
                .await;
            assert_eq!(stored.xml().find(element).unwrap().get("name"), Some(name));
        }
    }
    let create = |name: &str| {
        let body = format!(r#"<tsRequest><project name="{name}" /></tsRequest>"#);
        let app = &app;
        let (path, token) = (format!("{site}/projects"), admin.token.clone());
        async move { app.xml("POST", &path, &token, Some(&body)).await }
    };
    assert_eq!(create("Alpha").await.status, 201);
    let beta = create("Beta").await;
    let beta = beta
        .xml()
        .find("project")
        .unwrap()
        .get("id")
        .unwrap()
        .to_owned();
    let answer = app
        .xml(
            "PUT",
            &format!("{site}/projects/{beta}"),
            &admin.token,
            Some(r#"<tsRequest><project name="ALPHA" /></tsRequest>"#),
        )
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (409, "409000".to_owned()),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_label_for_content_named_twice_is_applied_once() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let id = app
        .publish_datasource(&admin, "Labelled", "127.0.0.1", 5432, "")
        .await;
    let body = format!(
        r#"<tsRequest><label value="Stale" /><contentList><content contentType="datasource" id="{id}" /><content contentType="datasource" id="{id}" /></contentList></tsRequest>"#
    );
    let path = format!("/api/3.24/sites/{}/labels", admin.site_id);
    let answer = app.xml("PUT", &path, &admin.token, Some(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let labels = answer.xml().find("labelList").unwrap().children.len();
    assert_eq!(labels, 1, "{}", answer.text);
    // Racing requests: each either applies the label or gets a clear conflict.
    let answers = join_all((0..10).map(|_| app.xml("PUT", &path, &admin.token, Some(&body)))).await;
    for answer in &answers {
        assert!(
            answer.status == 200 || answer.error_code() == "409000",
            "{}",
            answer.text
        );
        assert!(!answer.text.contains("constraint"), "{}", answer.text);
    }
}

#[tokio::test]
async fn racing_overwrites_of_a_new_name_make_one_workbook_and_say_to_retry() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let path = format!(
        "/api/3.24/sites/{}/workbooks?workbookType=twb&overwrite=true",
        admin.site_id
    );
    let (content_type, body) = workbook_upload("Overwritten");
    let answers =
        join_all((0..10).map(|_| app.publish(&admin, &path, &content_type, body.clone()))).await;
    assert!(answers.iter().any(|a| a.status == 201));
    for answer in &answers {
        assert!(
            answer.status == 201
                || (answer.status == 409 && answer.text.contains("try again to overwrite")),
            "{}",
            answer.text
        );
    }
    assert_eq!(workbook_count(&app, &admin).await, 1);
}

#[tokio::test]
async fn racing_names_with_one_content_url_never_share_it() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let path = format!(
        "/api/3.24/sites/{}/workbooks?workbookType=twb",
        admin.site_id
    );
    // Every one of these names makes the content URL `SalesData`.
    let names = [
        "Sales Data",
        "SalesData",
        "Sales (Data)",
        "Sales Data!",
        "Sales  Data",
    ];
    let bodies: Vec<_> = names.iter().map(|name| workbook_upload(name)).collect();
    let answers = join_all(
        bodies
            .iter()
            .map(|(content_type, body)| app.publish(&admin, &path, content_type, body.clone())),
    )
    .await;
    for answer in &answers {
        assert!(
            answer.status == 201 || answer.text.contains("similar name"),
            "{}",
            answer.text
        );
    }
    let listed = app
        .json(
            "GET",
            &format!("/api/3.24/sites/{}/workbooks", admin.site_id),
            &admin.token,
            None,
        )
        .await;
    let mut urls: Vec<String> = listed.json()["workbooks"]["workbook"]
        .as_array()
        .expect("workbooks")
        .iter()
        .map(|w| w["contentUrl"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(urls.len(), created);
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), created, "content URLs are distinct");
}
