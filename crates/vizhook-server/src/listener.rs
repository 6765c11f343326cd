//! The HTTP listener both roles share: `axum_server` with read timeouts, so that a client that
//! connects and then sends nothing, stops in the middle of its headers, or stops sending a
//! body cannot hold a connection (and its file descriptor) for ever.

use std::time::Duration;

use axum_server::Server;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutError};

/// Bounds how long `server` waits for a client: for the first request to begin, for a
/// request's headers to complete, and (through hyper's header timer) for the next request on
/// an idle keep-alive connection. Bodies are bounded by [`body_timeout`].
pub fn with_read_timeout<A: axum_server::Address, Acc>(
    server: Server<A, Acc>,
    timeout: Duration,
) -> Server<A, Acc> {
    let mut server = server.first_request_timeout(timeout);
    server.http_builder().http1().header_read_timeout(timeout);
    server
}

/// A layer that fails a request body when no part of it arrives for `timeout`. The gap is
/// timed, not the whole body, so a large upload on a slow link still succeeds.
pub fn body_timeout(timeout: Duration) -> RequestBodyTimeoutLayer {
    RequestBodyTimeoutLayer::new(timeout)
}

/// Whether reading a body failed because the client stopped sending it.
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<TimeoutError>() {
            return true;
        }
        cause = err.source();
    }
    false
}
