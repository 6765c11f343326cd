//! Slack and Teams actions against fake webhooks: the exact JSON they receive, hostile names,
//! recoveries, custom headlines and error answers.

use expect_test::expect;

use super::{Fake, HOSTILE, build, firing, resolved, runtime};
use crate::actions::ActionError;

fn slack_config(url: &str, text: Option<&str>) -> String {
    let text = text
        .map(|t| format!("text = '''{t}'''"))
        .unwrap_or_default();
    format!(
        "[[receiver]]\nname = \"data-team\"\n[[receiver.action]]\ntype = \"slack\"\nwebhook_url = \"{url}\"\n{text}\n"
    )
}

#[tokio::test]
async fn slack_escapes_a_hostile_name_in_valid_json() {
    let slack = Fake::replying(200, "ok");
    let actions = build(
        &slack_config(&slack.url("/services/T0/B0/s3cr3t"), None),
        &[],
    );
    runtime(None)
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap();
    let request = slack.one();
    assert_eq!(request.uri, "/services/T0/B0/s3cr3t");
    assert_eq!(request.headers["content-type"], "application/json");
    let message = request.json();
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{text}"
    );
    assert!(!text.contains('<') && !text.contains('>'), "{text}");
    assert!(text.contains("line2 &amp; 🚀"), "{text}");
    expect![[r#"{"text":":red_circle: DatasourceRefreshFailed: Sales \"Q4\" &lt;script&gt;alert(1)&lt;/script&gt;\nline2 &amp; 🚀 'x' (site Finance)","blocks":[{"type":"section","text":{"type":"mrkdwn","text":":red_circle: DatasourceRefreshFailed: Sales \"Q4\" &lt;script&gt;alert(1)&lt;/script&gt;\nline2 &amp; 🚀 'x' (site Finance)"}},{"type":"context","elements":[{"type":"mrkdwn","text":"*Type:* DATASOURCE 9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111"},{"type":"mrkdwn","text":"*Site:* Finance (0b2c4d6e-1111-4222-8333-444455556666)"},{"type":"mrkdwn","text":"*Project:* Sales &amp; Ops"},{"type":"mrkdwn","text":"*Owner:* Ana &lt;ana@example.com&gt;"},{"type":"mrkdwn","text":"*Created at:* 2026-03-01T08:00:00Z"},{"type":"mrkdwn","text":"*Receiver:* data-team"}]}]}"#]]
    .assert_eq(&request.text());
}

#[tokio::test]
async fn slack_recovery_and_custom_text() {
    let slack = Fake::replying(200, "ok");
    let actions = build(&slack_config(&slack.url("/hook"), None), &[]);
    runtime(None)
        .execute(&actions, "data-team/0", &resolved())
        .await
        .unwrap();
    expect![[r#"{"text":":large_green_circle: Recovered: DatasourceRefreshSucceeded: Sales (site 0b2c4d6e-1111-4222-8333-444455556666)","blocks":[{"type":"section","text":{"type":"mrkdwn","text":":large_green_circle: Recovered: DatasourceRefreshSucceeded: Sales (site 0b2c4d6e-1111-4222-8333-444455556666)"}},{"type":"context","elements":[{"type":"mrkdwn","text":"*Type:* DATASOURCE 9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111"},{"type":"mrkdwn","text":"*Site:* 0b2c4d6e-1111-4222-8333-444455556666"},{"type":"mrkdwn","text":"*Created at:* 2026-03-01T08:00:00Z"},{"type":"mrkdwn","text":"*Receiver:* data-team"}]}]}"#]]
    .assert_eq(&slack.one().text());

    // A custom headline keeps its own markup (a link) and escapes the values it shows.
    let custom = Fake::replying(200, "ok");
    let text = "<https://tableau.example.com/#/site/{{ site_name }}|Open> {{ event.resource_name }} @ {{ project_name }}";
    let actions = build(&slack_config(&custom.url("/hook"), Some(text)), &[]);
    runtime(None)
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap();
    let message = custom.one().json();
    expect![[r#"<https://tableau.example.com/#/site/Finance|Open> Sales "Q4" &lt;script&gt;alert(1)&lt;/script&gt;
line2 &amp; 🚀 'x' @ Sales &amp; Ops"#]]
    .assert_eq(message["blocks"][0]["text"]["text"].as_str().unwrap());
    assert_eq!(message["text"], message["blocks"][0]["text"]["text"]);
}

#[tokio::test]
async fn slack_filters_see_values_before_they_are_escaped() {
    // Escaping happens as a value is printed, after its filters: `urlencode` encodes the name
    // as written (not `&amp;`), and `| safe` prints a value as it is.
    let slack = Fake::replying(200, "ok");
    let text = "<https://search.example/?q={{ event.resource_name | urlencode }}|{{ event.resource_name }}> {{ project_name | safe }}";
    let actions = build(&slack_config(&slack.url("/hook"), Some(text)), &[]);
    runtime(None)
        .execute(&actions, "data-team/0", &firing("A&B <c>"))
        .await
        .unwrap();
    let message = slack.one().json();
    assert_eq!(
        message["blocks"][0]["text"]["text"],
        "<https://search.example/?q=A%26B%20%3Cc%3E|A&amp;B &lt;c&gt;> Sales & Ops"
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card() {
    let teams = Fake::replying(202, "");
    let toml = format!(
        "[[receiver]]\nname = \"data-team\"\n[[receiver.action]]\ntype = \"teams\"\nwebhook_url = \"{}\"\n",
        teams.url("/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t")
    );
    let actions = build(&toml, &[]);
    let runtime = runtime(None);
    runtime
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap();
    runtime
        .execute(&actions, "data-team/0", &resolved())
        .await
        .unwrap();
    let received = teams.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].uri,
        "/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t"
    );
    let card = received[0].json();
    assert_eq!(
        card["attachments"][0]["content"]["body"][1]["facts"][1]["value"], HOSTILE,
        "the name arrives intact: it holds no markdown"
    );
    expect![[r#"{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"🔴 DatasourceRefreshFailed: Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x' (site Finance)","weight":"Bolder","size":"Medium","color":"Attention","wrap":true},{"type":"FactSet","facts":[{"title":"Event","value":"DatasourceRefreshFailed"},{"title":"Resource","value":"Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x'"},{"title":"Type","value":"DATASOURCE 9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111"},{"title":"Site","value":"Finance (0b2c4d6e-1111-4222-8333-444455556666)"},{"title":"Project","value":"Sales & Ops"},{"title":"Owner","value":"Ana <ana@example.com>"},{"title":"Created at","value":"2026-03-01T08:00:00Z"},{"title":"Receiver","value":"data-team"}]}]}}]}"#]]
    .assert_eq(&received[0].text());
    expect![[r#"{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"✅ Recovered: DatasourceRefreshSucceeded: Sales (site 0b2c4d6e-1111-4222-8333-444455556666)","weight":"Bolder","size":"Medium","color":"Good","wrap":true},{"type":"FactSet","facts":[{"title":"Event","value":"DatasourceRefreshSucceeded"},{"title":"Resource","value":"Sales"},{"title":"Type","value":"DATASOURCE 9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111"},{"title":"Site","value":"0b2c4d6e-1111-4222-8333-444455556666"},{"title":"Created at","value":"2026-03-01T08:00:00Z"},{"title":"Receiver","value":"data-team"}]}]}}]}"#]]
    .assert_eq(&received[1].text());
}

#[tokio::test]
async fn teams_markdown_in_a_name_shows_as_written() {
    let teams = Fake::replying(202, "");
    let toml = format!(
        "[[receiver]]\nname = \"data-team\"\n[[receiver.action]]\ntype = \"teams\"\nwebhook_url = \"{}\"\n[[receiver.action]]\ntype = \"teams\"\nwebhook_url = \"{}\"\ntext = \"**{{{{ event.resource_name }}}}** failed\"\n",
        teams.url("/default"),
        teams.url("/custom")
    );
    let actions = build(&toml, &[]);
    let name = "[Fix it](https://evil.example) **now** {{DATE(2026-01-01T00:00:00Z)}}";
    for target in ["data-team/0", "data-team/1"] {
        runtime(None)
            .execute(&actions, target, &firing(name))
            .await
            .unwrap();
    }
    let received = teams.received();
    let escaped =
        r"\[Fix it\](https://evil.example) \*\*now\*\* \{\{DATE(2026-01-01T00:00:00Z)\}\}";
    let card = received[0].json();
    assert_eq!(
        card["attachments"][0]["content"]["body"][1]["facts"][1]["value"],
        escaped
    );
    // A custom headline keeps its own markdown; only the values are escaped.
    let card = received[1].json();
    assert_eq!(
        card["attachments"][0]["content"]["body"][0]["text"],
        format!("**{escaped}** failed")
    );
}

#[tokio::test]
async fn a_non_2xx_answer_is_an_error_without_the_secret_url() {
    let slack = Fake::replying(404, "no_service");
    let actions = build(
        &slack_config(&slack.url("/services/T0/B0/s3cr3t"), None),
        &[],
    );
    let err = runtime(None)
        .execute(&actions, "data-team/0", &firing("Sales"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Status { status: 404, excerpt, .. } if excerpt == "no_service"),
        "{err:?}"
    );
    let text = err.to_string();
    assert_eq!(text, format!("{} answered 404: no_service", slack.addr));
    assert!(!text.contains("s3cr3t"));

    // Nothing listens: a send error, also without the URL's path.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = format!("http://{closed}/services/T0/B0/s3cr3t");
    let actions = build(&slack_config(&url, None), &[]);
    let err = runtime(None)
        .execute(&actions, "data-team/0", &firing("Sales"))
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Send { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(
        matches!(
            runtime(None)
                .execute(&actions, "data-team/7", &firing("Sales"))
                .await,
            Err(ActionError::UnknownTarget(_))
        ),
        "an unknown target is an error"
    );
}
