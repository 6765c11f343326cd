//! `Recorder`: a local HTTP destination (axum, on a thread and runtime of its own) that records
//! every request and answers with a settable status, body and delay, or as a function of the
//! request (with a `Retry-After` header too, for rate-limit tests).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, routing::any};
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use tokio::sync::oneshot;

/// One request as the recorder received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    /// The body, which must be JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is valid JSON")
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("a visible ASCII header").to_owned())
    }
}

/// A status, an optional `Retry-After` value, and a body.
type Answer = Arc<dyn Fn(&Received) -> (u16, Option<String>, String) + Send + Sync>;

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Answer>>,
    delay: Arc<Mutex<Duration>>,
}

/// A recording HTTP destination on `127.0.0.1`. Dropping it stops it.
pub struct Recorder {
    pub addr: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Recorder {
    /// A recorder that answers `200 ok`.
    pub fn start() -> Self {
        Self::answering(|_| (200, "ok".to_owned()))
    }

    /// A recorder that answers every request with `status` and `body`.
    pub fn replying(status: u16, body: &str) -> Self {
        let body = body.to_owned();
        Self::answering(move |_| (status, body.clone()))
    }

    /// A recorder that answers each request with what `answer` returns for it.
    pub fn answering(answer: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static) -> Self {
        Self::answering_with_retry_after(move |request| {
            let (status, body) = answer(request);
            (status, None, body)
        })
    }

    /// A recorder that answers each request with a status, a `Retry-After` header when one is
    /// given, and a body.
    pub fn answering_with_retry_after(
        answer: impl Fn(&Received) -> (u16, Option<String>, String) + Send + Sync + 'static,
    ) -> Self {
        let shared = Shared {
            received: Arc::default(),
            answer: Arc::new(Mutex::new(Arc::new(answer))),
            delay: Arc::default(),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(any(record))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await
                    .ok();
            });
        });
        Self {
            addr,
            shared,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// From now on, answer every request with `status` and `body`.
    pub fn answer_with(&self, status: u16, body: &str) {
        let body = body.to_owned();
        *self.shared.answer.lock().unwrap() = Arc::new(move |_| (status, None, body.clone()));
    }

    /// From now on, wait `delay` before answering.
    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// How many requests were received.
    pub fn count(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    /// The only request received; panics if there were none or several.
    pub fn one(&self) -> Received {
        let received = self.received();
        assert_eq!(received.len(), 1, "{received:?}");
        received.into_iter().next().unwrap()
    }

    /// The bodies received on `path`, as JSON.
    pub fn json_on(&self, path: &str) -> Vec<serde_json::Value> {
        self.received()
            .iter()
            .filter(|request| request.path == path)
            .map(Received::json)
            .collect()
    }
}

async fn record(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, String) {
    let request = Received {
        method,
        path: uri.path().to_owned(),
        uri: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), ToString::to_string),
        headers,
        body,
        at: Instant::now(),
    };
    let answer = shared.answer.lock().unwrap().clone();
    let (status, retry_after, text) = answer(&request);
    let mut headers = HeaderMap::new();
    if let Some(value) = retry_after {
        headers.insert(http::header::RETRY_AFTER, value.parse().unwrap());
    }
    shared.received.lock().unwrap().push(request);
    let delay = *shared.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    (StatusCode::from_u16(status).unwrap(), headers, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(recorder: &Recorder, path: &str, body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(recorder.addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer[9..12].parse().unwrap();
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }

    #[test]
    fn records_requests_and_answers_as_told() {
        let recorder = Recorder::start();
        assert_eq!(
            post(&recorder, "/hook?x=1", r#"{"a":1}"#),
            (200, "ok".to_owned())
        );
        recorder.answer_with(503, "busy");
        assert_eq!(post(&recorder, "/other", "{}"), (503, "busy".to_owned()));
        let received = recorder.received();
        assert_eq!(received.len(), 2);
        assert_eq!(
            (received[0].path.as_str(), received[0].uri.as_str()),
            ("/hook", "/hook?x=1")
        );
        assert_eq!(received[0].method, Method::POST);
        assert_eq!(recorder.json_on("/hook"), [serde_json::json!({"a": 1})]);
    }

    #[test]
    fn answers_as_a_function_of_the_request() {
        let recorder = Recorder::answering(|request| (201, request.path.clone()));
        assert_eq!(post(&recorder, "/echo", ""), (201, "/echo".to_owned()));
        assert_eq!(recorder.one().text(), "");
    }
}
