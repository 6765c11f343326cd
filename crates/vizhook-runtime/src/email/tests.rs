//! The mailer against an in-process SMTP server: messages, TLS modes, pooling, failures.

use std::net::{SocketAddr, TcpListener};
use std::time::Instant;

use vizhook_test_support::SmtpSink;

use super::*;

/// Starts the in-process SMTP server (vizhook-test-support's, on a loopback port).
fn start_server() -> (SocketAddr, SmtpSink) {
    let smtp = SmtpSink::start();
    (smtp.addr, smtp)
}

fn config_for(addr: SocketAddr) -> SmtpConfig {
    SmtpConfig {
        host: addr.ip().to_string(),
        port: addr.port(),
        from: "vizhook <vizhook@example.com>".to_owned(),
        timeout: Duration::from_secs(5),
        ..SmtpConfig::default()
    }
}

fn email(subject: &str, body: &str) -> Email {
    Email {
        to: "Owner <owner@example.com>".to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
    }
}

async fn send(mailer: &Mailer, email: &Email) -> Result<(), EmailError> {
    tokio::time::timeout(Duration::from_secs(20), mailer.send(email))
        .await
        .unwrap()
}

/// The header section as logical lines: folded continuation lines (starting with a space
/// or tab) are joined onto the header they continue, as a mail reader would see them.
fn header_lines(data: &str) -> Vec<String> {
    let headers = data.split("\r\n\r\n").next().unwrap();
    let mut lines: Vec<String> = Vec::new();
    for line in headers.split("\r\n") {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

fn has_line(headers: &[String], wanted: &str) -> bool {
    headers.iter().any(|line| line == wanted)
}

fn has_bcc(headers: &[String]) -> bool {
    headers
        .iter()
        .any(|line| line.to_ascii_lowercase().starts_with("bcc:"))
}

#[tokio::test]
async fn sends_a_message_that_arrives() {
    let (addr, smtp) = start_server();
    let mailer = Mailer::new(&config_for(addr)).unwrap().unwrap();
    let body =
        "Your webhook Sales was disabled after 10 failed deliveries.\nRe-enable it in vizhook.";
    send(&mailer, &email("Webhook Sales disabled", body))
        .await
        .unwrap();

    let received = smtp.messages();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.to, vec!["owner@example.com".to_owned()]);
    let headers = header_lines(&message.data);
    assert!(
        has_line(&headers, "To: Owner <owner@example.com>"),
        "{headers:?}"
    );
    assert!(
        has_line(&headers, "From: vizhook <vizhook@example.com>"),
        "{headers:?}"
    );
    assert!(
        has_line(&headers, "Subject: Webhook Sales disabled"),
        "{headers:?}"
    );
    assert!(
        has_line(&headers, "Content-Type: text/plain; charset=utf-8"),
        "{headers:?}"
    );
    assert!(
        message
            .data
            .contains("Your webhook Sales was disabled after 10 failed deliveries.")
    );
    assert!(message.data.contains("Re-enable it in vizhook."));

    // A UTF-8 subject is sent as an RFC 2047 encoded word, over the same pooled mailer.
    send(&mailer, &email("Webhook « Sales » disabled ✓", "ok"))
        .await
        .unwrap();
    let received = smtp.messages();
    assert_eq!(received.len(), 2);
    let subject = header_lines(&received[1].data)
        .into_iter()
        .find(|line| line.starts_with("Subject: "))
        .unwrap();
    assert!(subject.is_ascii(), "{subject}");
    // « is C2 AB, » is C2 BB and ✓ is E2 9C 93, each base64-encoded in its own word.
    for word in ["=?utf-8?b?wqs=?=", "=?utf-8?b?wrs=?=", "=?utf-8?b?4pyT?="] {
        assert!(subject.contains(word), "{subject}");
    }
    assert!(
        subject.contains("Webhook") && subject.contains("Sales"),
        "{subject}"
    );
}

#[tokio::test]
async fn a_newline_in_the_subject_does_not_create_a_header() {
    let (addr, smtp) = start_server();
    let mailer = Mailer::new(&config_for(addr)).unwrap().unwrap();
    let subject = "Webhook disabled\r\nBcc: evil@example.com";
    send(&mailer, &email(subject, "body\r\nBcc: body@example.com"))
        .await
        .unwrap();

    let received = smtp.messages();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, vec!["owner@example.com".to_owned()]);
    let headers = header_lines(&received[0].data);
    assert!(!has_bcc(&headers), "{headers:?}");
    assert!(
        has_line(&headers, "Subject: Webhook disabled  Bcc: evil@example.com"),
        "{headers:?}"
    );

    // lettre alone (without our single-line subject) also keeps the CRLF out of the headers.
    let raw = Message::builder()
        .from("a@example.com".parse::<Mailbox>().unwrap())
        .to("b@example.com".parse::<Mailbox>().unwrap())
        .subject(subject)
        .body(String::from("x"))
        .unwrap()
        .formatted();
    let raw = String::from_utf8(raw).unwrap();
    assert!(!has_bcc(&header_lines(&raw)), "{raw}");
}

#[test]
fn empty_host_disables_email() {
    assert!(Mailer::new(&SmtpConfig::default()).unwrap().is_none());
    let blank = SmtpConfig {
        host: "  ".to_owned(),
        ..SmtpConfig::default()
    };
    assert!(Mailer::new(&blank).unwrap().is_none());
}

#[test]
fn new_works_outside_a_runtime_for_every_tls_mode() {
    for tls in [SmtpTls::None, SmtpTls::Starttls, SmtpTls::Tls] {
        let config = SmtpConfig {
            host: "smtp.example.com".to_owned(),
            port: 587,
            tls,
            username: "user".to_owned(),
            password: "pw".to_owned(),
            ..SmtpConfig::default()
        };
        let mailer = Mailer::new(&config).unwrap().unwrap();
        assert_eq!(
            format!("{mailer:?}"),
            "Mailer { host: \"smtp.example.com\", port: 587, .. }"
        );
    }
}

#[tokio::test]
async fn invalid_addresses_are_rejected() {
    let (addr, smtp) = start_server();
    let mailer = Mailer::new(&config_for(addr)).unwrap().unwrap();
    let mut bad = email("s", "b");
    bad.to = "not an address".to_owned();
    match send(&mailer, &bad).await {
        Err(EmailError::InvalidAddress(address)) => assert_eq!(address, "not an address"),
        other => panic!("expected InvalidAddress, got {other:?}"),
    }
    bad.to = "owner@example.com\r\nBcc: evil@example.com".to_owned();
    assert!(matches!(
        send(&mailer, &bad).await,
        Err(EmailError::InvalidAddress(_))
    ));
    assert!(smtp.messages().is_empty());

    let bad_from = SmtpConfig {
        from: "vizhook".to_owned(),
        ..config_for(addr)
    };
    assert!(matches!(
        Mailer::new(&bad_from),
        Err(EmailError::InvalidAddress(_))
    ));
}

#[tokio::test]
async fn unreachable_server_fails_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = SmtpConfig {
        timeout: Duration::from_secs(2),
        ..config_for(addr)
    };
    let mailer = Mailer::new(&config).unwrap().unwrap();
    let started = Instant::now();
    let result = send(&mailer, &email("s", "b")).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    match result {
        Err(EmailError::Send(message)) => assert!(message.contains("Connection"), "{message}"),
        other => panic!("expected Send, got {other:?}"),
    }
}

#[test]
fn debug_redacts_the_password() {
    let config = SmtpConfig {
        host: "smtp.example.com".to_owned(),
        username: "user".to_owned(),
        password: "hunter2-secret".to_owned(),
        ..SmtpConfig::default()
    };
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2-secret"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(debug.contains("smtp.example.com"), "{debug}");
    let empty = format!("{:?}", SmtpConfig::default());
    assert!(!empty.contains("<redacted>"), "{empty}");
}
#[tokio::test]
async fn a_stalled_server_times_out_and_the_pool_is_replaced() {
    // The kernel completes the handshake for a listener that never accepts, so the
    // connection succeeds and the SMTP greeting never comes.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = SmtpConfig {
        timeout: Duration::from_secs(1),
        ..config_for(listener.local_addr().unwrap())
    };
    let mailer = Mailer::new(&config).unwrap().unwrap();
    let started = Instant::now();
    match send(&mailer, &email("s", "b")).await {
        Err(EmailError::Send(message)) => assert!(message.contains("within 1s"), "{message}"),
        other => panic!("expected Send, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(mailer.slot().is_none());
    drop(listener);
}

#[test]
fn dropping_a_used_mailer_outside_a_runtime_does_not_panic() {
    let (addr, smtp) = start_server();
    let mailer = Mailer::new(&config_for(addr)).unwrap().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(send(&mailer, &email("s", "b"))).unwrap();
    drop(runtime);
    drop(mailer);
    assert_eq!(smtp.messages().len(), 1);
}
