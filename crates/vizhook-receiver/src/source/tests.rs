//! Unit tests of sources: tokens, allowlists behind proxies, rate limits and signatures.

use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue};
use sha2::Sha256;
use time::OffsetDateTime;

use super::*;

const TOKEN: &str = "0123456789abcdef-token";
const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn config(extra: &str) -> SourceConfig {
    toml::from_str(&format!(
        "name = \"t\"\npath = \"/hooks/tableau/\"\ntoken = \"{TOKEN}\"\n{extra}"
    ))
    .unwrap()
}

fn build(extra: &str) -> Source {
    Source::build(&config(extra), Path::new(".")).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn tokens_compare_whole() {
    let source = build("");
    assert_eq!(source.path, "/hooks/tableau");
    assert!(source.token_matches(TOKEN));
    assert!(!source.token_matches(&TOKEN[..TOKEN.len() - 1]));
    assert!(!source.token_matches(""));
    assert!(!format!("{source:?}").contains(TOKEN));
}

#[test]
fn bad_configuration_lists_every_problem() {
    let mut bad =
        config("max_body_bytes = 0\n[verify]\ntype = \"standard-webhooks\"\nsecret = \"nope\"");
    bad.token = "short".into();
    let problems = Source::build(&bad, Path::new(".")).unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(fields, ["token", "max_body_bytes", "verify.secret"]);
}

#[test]
fn allowlist_and_rate_limit() {
    let source = build("allow_ips = [\"10.0.0.0/8\"]\nrate_limit = 2");
    assert_eq!(
        source.admit(ip("192.0.2.1")),
        Err(Rejection::Forbidden(ip("192.0.2.1")))
    );
    assert_eq!(source.admit(ip("10.1.2.3")), Ok(()));
    assert_eq!(source.admit(ip("10.1.2.3")), Ok(()));
    assert_eq!(
        source.admit(ip("10.1.2.3")),
        Err(Rejection::RateLimited(ip("10.1.2.3")))
    );
    assert_eq!(
        source.admit(ip("10.9.9.9")),
        Ok(()),
        "the limit is per client"
    );
}

#[test]
fn client_ip_trusts_only_configured_proxies() {
    let proxies: Vec<IpNet> = vec![
        "127.0.0.1/32".parse().unwrap(),
        "10.0.0.0/8".parse().unwrap(),
    ];
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.7"),
    );
    let from_proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let direct: SocketAddr = "198.51.100.4:5000".parse().unwrap();
    assert_eq!(client_ip(from_proxy, &headers, &proxies), ip("203.0.113.9"));
    assert_eq!(
        client_ip(direct, &headers, &proxies),
        ip("198.51.100.4"),
        "spoofed header ignored"
    );
    assert_eq!(
        client_ip(from_proxy, &HeaderMap::new(), &proxies),
        ip("127.0.0.1")
    );
}

#[test]
fn standard_webhooks_signatures() {
    let source = build(&format!(
        "[verify]\ntype = \"standard-webhooks\"\nsecret = \"{WHSEC}\""
    ));
    let signer = Signer::new(WHSEC).unwrap();
    let now = OffsetDateTime::now_utc();
    let body = br#"{"event_type":"WorkbookCreated"}"#;
    let headers = |timestamp: i64, signature: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        headers
    };
    let ts = now.unix_timestamp();
    assert_eq!(
        source.verify(&headers(ts, &signer.sign("msg_1", ts, body)), body, now),
        Ok(())
    );
    assert!(
        source
            .verify(&headers(ts, &signer.sign("msg_1", ts, b"{}")), body, now)
            .is_err()
    );
    let old = ts - 3600;
    assert!(
        source
            .verify(&headers(old, &signer.sign("msg_1", old, body)), body, now)
            .is_err()
    );
    assert!(source.verify(&HeaderMap::new(), body, now).is_err());
}

#[test]
fn hmac_signatures() {
    let source = build(
        "[verify]\ntype = \"hmac-sha256\"\nsecret = \"k3y\"\nheader = \"X-Hub-Signature-256\"",
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"k3y").unwrap();
    mac.update(b"{}");
    let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let mut headers = HeaderMap::new();
    headers.insert("x-hub-signature-256", good.parse().unwrap());
    let now = OffsetDateTime::now_utc();
    assert_eq!(source.verify(&headers, b"{}", now), Ok(()));
    assert!(source.verify(&headers, b"{ }", now).is_err());
    assert!(source.verify(&HeaderMap::new(), b"{}", now).is_err());
}
