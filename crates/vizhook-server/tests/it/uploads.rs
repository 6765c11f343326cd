//! Chunked uploads (`fileUploads`) over HTTP: sessions belong to their user, sizes are
//! reported in megabytes, a chunk past `[server] max_upload_bytes` is refused without
//! spoiling what came before, and a publish consumes its session. The TSC side is in
//! `crates/vizhook/tests/conformance.rs`.

use crate::helpers::*;

const MB: usize = 1024 * 1024;

async fn start(app: &TestApp, session: &Session) -> String {
    let path = format!("/api/3.24/sites/{}/fileUploads", session.site_id);
    let started = app.xml("POST", &path, &session.token, None).await;
    assert_eq!(started.status, 201, "{}", started.text);
    let upload = started.xml().find("fileUpload").unwrap().clone();
    assert_eq!(upload.get("fileSize"), Some("0"));
    upload.get("uploadSessionId").unwrap().to_owned()
}

async fn append(app: &TestApp, session: &Session, id: &str, chunk: &[u8]) -> Answer {
    let (content_type, body) = chunk_body(chunk);
    let path = format!("/api/3.24/sites/{}/fileUploads/{id}", session.site_id);
    app.send_body("PUT", session, &path, &content_type, body)
        .await
}

fn file_size(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.text);
    let upload = answer.xml().find("fileUpload").unwrap().clone();
    upload.get("fileSize").unwrap().to_owned()
}

#[tokio::test]
async fn chunks_assemble_a_file_that_a_publish_takes_once() {
    let app = or_skip!(
        TestApp::spawn_with(|config| config.server.max_upload_bytes = 3 * MB as u64).await
    );
    let admin = app.admin().await;
    let id = start(&app, &admin).await;
    let tds = fixture("sales.tds", "127.0.0.1", 5432);
    let (head, tail) = tds.split_at(tds.len() / 2);
    assert_eq!(file_size(&append(&app, &admin, &id, head).await), "0");

    // Past max_upload_bytes: refused, and the file keeps what it had.
    let too_big = append(&app, &admin, &id, &vec![b' '; 3 * MB]).await;
    assert_eq!(too_big.status, 413, "{}", too_big.text);
    assert!(too_big.text.contains("max_upload_bytes"), "{}", too_big.text);
    assert_eq!(file_size(&append(&app, &admin, &id, tail).await), "0");

    // Another user of the site cannot see or use the session.
    let other = app
        .user_on_site(&admin, "publisher", "Creator", "")
        .await;
    let foreign = append(&app, &other, &id, b"x").await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    assert!(foreign.text.contains("404009"), "{}", foreign.text);

    let payload = r#"<tsRequest><datasource name="Chunked"><project id="" /></datasource></tsRequest>"#;
    let publish = |id: String| {
        let app = &app;
        let admin = &admin;
        async move {
            let boundary = "vizhook-publish-boundary";
            let body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"request_payload\"\r\nContent-Type: text/xml\r\n\r\n{payload}\r\n--{boundary}--\r\n"
            );
            let path = format!(
                "/api/3.24/sites/{}/datasources?datasourceType=tds&uploadSessionId={id}",
                admin.site_id
            );
            app.publish(
                admin,
                &path,
                &format!("multipart/mixed; boundary={boundary}"),
                body.into_bytes(),
            )
            .await
        }
    };
    let published = publish(id.clone()).await;
    assert_eq!(published.status, 201, "{}", published.text);
    let datasource = published.xml().find("datasource").unwrap().clone();
    assert_eq!(datasource.get("name"), Some("Chunked"));
    let connections = app
        .xml(
            "GET",
            &format!(
                "/api/3.24/sites/{}/datasources/{}/connections",
                admin.site_id,
                datasource.get("id").unwrap()
            ),
            &admin.token,
            None,
        )
        .await;
    assert!(
        connections.text.contains(r#"serverAddress="127.0.0.1""#),
        "the whole file was read: {}",
        connections.text
    );

    // The session is gone once published.
    let again = publish(id.clone()).await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert!(again.text.contains("404009"), "{}", again.text);
    let late = append(&app, &admin, &id, b"x").await;
    assert_eq!(late.status, 404, "{}", late.text);
}

#[tokio::test]
async fn sizes_are_whole_megabytes_and_viewers_cannot_upload() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    let id = start(&app, &admin).await;
    assert_eq!(file_size(&append(&app, &admin, &id, &vec![0; MB + 1]).await), "1");
    assert_eq!(file_size(&append(&app, &admin, &id, &vec![0; MB]).await), "2");

    let no_file = app
        .publish(
            &admin,
            &format!("/api/3.24/sites/{}/fileUploads/{id}", admin.site_id),
            "text/xml",
            b"<tsRequest/>".to_vec(),
        )
        .await;
    assert_eq!(no_file.status, 405, "POST to a session is not a call: {}", no_file.text);

    let viewer = app.user_on_site(&admin, "viewer", "Viewer", "").await;
    let path = format!("/api/3.24/sites/{}/fileUploads", viewer.site_id);
    let refused = app.xml("POST", &path, &viewer.token, None).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
}

#[tokio::test]
async fn a_user_has_at_most_sixteen_unfinished_uploads() {
    let app = or_skip!(TestApp::spawn().await);
    let admin = app.admin().await;
    for _ in 0..16 {
        start(&app, &admin).await;
    }
    let path = format!("/api/3.24/sites/{}/fileUploads", admin.site_id);
    let refused = app.xml("POST", &path, &admin.token, None).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(
        refused.text.contains("16 unfinished uploads"),
        "{}",
        refused.text
    );
    // Another user's uploads are their own.
    let other = app.user_on_site(&admin, "publisher", "Creator", "").await;
    start(&app, &other).await;
}
