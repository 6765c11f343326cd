//! Every way a request is refused: each a clear 4xx, nothing stored, no action run.

use vizhook_tableau::signing::Signer;

use super::harness::*;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn config() -> String {
    format!(
        r#"
[[source]]
name = "open"
path = "/open"
token = "{TOKEN}"

[[source]]
name = "signed"
path = "/signed"
token = "{TOKEN}"
[source.verify]
type = "standard-webhooks"
secret = "{SECRET}"

[[source]]
name = "office"
path = "/office"
token = "{TOKEN}"
allow_ips = ["10.0.0.0/8"]

[[source]]
name = "small"
path = "/small"
token = "{TOKEN}"
max_body_bytes = 100

[[source]]
name = "limited"
path = "/limited"
token = "{TOKEN}"
rate_limit = 2

[route]
receiver = "log"

[[receiver]]
name = "log"
  [[receiver.action]]
  type = "file"
  path = "actions.jsonl"
{FAST}"#
    )
}

#[tokio::test]
async fn refused_requests_store_nothing_and_run_nothing() {
    let rx = or_skip!(Receive::start(&config()).await);
    let body = event("DatasourceRefreshFailed", "r1", "Sales");
    let wrong_token = format!("http://{}/open/not-the-token-at-all", rx.addr);
    let signer = Signer::new(SECRET).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let forged = vec![
        ("webhook-id", "msg_1".to_owned()),
        ("webhook-timestamp", now.to_string()),
        ("webhook-signature", signer.sign("msg_1", now, b"{}")),
    ];
    type Case<'a> = (
        &'a str,
        String,
        String,
        Vec<(&'a str, String)>,
        u16,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "wrong token",
            wrong_token,
            body.clone(),
            vec![],
            404,
            "not found",
        ),
        (
            "unknown path",
            rx.url("/nowhere/x"),
            body.clone(),
            vec![],
            404,
            "not found",
        ),
        (
            "unsigned",
            rx.hook("/signed"),
            body.clone(),
            vec![],
            401,
            "webhook-id",
        ),
        (
            "bad signature",
            rx.hook("/signed"),
            body.clone(),
            forged,
            401,
            "does not match",
        ),
        (
            "disallowed address",
            rx.hook("/office"),
            body.clone(),
            vec![],
            403,
            "127.0.0.1",
        ),
        (
            "oversized body",
            rx.hook("/small"),
            format!("{body}{}", " ".repeat(100)),
            vec![],
            413,
            "100 bytes",
        ),
        (
            "malformed JSON",
            rx.hook("/open"),
            "{\"event_type\":".into(),
            vec![],
            400,
            "not JSON",
        ),
        (
            "not an object",
            rx.hook("/open"),
            "[1,2]".into(),
            vec![],
            400,
            "JSON object",
        ),
    ];
    for (name, url, body, headers, status, says) in cases {
        let (got, answer) = rx.post_with(&url, &body, &headers).await;
        assert_eq!(got, status, "{name}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{name}: {message:?} should mention {says:?}"
        );
    }
    let get = rx.client.get(rx.hook("/open")).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    // The third request within a second from one address is over the limit of 2.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(rx.post(&rx.hook("/limited"), "[]").await.0);
    }
    assert_eq!(statuses, [400, 400, 429]);
    settle().await;
    assert!(rx.inbox().await.is_empty(), "nothing is stored");
    assert!(rx.lines("actions.jsonl").is_empty(), "no action ran");

    // The same receiver does accept a good request: the refusals above were not luck.
    let (status, answer) = rx.post(&rx.hook("/open"), &body).await;
    assert_eq!((status, answer["status"].as_str()), (202, Some("accepted")));
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = vec![
        ("webhook-id", "msg_2".to_owned()),
        ("webhook-timestamp", ts.to_string()),
        (
            "webhook-signature",
            signer.sign("msg_2", ts, body.as_bytes()),
        ),
    ];
    let other = event("DatasourceRefreshFailed", "r2", "Sales");
    assert_eq!(
        rx.post_with(&rx.hook("/signed"), &body, &signed).await.0,
        202
    );
    assert_eq!(
        rx.post(&rx.hook("/small"), "{}").await.0,
        202,
        "a small body passes"
    );
    assert_eq!(rx.post(&rx.hook("/office"), &other).await.0, 403);
    assert_eq!(rx.inbox().await.len(), 3);
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let rx = or_skip!(Receive::start(&config()).await);
    let get = |path: &'static str| {
        let client = rx.client.clone();
        let url = rx.url(path);
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(get("/readyz").await.0, 200);
    rx.post(&rx.hook("/open"), &event("WorkbookCreated", "w1", "Book"))
        .await;
    let (status, metrics) = get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"vizhook_receive_events_total{source="open",outcome="accepted"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn clients_that_stop_sending_are_cut_off() {
    let config = format!("[server]\nread_timeout = \"300ms\"\n{}", config());
    let rx = or_skip!(Receive::start(&config).await);
    let limit = std::time::Duration::from_secs(20);
    vizhook_test_support::raw::until_closed(rx.addr, b"", limit).await;
    vizhook_test_support::raw::until_closed(rx.addr, b"POST /open HTTP/1.1\r\nHost: x\r\n", limit)
        .await;
    let head = format!(
        "POST /open/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{"
    );
    let answer = vizhook_test_support::raw::until_closed(rx.addr, head.as_bytes(), limit).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("stopped arriving"), "{answer}");
    // A byte every 100 ms leaves no gap of the timeout, but is far below the minimum rate.
    let tail = [b' '; 199];
    let answer = vizhook_test_support::raw::trickled(
        rx.addr,
        head.as_bytes(),
        &tail,
        std::time::Duration::from_millis(100),
        std::time::Duration::from_secs(15),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("too slowly"), "{answer}");
    assert!(
        vizhook_test_support::raw::says_connection_close(&answer),
        "{answer}"
    );
    assert_eq!(rx.inbox().await.len(), 0);
    assert_eq!(
        rx.post(&rx.hook("/open"), &event("WorkbookCreated", "w1", "Book"))
            .await
            .0,
        202
    );
}

#[tokio::test]
async fn a_tls_handshake_that_never_starts_is_cut_off_too() {
    let certs = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let config = format!(
        "[server]\nread_timeout = \"300ms\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n{}",
        cert.display(),
        key.display(),
        config()
    );
    let rx = or_skip!(Receive::start(&config).await);
    // Well under axum_server's own 10 s handshake limit: the read timeout applies.
    vizhook_test_support::raw::until_closed(rx.addr, b"", std::time::Duration::from_secs(5)).await;
}
