//! The HTTP listener both roles share: `axum_server`, HTTP/1.1 only, with read timeouts, so
//! that a client that connects and then sends nothing, stops in the middle of its headers,
//! idles between requests or stops sending a body cannot hold a connection (and its file
//! descriptor) for ever. HTTP/2 is not offered: hyper has no idle timeout for it, and
//! Tableau's clients and webhooks speak HTTP/1.1. Requests refused before any handler sees
//! them (a head hyper cannot parse, a URI or head over [`Limits`]) get the role's error
//! document ([`ErrorPages`]), from [`HeadLimitLayer`] or, for hyper's own answers, from the
//! stream [`ErrorBodies`] gives every connection.

mod accept;
mod body;
mod head;
mod head_limit;
mod limits;
mod owed;
mod pages;
mod refusing;

use std::{io, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use axum::extract::Request;
use axum_server::{Handle, Server};
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use tokio::task::JoinSet;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::util::MapRequestLayer;

pub use accept::{Counting, ErrorBodies};
pub use body::{BodyTimeout, MIN_RATE};
pub use head_limit::{HeadLimit, HeadLimitLayer};
pub use limits::{LimitError, Limits, MAX_URI_BYTES, MIN_HEADER_BYTES, Refusal};
pub use pages::ErrorPages;
pub use refusing::RefusingIo;

/// Serves HTTP/1.1 only and bounds how long `server` waits for a client: for the first request
/// to begin, for a request's headers to complete, and (through hyper's header timer) for the
/// next request on an idle keep-alive connection. Bodies are bounded by [`body_timeout`].
pub fn with_read_timeout<A: axum_server::Address, Acc>(
    server: Server<A, Acc>,
    timeout: Duration,
) -> Server<A, Acc> {
    let mut server = server.http1_only().first_request_timeout(timeout);
    server.http_builder().http1().header_read_timeout(timeout);
    server
}

/// Caps hyper's read buffer at `max_header_bytes` and wraps every accepted connection, above
/// TLS if there is one, so that the answers hyper writes on its own carry `pages`' documents.
pub fn with_error_bodies<A: axum_server::Address, Acc>(
    server: Server<A, Acc>,
    pages: &ErrorPages,
) -> Server<A, ErrorBodies<Acc>> {
    let mut server = server.map(|acceptor| ErrorBodies::new(acceptor, pages.clone()));
    // Configuration refuses less than hyper's minimum; never let hyper panic on it.
    let buffer = pages.limits().max_header_bytes.max(MIN_HEADER_BYTES);
    server.http_builder().http1().max_buf_size(buffer);
    server
}

/// How long requests in flight get to finish at shutdown.
const GRACE: Duration = Duration::from_secs(10);

/// A handle that shuts its server down gracefully (requests in flight get ten seconds) once
/// `shutdown` is cancelled, through a task spawned on `tasks`.
pub fn stopped_by(shutdown: &CancellationToken, tasks: &mut JoinSet<()>) -> Handle<SocketAddr> {
    let handle = Handle::new();
    let stopper = handle.clone();
    let stopping = shutdown.clone();
    tasks.spawn(async move {
        stopping.cancelled().await;
        stopper.graceful_shutdown(Some(GRACE));
    });
    handle
}

/// Waits for the background work a role's requests started (closing `tasks`, so that `wait` ends
/// once what is running ends; `close` does not refuse later spawns, which are not waited for), for
/// at most the same grace as requests in flight; what is still running then is left to end
/// with the process, and is logged.
pub async fn drain(tasks: &TaskTracker, what: &str) {
    tasks.close();
    if tokio::time::timeout(GRACE, tasks.wait()).await.is_err() {
        tracing::warn!(
            running = tasks.len(),
            "{what} still running {GRACE:?} after shutdown began; stopping without them"
        );
    }
}

/// A TLS configuration from PEM files that offers only HTTP/1.1 in ALPN, to match
/// [`with_read_timeout`].
pub fn tls_config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let invalid = |what: &str, err: rustls::pki_types::pem::Error| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{what}: {err}"))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|err| invalid("certificate", err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid("certificate", err))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| invalid("key", err))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(io::Error::other)?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A layer that fails a request body when no part of it arrives for `timeout`, or when, after
/// `timeout`, it has averaged less than [`MIN_RATE`] (see `body.rs`). The gap and the average
/// are timed, not the whole body, so a large upload on a slow link still succeeds.
pub fn body_timeout(
    timeout: Duration,
) -> MapRequestLayer<impl Fn(Request) -> Request + Clone + Send + Sync + 'static> {
    MapRequestLayer::new(move |request: Request| {
        request.map(|inner| axum::body::Body::new(body::DeadlineBody::new(inner, timeout)))
    })
}

/// Whether reading a body failed because the client stopped sending it, or sent it too slowly.
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<BodyTimeout>() {
            return true;
        }
        cause = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn drain_waits_for_tracked_work_and_closes_the_tracker() {
        let tasks = TaskTracker::new();
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            flag.store(true, Ordering::SeqCst);
        });
        drain(&tasks, "test work").await;
        assert!(
            done.load(Ordering::SeqCst),
            "drain returned before the work ended"
        );
        assert!(tasks.is_closed() && tasks.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn drain_gives_up_after_the_grace() {
        let tasks = TaskTracker::new();
        tasks.spawn(std::future::pending::<()>());
        let started = tokio::time::Instant::now();
        drain(&tasks, "stuck work").await;
        assert_eq!(started.elapsed(), GRACE);
        assert_eq!(tasks.len(), 1);
    }
}
