//! The receiving end: a keep-alive HTTP/1.1 server on 127.0.0.1 that answers every POST with
//! 200 "ok" and records, for each request, its arrival time, the send timestamp carried in the
//! body's `resource_name`, the sequence number in `resource_luid` and the `/hook/{i}` index.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, http::Uri, serve::ListenerExt};
use bytes::Bytes;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::now_ns;

/// One request as it arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    /// Arrival, in nanoseconds on the shared clock.
    pub(crate) at_ns: u64,
    /// The send timestamp from `resource_name` (0 if absent).
    pub(crate) sent_ns: u64,
    /// `resource_luid` as a number (0 if absent).
    pub(crate) seq: u64,
    /// `i` of a `/hook/{i}` path (0 otherwise).
    pub(crate) hook: u32,
}

#[derive(Debug, Default)]
struct Shared {
    hits: Mutex<Vec<Hit>>,
    count: AtomicU64,
    connections: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Receiver {
    pub(crate) addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Receiver {
    pub(crate) async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            hits: Mutex::new(Vec::with_capacity(200_000)),
            count: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let counted = shared.clone();
        let listener = listener.tap_io(move |_| {
            counted.connections.fetch_add(1, Ordering::Relaxed);
        });
        let app = Router::new().fallback(hit).with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("receiver stopped: {err}");
            }
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn count(&self) -> u64 {
        self.shared.count.load(Ordering::Acquire)
    }

    /// TCP connections accepted so far: how well the sender reuses keep-alive connections.
    pub(crate) fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Waits until `expected` requests have arrived, or until none has arrived for `stall`.
    /// Returns whether all arrived.
    pub(crate) async fn wait_for(&self, expected: u64, stall: Duration) -> bool {
        let mut last = self.count();
        let mut last_progress = tokio::time::Instant::now();
        loop {
            let now = self.count();
            if now >= expected {
                return true;
            }
            if now != last {
                last = now;
                last_progress = tokio::time::Instant::now();
            } else if last_progress.elapsed() >= stall {
                eprintln!("  stalled: {now} of {expected} arrived, nothing new for {stall:?}");
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Forgets every request recorded so far, for a new phase on the same address.
    pub(crate) fn clear(&self) {
        if let Ok(mut hits) = self.shared.hits.lock() {
            hits.clear();
            self.shared.count.store(0, Ordering::Release);
        }
    }

    /// Every request recorded so far, in arrival order.
    pub(crate) fn hits(&self) -> Vec<Hit> {
        let mut hits = self
            .shared
            .hits
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        hits.sort_by_key(|h| h.at_ns);
        hits
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn hit(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> &'static str {
    let at_ns = now_ns();
    let record = Hit {
        at_ns,
        sent_ns: string_number(&body, b"\"resource_name\":\"").unwrap_or(0),
        seq: string_number(&body, b"\"resource_luid\":\"").unwrap_or(0),
        hook: uri
            .path()
            .strip_prefix("/hook/")
            .and_then(|i| i.parse().ok())
            .unwrap_or(0),
    };
    if let Ok(mut hits) = shared.hits.lock() {
        hits.push(record);
    }
    shared.count.fetch_add(1, Ordering::Release);
    "ok"
}

/// The decimal number right after `key` in `body`, without parsing the whole JSON document.
fn string_number(body: &[u8], key: &[u8]) -> Option<u64> {
    let start = body.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = body[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&body[start..start + digits])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::string_number;

    #[test]
    fn reads_numbers_out_of_a_tableau_payload() {
        let body = br#"{"resource":"VIEW","event_type":"ViewDeleted","resource_name":"123456789","site_luid":"x","resource_luid":"42","created_at":"2024-01-01T00:00:00Z"}"#;
        assert_eq!(
            string_number(body, b"\"resource_name\":\""),
            Some(123_456_789)
        );
        assert_eq!(string_number(body, b"\"resource_luid\":\""), Some(42));
        assert_eq!(string_number(body, b"\"missing\":\""), None);
    }
}
