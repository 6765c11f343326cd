//! Tests of the receiver's actions against local fakes: tiny axum servers standing in for Slack,
//! Teams, IFTTT, Zapier and X, an in-process SMTP server, and real programs and files. This
//! file holds the shared fixtures.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
};
use vizhook_core::notify::Notice;

use super::{Actions, ConfigProblem, Context, ReceiverConfig, Runtime};
use vizhook_runtime::{
    email::{Mailer, SmtpConfig},
    outbound::Outbound,
};

use vizhook_tableau::payload::InboundEvent;

use crate::secret::Secret;

mod chat;
mod config;
mod email;
mod hooks;
mod local;

/// A resource name that tries every escape: quotes, HTML, a newline, `&`, an emoji.
const HOSTILE: &str = "Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x'";

/// A firing `DatasourceRefreshFailed` with everything known.
fn firing(resource_name: &str) -> Context {
    let event = InboundEvent {
        resource: "DATASOURCE".to_owned(),
        event_type: "DatasourceRefreshFailed".to_owned(),
        resource_name: resource_name.to_owned(),
        site_luid: "0b2c4d6e-1111-4222-8333-444455556666".to_owned(),
        resource_luid: "9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111".to_owned(),
        created_at: "2026-03-01T08:00:00Z".to_owned(),
        extra: serde_json::Map::new(),
        is_test: false,
    };
    Context {
        event: event.to_json(),
        notice: Notice::Firing,
        site_name: Some("Finance".to_owned()),
        project_name: Some("Sales & Ops".to_owned()),
        owner_name: Some("Ana <ana@example.com>".to_owned()),
        receiver: "data-team".to_owned(),
        received_at: "2026-03-01T08:00:02Z".to_owned(),
    }
}

/// The recovery of [`firing`]: a `DatasourceRefreshSucceeded`, with no enrichment.
fn resolved() -> Context {
    let mut ctx = firing("Sales");
    ctx.event["event_type"] = "DatasourceRefreshSucceeded".into();
    ctx.notice = Notice::Resolved;
    ctx.site_name = None;
    ctx.project_name = None;
    ctx.owner_name = None;
    ctx
}

fn parse(toml_text: &str) -> Result<Vec<ReceiverConfig>, toml::de::Error> {
    #[derive(serde::Deserialize)]
    struct File {
        receiver: Vec<ReceiverConfig>,
    }
    toml::from_str::<File>(toml_text).map(|file| file.receiver)
}

fn try_build(
    toml_text: &str,
    secrets: &[(&str, &str)],
    base: &Path,
) -> Result<Actions, Vec<ConfigProblem>> {
    let receivers = parse(toml_text).unwrap();
    let secrets: BTreeMap<String, Secret> = secrets
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Secret::new(*value)))
        .collect();
    Actions::build(&receivers, &secrets, base)
}

fn build(toml_text: &str, secrets: &[(&str, &str)]) -> Actions {
    try_build(toml_text, secrets, Path::new(".")).unwrap()
}

/// A runtime whose client may reach loopback (`--dev`).
fn runtime(mailer: Option<Mailer>) -> Runtime {
    let outbound =
        Outbound::new(&vizhook_runtime::outbound::OutboundConfig::default(), true).unwrap();
    Runtime::new(outbound, mailer)
}

/// One request as a fake received it.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: String,
}

impl Received {
    /// The body, which must be JSON.
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the body is valid JSON")
    }
}

type Answer = Arc<dyn Fn(&Received) -> (u16, String) + Send + Sync>;

/// A fake HTTP service on loopback that records every request and answers with `answer`.
struct Fake {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Fake {
    async fn start(status: u16, body: &'static str) -> Self {
        Self::answering(Arc::new(move |_: &Received| (status, body.to_owned()))).await
    }

    async fn answering(answer: Answer) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = (received.clone(), answer);
        let app = axum::Router::new().fallback(record).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, received }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The only request received.
    fn one(&self) -> Received {
        let received = self.received();
        assert_eq!(received.len(), 1, "{received:?}");
        received.into_iter().next().unwrap()
    }
}

async fn record(
    State((received, answer)): State<(Arc<Mutex<Vec<Received>>>, Answer)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let request = Received {
        method,
        path: uri.to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, text) = answer(&request);
    received.lock().unwrap().push(request);
    (StatusCode::from_u16(status).unwrap(), text)
}

/// One received email: its envelope recipients and its data.
type Mail = (Vec<String>, String);

/// An in-process SMTP server keeping every message's envelope recipients and data.
struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<Mail>>>,
}

#[derive(Clone)]
struct SmtpCapture {
    messages: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    current: Vec<u8>,
}

impl mailin_embedded::Handler for SmtpCapture {
    fn data_start(
        &mut self,
        _: &str,
        _: &str,
        _: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.current.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let message = String::from_utf8_lossy(&self.current).into_owned();
        let to = std::mem::take(&mut self.to);
        self.messages.lock().unwrap().push((to, message));
        mailin_embedded::response::OK
    }
}

impl SmtpSink {
    fn start() -> Self {
        let messages = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let capture = SmtpCapture {
            messages: messages.clone(),
            to: Vec::new(),
            current: Vec::new(),
        };
        let mut server = mailin_embedded::Server::new(capture);
        server
            .with_name("test.local")
            .with_ssl(mailin_embedded::SslConfig::None)
            .unwrap()
            .with_tcp_listener(listener);
        // `serve` blocks forever; the thread ends with the test process.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, messages }
    }

    fn mailer(&self) -> Mailer {
        let config = SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            from: "vizhook <vizhook@example.com>".to_owned(),
            ..SmtpConfig::default()
        };
        Mailer::new(&config).unwrap().unwrap()
    }

    fn messages(&self) -> Vec<Mail> {
        self.messages.lock().unwrap().clone()
    }
}
