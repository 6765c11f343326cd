//! HTTP and X actions against fakes: IFTTT's and Zapier's JSON bodies with JSON auto-escaping,
//! plain-text bodies, templated headers and URLs, and an X fake that verifies the OAuth 1.0a
//! signature.

use std::{collections::BTreeMap, num::NonZeroU64};

use expect_test::expect;

use super::{Fake, HOSTILE, build, firing, resolved, runtime, try_build};
use vizhook_test_support::Received;

#[tokio::test]
async fn ifttt_body_stays_valid_json() {
    let ifttt = Fake::replying(200, "Congratulations!");
    let toml = format!(
        r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "http"
url = "{}/trigger/tableau_failed/with/key/{{{{ secrets.ifttt_key | urlencode }}}}"
body = '{{"value1": {{{{ event.resource_name }}}}, "value2": {{{{ event.event_type }}}}, "value3": {{{{ site_name }}}}}}'
"#,
        ifttt.url("")
    );
    let actions = build(&toml, &[("ifttt_key", "k3y/with space")]);
    runtime(None)
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap();
    let request = ifttt.one();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.uri,
        "/trigger/tableau_failed/with/key/k3y%2Fwith%20space"
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.json()["value1"], HOSTILE);
    expect![[r#"{"value1": "Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x'", "value2": "DatasourceRefreshFailed", "value3": "Finance"}"#]]
    .assert_eq(&request.text());
    // A refusal that echoes the key is an error that does not.
    let refusing = Fake::replying(
        401,
        "{\"errors\":[{\"message\":\"Invalid key k3y/with space\"}]}",
    );
    let toml = toml.replace(&ifttt.url(""), &refusing.url(""));
    let actions = build(&toml, &[("ifttt_key", "k3y/with space")]);
    let err = runtime(None)
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} answered 401: {{\"errors\":[{{\"message\":\"Invalid key <redacted>\"}}]}}",
            refusing.addr
        )
    );
}

#[tokio::test]
async fn zapier_gets_the_context_or_a_nested_template() {
    let zapier = Fake::replying(200, r#"{"status":"success"}"#);
    let toml = format!(
        r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "http"
url = "{url}"
headers = {{ "X-Vizhook-Event" = "{{{{ event.event_type }}}}" }}
[[receiver.action]]
type = "http"
url = "{url}"
body = '''{{"resource": {{{{ event.resource_name }}}}, "site": {{"name": {{{{ site_name }}}}, "luid": {{{{ event.site_luid }}}}}}, "owner": {{{{ owner_name }}}}, "recovered": {{{{ notice == "resolved" }}}}}}'''
[[receiver.action]]
type = "http"
method = "put"
url = "{url}"
headers = {{ "Content-Type" = "text/plain; charset=utf-8" }}
body = "{{{{ event.resource_name }}}} failed"
"#,
        url = zapier.url("/hooks/catch/123/abc/")
    );
    let actions = build(&toml, &[]);
    let runtime = runtime(None);
    for target in ["data-team/0", "data-team/1", "data-team/2"] {
        runtime
            .execute(&actions, target, &firing(HOSTILE))
            .await
            .unwrap();
    }
    runtime
        .execute(&actions, "data-team/1", &resolved())
        .await
        .unwrap();
    let received = zapier.received();
    let methods: Vec<&str> = received.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["POST", "POST", "PUT", "POST"]);
    assert_eq!(
        received[0].headers["x-vizhook-event"],
        "DatasourceRefreshFailed"
    );
    assert_eq!(received[0].headers["content-type"], "application/json");
    assert_eq!(
        serde_json::from_str::<super::Context>(&received[0].text()).unwrap(),
        firing(HOSTILE),
        "without a body template, the body is the context"
    );
    expect![[r#"{"event":{"resource":"DATASOURCE","event_type":"DatasourceRefreshFailed","resource_name":"Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x'","site_luid":"0b2c4d6e-1111-4222-8333-444455556666","resource_luid":"9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111","created_at":"2026-03-01T08:00:00Z","is_test":false},"notice":"firing","site_name":"Finance","project_name":"Sales & Ops","owner_name":"Ana <ana@example.com>","receiver":"data-team","received_at":"2026-03-01T08:00:02Z"}"#]]
    .assert_eq(&received[0].text());
    expect![[r#"{"resource": "Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x'", "site": {"name": "Finance", "luid": "0b2c4d6e-1111-4222-8333-444455556666"}, "owner": "Ana <ana@example.com>", "recovered": false}"#]]
    .assert_eq(&received[1].text());
    received[1].json();
    assert_eq!(
        received[2].headers["content-type"],
        "text/plain; charset=utf-8"
    );
    expect![[r#"
        Sales "Q4" <script>alert(1)</script>
        line2 & 🚀 'x' failed"#]]
    .assert_eq(&received[2].text());
    expect![[r#"{"resource": "Sales", "site": {"name": null, "luid": "0b2c4d6e-1111-4222-8333-444455556666"}, "owner": null, "recovered": true}"#]]
    .assert_eq(&received[3].text());
}

#[tokio::test]
async fn a_url_without_tags_is_parsed_once_and_a_templated_one_per_event() {
    use super::super::{action::Action, remote::UrlSource};

    let fake = Fake::replying(200, "ok");
    let toml = format!(
        r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "http"
url = "{url}/fixed?a=1&b=x%20y"
[[receiver.action]]
type = "http"
url = "{url}/by-type/{{{{ event.event_type }}}}"
"#,
        url = fake.url("")
    );
    let actions = build(&toml, &[]);
    let url_of = |target: &str| match actions.find(target) {
        Some(Action::Http(http)) => &http.url,
        _ => panic!("{target} is not an http action"),
    };
    assert!(matches!(url_of("data-team/0"), UrlSource::Fixed(_)));
    assert!(matches!(url_of("data-team/1"), UrlSource::Template(_)));
    let runtime = runtime(None);
    for target in ["data-team/0", "data-team/1"] {
        runtime
            .execute(&actions, target, &firing(HOSTILE))
            .await
            .unwrap();
    }
    let uris: Vec<String> = fake.received().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        ["/fixed?a=1&b=x%20y", "/by-type/DatasourceRefreshFailed"]
    );
}

/// The `Authorization: OAuth ...` parameters, percent-decoded.
fn oauth_parameters(header: &str) -> BTreeMap<String, String> {
    let list = header.strip_prefix("OAuth ").expect("an OAuth header");
    list.split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let value = value.trim_matches('"');
            let decoded = url::form_urlencoded::parse(format!("v={value}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())?;
            Some((key.to_owned(), decoded))
        })
        .collect()
}

/// X's answer: `201` when the signature verifies with the test credentials, else `401`.
fn x_answer(request: &Received) -> (u16, String) {
    let Some(header) = request.headers.get("authorization") else {
        return (401, "no Authorization".to_owned());
    };
    let header = header.to_str().unwrap();
    let params = oauth_parameters(header);
    for key in [
        "oauth_consumer_key",
        "oauth_token",
        "oauth_signature",
        "oauth_nonce",
    ] {
        if !params.contains_key(key) {
            return (401, format!("{key} is missing"));
        }
    }
    if params["oauth_signature_method"] != "HMAC-SHA1"
        || params["oauth_consumer_key"] != "consumer-key"
        || params["oauth_token"] != "access-token"
    {
        return (401, "wrong parameters".to_owned());
    }
    let uri = format!(
        "http://{}{}",
        request.headers["host"].to_str().unwrap(),
        request.uri
    );
    let client = oauth1_request::Credentials::new("consumer-key", "consumer-secret");
    let mut builder = oauth1_request::Builder::<_, _>::new(client, oauth1_request::HmacSha1::new());
    builder
        .token(oauth1_request::Credentials::new(
            "access-token",
            "token-secret",
        ))
        .nonce(params["oauth_nonce"].as_str())
        .timestamp(
            params["oauth_timestamp"]
                .parse()
                .ok()
                .and_then(NonZeroU64::new),
        );
    if builder.post(&uri, &()) != header {
        return (401, "bad signature".to_owned());
    }
    (201, r#"{"data":{"id":"1","text":"ok"}}"#.to_owned())
}

#[tokio::test]
async fn x_posts_a_signed_tweet() {
    let x = Fake::answering(x_answer);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("consumer_secret"), "consumer-secret\n").unwrap();
    std::fs::write(dir.path().join("token_secret"), "token-secret\n").unwrap();
    let toml = format!(
        r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "x"
api_url = "{}/"
consumer_key = "consumer-key"
consumer_secret = "file:consumer_secret"
access_token = "access-token"
access_token_secret = "file:token_secret"
"#,
        x.url("")
    );
    let actions = try_build(&toml, &[], dir.path()).unwrap();
    let runtime = runtime(None);
    runtime
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap();
    runtime
        .execute(&actions, "data-team/0", &resolved())
        .await
        .unwrap();
    let long = "a".repeat(400);
    runtime
        .execute(&actions, "data-team/0", &firing(&long))
        .await
        .unwrap();
    let received = x.received();
    assert_eq!(received[0].uri, "/2/tweets");
    assert!(
        !format!("{actions:?}").contains("token-secret"),
        "Debug shows no secret"
    );
    let tweets: Vec<String> = received
        .iter()
        .map(|request| request.json()["text"].as_str().unwrap().to_owned())
        .collect();
    expect![[r#"
        Tableau: DatasourceRefreshFailed for Sales "Q4" <script>alert(1)</script>
        line2 & 🚀 'x' on site Finance"#]]
    .assert_eq(&tweets[0]);
    expect!["Tableau: recovered, DatasourceRefreshSucceeded for Sales"].assert_eq(&tweets[1]);
    assert_eq!(tweets[2].chars().count(), 280);
    assert!(tweets[2].ends_with("aa…"), "{}", tweets[2]);

    // Wrong credentials: X answers 401, which is an error that names no secret.
    let wrong = toml.replace("file:token_secret", "wrong-secret");
    let actions = try_build(&wrong, &[], dir.path()).unwrap();
    let err = runtime
        .execute(&actions, "data-team/0", &resolved())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{} answered 401: bad signature", x.addr)
    );
}

#[tokio::test]
async fn actions_refuse_localhost_by_name_outside_dev_mode() {
    let toml = r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "http"
url = "https://localhost./hook"
[[receiver.action]]
type = "http"
url = "https://{{ event.resource }}.localhost/hook"
"#;
    let actions = build(toml, &[]);
    let guarded = vizhook_runtime::outbound::Outbound::new(
        &vizhook_runtime::outbound::OutboundConfig::default(),
        false,
    )
    .unwrap();
    let runtime = super::Runtime::new(guarded, None);
    for target in ["data-team/0", "data-team/1"] {
        let refused = runtime
            .execute(&actions, target, &firing("Sales"))
            .await
            .expect_err("a loopback name is refused");
        assert!(
            vizhook_runtime::ErrorChain(&refused)
                .to_string()
                .contains("loopback name (RFC 6761)"),
            "{target}: {refused}"
        );
    }
}
