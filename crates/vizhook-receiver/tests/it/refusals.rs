//! Requests `vizhook receive` refuses before routing get its JSON refusal, `{"error": …}`, not
//! hyper's empty answer, over HTTP and HTTPS: a head hyper cannot parse (`400`), a URI over
//! `max_uri_bytes` or hyper's own limit (`414`), a head over `max_header_bytes` (`431`).
//! Nothing is stored.

use std::{sync::Arc, time::Duration};

use super::harness::*;
use vizhook_test_support::raw::{RawAnswer, until_closed};

const LIMIT: Duration = Duration::from_secs(20);

fn config(server: &str) -> String {
    format!(
        r#"
[server]
{server}

[[source]]
name = "open"
path = "/open"
token = "{TOKEN}"

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

fn control_byte() -> String {
    format!(
        "POST /open/{TOKEN} HTTP/1.1\r\nHost: x\r\nX-Token: abc\x01def\r\nContent-Length: 2\r\n\r\n{{}}"
    )
}

/// A `POST` to the open source whose request line is `length` bytes of URI.
fn long_uri(length: usize) -> String {
    let path = format!("/open/{TOKEN}?q=");
    let padding = "a".repeat(length - path.len());
    format!("POST {path}{padding} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}")
}

/// A request whose head is `length` bytes.
fn long_head(length: usize) -> String {
    let line = format!("POST /open/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n");
    let padding = "a".repeat(length - line.len() - "X-Pad: \r\n\r\n".len());
    format!("{line}X-Pad: {padding}\r\n\r\n{{}}")
}

async fn refused(rx: &Receive, sent: &str) -> (u16, String) {
    let answer = RawAnswer::parse(&until_closed(rx.addr, sent.as_bytes(), LIMIT).await);
    (answer.status, answer.json_error())
}

#[tokio::test]
async fn refused_heads_get_json_errors_and_store_nothing() {
    // A head limit above hyper's own URI limit, so that hyper's 414 can be reached too.
    let rx = or_skip!(Receive::start(&config("max_header_bytes = 131072")).await);
    let (status, error) = refused(&rx, &control_byte()).await;
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("could not be parsed"), "{error}");
    for length in [16_385, 70_000] {
        let (status, error) = refused(&rx, &long_uri(length)).await;
        assert_eq!(status, 414, "{length}: {error}");
        assert!(error.contains("16384 bytes"), "{error}");
    }
    for length in [131_073, 4 * 131_072] {
        let (status, error) = refused(&rx, &long_head(length)).await;
        assert_eq!(status, 431, "{length}: {error}");
        assert!(error.contains("131072 bytes"), "{error}");
    }
    assert!(rx.inbox().await.is_empty());
    let accepted = rx
        .post(&rx.hook("/open"), &event("WorkbookCreated", "w1", "Book"))
        .await;
    assert_eq!(accepted.0, 202, "{accepted:?}");
}

#[tokio::test]
async fn lower_limits_apply() {
    let rx = or_skip!(Receive::start(&config("max_header_bytes = 8192\nmax_uri_bytes = 256")).await);
    let (status, error) = refused(&rx, &long_uri(257)).await;
    assert_eq!(status, 414, "{error}");
    assert!(error.contains("256 bytes"), "{error}");
    let (status, error) = refused(&rx, &long_head(8193)).await;
    assert_eq!(status, 431, "{error}");
    assert!(error.contains("8192 bytes"), "{error}");
    let answer = until_closed(
        rx.addr,
        long_uri(256)
            .replace("Host: x", "Host: x\r\nConnection: close")
            .as_bytes(),
        LIMIT,
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 202"),
        "within the limits, a request is served: {answer}"
    );
}

#[tokio::test]
async fn refusals_over_https_get_json_errors_too() {
    let certs = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let server = format!(
        "tls_cert = \"{}\"\ntls_key = \"{}\"",
        cert.display(),
        key.display()
    );
    let rx = or_skip!(Receive::start(&config(&server)).await);
    let certificate = generated.cert.der().clone();
    let addr = rx.addr;
    let raw = tokio::task::spawn_blocking(move || {
        tls_until_closed(addr, certificate, control_byte().as_bytes())
    })
    .await
    .unwrap();
    let answer = RawAnswer::parse(&raw);
    assert_eq!(answer.status, 400, "{raw}");
    assert!(answer.json_error().contains("could not be parsed"), "{raw}");
}

/// Sends `sent` over TLS (trusting `certificate` for `localhost`) and reads until the server
/// closes the connection.
fn tls_until_closed(
    addr: std::net::SocketAddr,
    certificate: rustls::pki_types::CertificateDer<'static>,
    sent: &[u8],
) -> String {
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certificate).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    tls.write_all(sent).unwrap();
    let mut answer = Vec::new();
    if let Err(err) = tls.read_to_end(&mut answer) {
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
    }
    String::from_utf8_lossy(&answer).into_owned()
}
