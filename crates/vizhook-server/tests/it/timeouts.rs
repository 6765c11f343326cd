//! A client that stops sending cannot hold a connection: `[server] read_timeout` closes
//! connections that send nothing, stop in their headers or go idle between requests, and
//! answers a body that stops arriving, or trickles in, with Tableau's `408000`.

use std::time::Duration;

use crate::helpers::*;

/// Far longer than the configured timeout: a connection still open then was never closed.
const LIMIT: Duration = Duration::from_secs(20);

async fn app() -> Option<TestApp> {
    TestApp::spawn_with(|config| config.server.read_timeout = Duration::from_millis(300)).await
}

#[tokio::test]
async fn silent_and_unfinished_requests_are_closed() {
    let app = or_skip!(app().await);
    until_closed(app.addr, b"", LIMIT).await;
    until_closed(
        app.addr,
        b"GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\n",
        LIMIT,
    )
    .await;
    // The server still answers.
    let answer = app.xml("GET", "/api/3.24/serverinfo", "", None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    let app = or_skip!(app().await);
    let answer = until_closed(
        app.addr,
        b"GET /api/3.24/serverinfo HTTP/1.1\r\nHost: x\r\n\r\n",
        LIMIT,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408000() {
    let app = or_skip!(app().await);
    let head = "POST /api/3.24/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 200\r\n\r\n<tsRequest>";
    let answer = until_closed(app.addr, head.as_bytes(), LIMIT).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("code=\"408000\""), "{answer}");
}

#[tokio::test]
async fn a_body_that_trickles_in_gets_408000() {
    let app = or_skip!(app().await);
    // A byte every 100 ms never leaves a gap of the timeout (300 ms), but averages far below
    // the minimum rate; the whole body would take 20 s.
    let head = "POST /api/3.24/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 200\r\n\r\n";
    let tail = [b' '; 200];
    let answer = trickled(
        app.addr,
        head.as_bytes(),
        &tail,
        Duration::from_millis(100),
        Duration::from_secs(15),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("code=\"408000\""), "{answer}");
    assert!(answer.contains("too slowly"), "{answer}");
    assert!(says_connection_close(&answer), "{answer}");
}

#[tokio::test]
async fn http2_is_not_offered() {
    let app = or_skip!(app().await);
    // An HTTP/2 connection could idle for ever: hyper has no idle timeout for it.
    let answer = until_closed(app.addr, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", LIMIT).await;
    assert!(
        !answer.contains('\0'),
        "an HTTP/2 SETTINGS frame: {answer:?}"
    );
}
