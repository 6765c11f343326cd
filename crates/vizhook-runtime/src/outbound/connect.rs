//! Making a connection: name resolution that keeps only the addresses the guard permits (so
//! the connection goes to an address that was checked), a timeout over the whole set-up, and
//! turning hyper's errors into [`SendError`]s.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::Uri;
use hyper_util::client::legacy::connect::dns::Name;
use url::Url;

use super::{error::SendError, ssrf::AddressGuard};
use crate::ErrorChain;

/// The TLS connector over the guarded resolver.
pub(super) type Https = hyper_rustls::HttpsConnector<
    hyper_util::client::legacy::connect::HttpConnector<GuardedResolver>,
>;

pub(super) fn classify(
    url: &Url,
    err: &hyper_util::client::legacy::Error,
    connect_timeout: Duration,
) -> SendError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RefusedAddresses>() {
            return SendError::Refused {
                host: url.host_str().unwrap_or_default().to_owned(),
                detail: refused.0.clone(),
            };
        }
        // hyper's own TCP connect timeout is an I/O error of kind TimedOut.
        let timed_out = cause.is::<ConnectTimedOut>()
            || (err.is_connect()
                && cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut));
        if timed_out {
            return SendError::Timeout(connect_timeout);
        }
        source = cause.source();
    }
    if err.is_connect() {
        SendError::Connect(ErrorChain(err).to_string())
    } else {
        SendError::Other(ErrorChain(err).to_string())
    }
}

/// Setting up a connection (resolving, TCP, TLS) took longer than `connect_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("connecting took longer than {0:?}")]
struct ConnectTimedOut(Duration);

/// The HTTPS connector with `connect_timeout` over the whole set-up of a connection: name
/// resolution, TCP connect and the TLS handshake.
#[derive(Debug, Clone)]
pub(super) struct TimedConnector {
    pub(super) inner: Https,
    pub(super) timeout: Duration,
}

impl tower::Service<Uri> for TimedConnector {
    type Response = <Https as tower::Service<Uri>>::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(connected) => connected,
                Err(_) => Err(Box::new(ConnectTimedOut(timeout)) as BoxError),
            }
        })
    }
}

/// All of a name's addresses were refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error("every address was refused: {0}")]
struct RefusedAddresses(String);

pub(super) fn describe(addresses: &[SocketAddr]) -> String {
    let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    format!("{} is not public", shown.join(", "))
}

/// Resolves names with the system resolver and keeps only permitted addresses, so the
/// connection goes to an address that was checked (no DNS rebinding between check and use).
#[derive(Debug, Clone)]
pub(super) struct GuardedResolver {
    pub(super) guard: Arc<AddressGuard>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, BoxError>> + Send>>;

impl tower::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let guard = self.guard.clone();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = addresses
                .iter()
                .copied()
                .filter(|address| guard.permits(address.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(Box::new(RefusedAddresses(describe(&addresses))) as BoxError);
            }
            Ok(permitted.into_iter())
        })
    }
}
