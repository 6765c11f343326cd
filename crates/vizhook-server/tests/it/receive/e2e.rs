//! End to end: `vizhook serve` signs and delivers a DatasourceRefreshFailed to `vizhook
//! receive`, which verifies it, looks up the site name, project and owner from the same
//! server's REST API with a personal access token, and posts to a fake Slack.

use std::time::Duration;

use super::harness::*;
use crate::helpers::{ADMIN, PAT_NAME, PAT_SECRET, TestApp, TestReceiver, eventually};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

#[tokio::test]
async fn serve_delivers_a_failed_refresh_to_receive_which_posts_to_slack() {
    let app =
        or_skip!(TestApp::spawn_with(|config| config.delivery.signing_secret = SECRET.to_owned()).await);
    let slack = TestReceiver::start();
    let config = format!(
        r#"
[[source]]
name = "tableau"
path = "/tableau"
token = "{TOKEN}"
[source.verify]
type = "standard-webhooks"
secret = "{SECRET}"

[enrich.tableau]
server = "{server}"
pat_name = "{PAT_NAME}"
pat_secret = "{PAT_SECRET}"

[route]
receiver = "nobody"
  [[route.routes]]
  matchers = ['event_type = "DatasourceRefreshFailed"']
  receiver = "slack"

[[receiver]]
name = "nobody"

[[receiver]]
name = "slack"
  [[receiver.action]]
  type = "slack"
  webhook_url = "{slack}"
{FAST}"#,
        server = app.url(""),
        slack = slack.url("/services/T0/B0/x"),
    );
    let rx = or_skip!(Receive::start(&config).await);
    let admin = app.admin().await;
    app.create_webhook(
        &admin,
        "failures",
        "DatasourceRefreshFailed",
        &rx.hook("/tableau"),
    )
    .await;
    // A data source whose database does not listen: its refresh fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let id = app
        .publish_datasource(&admin, "Broken Sales", "127.0.0.1", port, "")
        .await;
    let path = format!("/api/3.24/sites/{}/datasources/{id}/refresh", admin.site_id);
    let answer = app
        .xml("POST", &path, &admin.token, Some("<tsRequest />"))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);

    let post = eventually(Duration::from_secs(30), "the Slack message", || async {
        slack.received().into_iter().next()
    })
    .await;
    let message = post.json();
    let text = message.to_string();
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains("DatasourceRefreshFailed"),
        "{text}"
    );
    assert!(text.contains("Broken Sales"), "{text}");
    assert!(
        text.contains("Default"),
        "the site's name, not its LUID: {text}"
    );
    assert!(text.contains(ADMIN), "the owner's name: {text}");
    let inbox = rx.inbox().await;
    assert_eq!(inbox.len(), 1, "stored once");
    assert_eq!(inbox[0].source, "tableau");
    assert!(
        inbox[0].dedup_key.starts_with("tableau:id:"),
        "{}",
        inbox[0].dedup_key
    );
}
