//! The outbound client against loopback servers: guards, timeouts, caps, redirects.

use super::*;

fn config() -> OutboundConfig {
    OutboundConfig::default()
}

#[tokio::test]
async fn localhost_is_refused_by_name_before_any_lookup() {
    let guarded = Outbound::new(&config(), false).unwrap();
    for raw in [
        "https://localhost/x",
        "https://localhost./x",
        "https://LocalHost/x",
        "https://app.localhost/x",
        "https://a.b.localhost.:8443/x",
    ] {
        let url = Url::parse(raw).unwrap();
        assert!(
            matches!(
                guarded.check_destination(&url).await,
                Err(SendError::Refused { .. })
            ),
            "{raw}"
        );
        let sent = guarded.post(&url, json_headers(), Bytes::new()).await;
        assert!(
            matches!(sent, Err(SendError::Refused { .. })),
            "{raw}: {sent:?}"
        );
    }
    for open in ["https://localhost.example.com/x", "https://notlocalhost/x"] {
        let url = Url::parse(open).unwrap();
        assert!(guarded.check_literal_host(&url).is_ok(), "{open}");
    }
    let dev = Outbound::new(&config(), true).unwrap();
    assert!(
        dev.check_literal_host(&Url::parse("https://localhost./x").unwrap())
            .is_ok()
    );
    let mut allowed = config();
    allowed.allow_networks = vec!["127.0.0.0/8".parse().unwrap()];
    let operator = Outbound::new(&allowed, false).unwrap();
    assert!(
        operator
            .check_literal_host(&Url::parse("https://localhost/x").unwrap())
            .is_ok()
    );
}

#[test]
fn a_trailing_dot_is_dropped_from_host_names_only() {
    let bare = |raw: &str| {
        without_trailing_dot(&Url::parse(raw).unwrap())
            .as_str()
            .to_owned()
    };
    assert_eq!(bare("https://example.com./a?b"), "https://example.com/a?b");
    assert_eq!(
        bare("https://example.com:8443/"),
        "https://example.com:8443/"
    );
    assert_eq!(bare("https://10.0.0.1/"), "https://10.0.0.1/");
}

/// A loopback server that sends each request's head to the receiver it returns, then
/// answers `200` with `body`.
async fn loopback_server(
    body: Vec<u8>,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("[::]:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (heads, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (body, heads) = (body.clone(), heads.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    (addr, received)
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused_at_connect_time() {
    let (addr, _) = loopback_server(Vec::new()).await;
    let guarded = Outbound::new(&config(), false).unwrap();
    let url = Url::parse(&format!("http://localhost:{}/hook", addr.port())).unwrap();
    let refused = guarded
        .post(&url, json_headers(), Bytes::new())
        .await
        .unwrap_err();
    assert!(matches!(refused, SendError::Refused { .. }), "{refused:?}");
    let literal = Url::parse(&format!("http://127.0.0.1:{}/hook", addr.port())).unwrap();
    assert!(matches!(
        guarded.post(&literal, json_headers(), Bytes::new()).await,
        Err(SendError::Refused { .. })
    ));

    let allowed = OutboundConfig {
        allow_networks: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        ..config()
    };
    let on_premises = Outbound::new(&allowed, false).unwrap();
    assert_eq!(
        on_premises
            .post(&url, json_headers(), Bytes::new())
            .await
            .unwrap()
            .status,
        200,
        "an allowed network is reachable"
    );
    let dev = Outbound::new(&config(), true).unwrap();
    assert_eq!(
        dev.post(&literal, json_headers(), Bytes::new())
            .await
            .unwrap()
            .status,
        200,
        "--dev reaches loopback"
    );
}

#[tokio::test]
async fn response_bodies_are_capped() {
    let (addr, _) = loopback_server(vec![b'x'; 200_000]).await;
    let outbound = Outbound::new(
        &OutboundConfig {
            max_response_bytes: 1000,
            ..config()
        },
        true,
    )
    .unwrap();
    let url = Url::parse(&format!("http://127.0.0.1:{}/", addr.port())).unwrap();
    let response = outbound
        .post(&url, json_headers(), Bytes::new())
        .await
        .unwrap();
    assert_eq!(response.body.len(), 1000);
}

#[tokio::test]
async fn credentials_in_the_url_become_basic_auth_and_leave_the_request_line() {
    let (addr, mut heads) = loopback_server(Vec::new()).await;
    let outbound = Outbound::new(&config(), true).unwrap();
    let url = Url::parse(&format!("http://user:p%20w@127.0.0.1:{}/hook", addr.port())).unwrap();
    let answer = outbound
        .post(&url, json_headers(), Bytes::from_static(b"{}"))
        .await;
    assert_eq!(answer.unwrap().status, 200);
    let head = heads.recv().await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("post /hook http/1.1\r\n"), "{head}");
    // base64("user:p w")
    assert!(
        head.contains("authorization: basic dxnlcjpwihc=\r\n"),
        "{head}"
    );
    assert!(!head.contains("user:"), "{head}");
    assert!(head.contains("user-agent: vizhook/"), "{head}");
    assert!(head.contains("content-length: 2\r\n"), "{head}");
}

#[tokio::test]
async fn the_connect_timeout_covers_the_tls_handshake() {
    // Accepts connections and never answers, so a TLS handshake never completes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let outbound = Outbound::new(
        &OutboundConfig {
            connect_timeout: Duration::from_millis(300),
            timeout: Duration::from_secs(60),
            ..config()
        },
        true,
    )
    .unwrap();
    let url = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
    let err = outbound
        .post(&url, json_headers(), Bytes::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Timeout(limit) if limit == Duration::from_millis(300)),
        "{err:?}"
    );
}
