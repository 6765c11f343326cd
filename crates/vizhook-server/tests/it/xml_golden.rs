//! Golden documents: the exact bytes of the shapes tableauserverclient parses (namespace,
//! `webhook-source` child, `owner`), with ids and times replaced by placeholders.

use expect_test::expect;

use crate::helpers::*;

/// Replaces UUIDs, timestamps and tokens so that documents compare across runs.
fn normalize(text: &str, session: &Session) -> String {
    let mut out = text
        .replace(&session.site_id, "SITE-ID")
        .replace(&session.user_id, "USER-ID");
    for (i, uuid) in uuids(&out).into_iter().enumerate() {
        out = out.replace(&uuid, &format!("ID-{i}"));
    }
    let timestamp = |s: &str| s.len() == 20 && s.as_bytes()[4] == b'-' && s.ends_with('Z');
    let mut parts: Vec<String> = out.split('"').map(str::to_owned).collect();
    for part in &mut parts {
        if timestamp(part) {
            *part = "TIME".to_owned();
        }
    }
    parts.join("\"")
}

fn uuids(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    for start in 0..bytes.len().saturating_sub(35) {
        let candidate = &text[start..start + 36];
        if uuid::Uuid::parse_str(candidate).is_ok()
            && candidate.chars().nth(8) == Some('-')
            && !found.contains(&candidate.to_owned())
        {
            found.push(candidate.to_owned());
        }
    }
    found
}

#[tokio::test]
async fn webhook_documents() {
    let app = or_skip!(TestApp::spawn().await);
    let session = app.admin().await;
    let tsc_request = r#"<tsRequest><webhook name="webhook-name"><webhook-source><webhook-source-event-datasource-created /></webhook-source><webhook-destination><webhook-destination-http method="POST" url="https://example.com/url" /></webhook-destination></webhook></tsRequest>"#;
    let created = app
        .xml(
            "POST",
            &webhooks_path(&session),
            &session.token,
            Some(tsc_request),
        )
        .await;
    expect![[r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd"><webhook id="ID-0" name="webhook-name" isEnabled="true" statusChangeReason="" event="DatasourceCreated" createdAt="TIME" updatedAt="TIME"><webhook-source><webhook-source-event-datasource-created/></webhook-source><webhook-destination><webhook-destination-http method="POST" url="https://example.com/url"/></webhook-destination><owner id="USER-ID" name="admin"/></webhook></tsResponse>"#]]
        .assert_eq(&normalize(&created.text, &session));

    let listed = app
        .xml("GET", &webhooks_path(&session), &session.token, None)
        .await;
    expect![[r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd"><webhooks><webhook id="ID-0" name="webhook-name" isEnabled="true" statusChangeReason="" event="DatasourceCreated" createdAt="TIME" updatedAt="TIME"><webhook-source><webhook-source-event-datasource-created/></webhook-source><webhook-destination><webhook-destination-http method="POST" url="https://example.com/url"/></webhook-destination><owner id="USER-ID" name="admin"/></webhook></webhooks></tsResponse>"#]]
        .assert_eq(&normalize(&listed.text, &session));

    let json = app
        .json("GET", &webhooks_path(&session), &session.token, None)
        .await;
    expect![[r#"{"webhooks":{"webhook":[{"webhook-source":{"webhook-source-event-datasource-created":{}},"webhook-destination":{"webhook-destination-http":{"method":"POST","url":"https://example.com/url"}},"owner":{"id":"USER-ID","name":"admin"},"id":"ID-0","name":"webhook-name","isEnabled":true,"statusChangeReason":"","event":"DatasourceCreated","createdAt":"TIME","updatedAt":"TIME"}]}}"#]]
        .assert_eq(&normalize(&json.text, &session));
}

#[tokio::test]
async fn error_credentials_and_server_info_documents() {
    let app = or_skip!(TestApp::spawn().await);
    let bad = r#"<tsRequest><credentials personalAccessTokenName="x" personalAccessTokenSecret="y"><site contentUrl="" /></credentials></tsRequest>"#;
    let error = app
        .call("POST", "/api/2.4/auth/signin", None, Some(bad), false)
        .await;
    expect![[r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd"><error code="401001"><summary>Signin Error</summary><detail>Error signing in to Tableau Server</detail></error></tsResponse>"#]]
        .assert_eq(&error.text);
    let json_error = app
        .call("POST", "/api/2.4/auth/signin", None, Some(bad), true)
        .await;
    expect![[r#"{"error":{"summary":"Signin Error","detail":"Error signing in to Tableau Server","code":"401001"}}"#]]
        .assert_eq(&json_error.text);

    let body = format!(
        r#"<tsRequest><credentials personalAccessTokenName="{PAT_NAME}" personalAccessTokenSecret="{PAT_SECRET}"><site contentUrl="" /></credentials></tsRequest>"#
    );
    let signed_in = app
        .call("POST", "/api/2.4/auth/signin", None, Some(&body), false)
        .await;
    let session = app.admin().await;
    let token = signed_in
        .xml()
        .find("credentials")
        .unwrap()
        .get("token")
        .unwrap()
        .to_owned();
    let shown = normalize(&signed_in.text.replace(&token, "TOKEN"), &session);
    expect![[r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd"><credentials token="TOKEN" estimatedTimeToExpiration="4:00:00"><site id="SITE-ID" contentUrl=""/><user id="USER-ID"/></credentials></tsResponse>"#]]
        .assert_eq(&shown);

    let info = app
        .call("GET", "/api/2.4/serverInfo", None, None, false)
        .await;
    expect![[r#"<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api https://help.tableau.com/samples/en-us/rest_api/ts-api_3_24.xsd"><serverInfo><productVersion build="20242.24.0807.0327">2024.2.0</productVersion><restApiVersion>3.24</restApiVersion></serverInfo></tsResponse>"#]]
        .assert_eq(&info.text);
}
