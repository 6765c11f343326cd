//! Requests refused before any handler sees them get Tableau's XML error document, not hyper's
//! empty answer: a head hyper cannot parse (`400000`), a URI over `max_uri_bytes` or hyper's
//! own limit (`414000`), a head over `max_header_bytes` (`431000`), on a fresh connection or
//! after an answered request on a kept-alive one.

use std::time::Duration;

use crate::{helpers::*, raw::*};

/// Far longer than any answer takes: a connection still open then was never closed.
const LIMIT: Duration = Duration::from_secs(20);

const CONTROL_BYTE: &[u8] =
    b"GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\nX-Tableau-Auth: abc\x01def\r\n\r\n";

async fn refused(app: &TestApp, sent: &[u8]) -> RawAnswer {
    RawAnswer::parse(&until_closed(app.addr, sent, LIMIT).await)
}

async fn still_serves(app: &TestApp) {
    let answer = app.xml("GET", "/api/3.24/serverinfo", "", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn heads_hyper_cannot_parse_get_400000() {
    let app = or_skip!(TestApp::spawn().await);
    let answer = refused(&app, CONTROL_BYTE).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    let (code, summary, detail) = answer.tableau_error();
    assert_eq!((code.as_str(), summary.as_str()), ("400000", "Bad Request"));
    assert!(detail.contains("could not be parsed"), "{detail}");
    let answer = refused(&app, b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.tableau_error().0, "400000");
    still_serves(&app).await;
}

#[tokio::test]
async fn uris_over_the_limit_get_414000() {
    // A head limit above hyper's own URI limit, so that hyper's 414 can be reached too.
    let app = or_skip!(TestApp::spawn_with(|config| config.server.max_header_bytes = 131_072).await);
    for length in [16_385, 70_000] {
        let path = format!("/api/3.24/serverinfo?q={}", "a".repeat(length - 23));
        let sent = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        let answer = refused(&app, sent.as_bytes()).await;
        assert_eq!(answer.status, 414, "{length}: {answer:?}");
        let (code, summary, detail) = answer.tableau_error();
        assert_eq!(
            (code.as_str(), summary.as_str()),
            ("414000", "URI Too Long")
        );
        assert!(detail.contains("16384 bytes"), "{detail}");
    }
    let path = format!("/api/3.24/serverinfo?q={}", "a".repeat(16_384 - 23));
    let answer = app.xml("GET", &path, "", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn a_lower_max_uri_bytes_applies() {
    let app = or_skip!(TestApp::spawn_with(|config| config.server.max_uri_bytes = 1024).await);
    let path = format!("/api/3.24/serverinfo?q={}", "a".repeat(1025 - 23));
    let sent = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n");
    let answer = refused(&app, sent.as_bytes()).await;
    assert_eq!(answer.status, 414, "{answer:?}");
    let (code, _, detail) = answer.tableau_error();
    assert_eq!(code, "414000");
    assert!(detail.contains("1024 bytes"), "{detail}");
    let path = format!("/api/3.24/serverinfo?q={}", "a".repeat(1024 - 23));
    let answer = app.xml("GET", &path, "", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn heads_over_the_limit_get_431000() {
    let app = or_skip!(TestApp::spawn().await);
    // Just over the limit (which hyper's buffer may or may not notice; vizhook does), and
    // four times over it (which hyper refuses itself).
    for length in [65_537, 4 * 65_536] {
        let line = "GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\n";
        let padding = "a".repeat(length - line.len() - "X-Pad: \r\n\r\n".len());
        let sent = format!("{line}X-Pad: {padding}\r\n\r\n");
        assert_eq!(sent.len(), length);
        let answer = refused(&app, sent.as_bytes()).await;
        assert_eq!(answer.status, 431, "{length}: {answer:?}");
        let (code, summary, detail) = answer.tableau_error();
        assert_eq!(
            (code.as_str(), summary.as_str()),
            ("431000", "Request Header Fields Too Large")
        );
        assert!(detail.contains("65536 bytes"), "{detail}");
    }
    // A head of exactly the limit is served.
    let line = "GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    let padding = "a".repeat(65_536 - line.len() - "X-Pad: \r\n\r\n".len());
    let sent = format!("{line}X-Pad: {padding}\r\n\r\n");
    assert_eq!(sent.len(), 65_536);
    let answer = until_closed(app.addr, sent.as_bytes(), LIMIT).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    still_serves(&app).await;
}

#[tokio::test]
async fn a_malformed_second_request_on_a_kept_alive_connection_gets_400000() {
    let app = or_skip!(TestApp::spawn().await);
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let first = exchange(
        &mut stream,
        b"GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(RawAnswer::parse(&first).status, 200, "{first}");
    let second = exchange(&mut stream, CONTROL_BYTE).await;
    let answer = RawAnswer::parse(&second);
    assert_eq!(answer.status, 400, "{second}");
    assert_eq!(answer.tableau_error().0, "400000");

    // Both in one write: the answer to the first is untouched, the second gets the document.
    let both = [
        &b"GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        CONTROL_BYTE,
    ]
    .concat();
    let raw = until_closed(app.addr, &both, LIMIT).await;
    let at = raw.find("HTTP/1.1 400").unwrap_or_else(|| panic!("{raw}"));
    let (first, second) = raw.split_at(at);
    let first = RawAnswer::parse(first);
    assert_eq!(first.status, 200, "{raw}");
    assert!(first.body.contains("<serverInfo>"), "{raw}");
    assert_eq!(RawAnswer::parse(second).tableau_error().0, "400000");
}
