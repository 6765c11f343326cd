//! The one outbound HTTP client: pooled keep-alive connections, connect and total timeouts,
//! a cap on response bodies, no redirects, and the address guard applied to the addresses it
//! actually connects to (DNS answers are filtered and pinned, IP literals checked up front).

mod config;
mod connect;
mod error;
mod retry_after;
pub mod ssrf;
mod urls;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, Method, Request,
    header::{ACCEPT, CONTENT_LENGTH, USER_AGENT as USER_AGENT_HEADER},
};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioTimer},
};
use url::{Host, Url};

pub use self::{
    config::OutboundConfig,
    error::{ClientError, SendError},
    retry_after::retry_after,
    urls::{is_localhost, without_trailing_dot},
};
use self::{
    connect::{GuardedResolver, TimedConnector, classify, describe},
    ssrf::AddressGuard,
    urls::request_uri,
};

pub const USER_AGENT: &str = concat!("vizhook/", env!("CARGO_PKG_VERSION"));

/// A destination's answer, with the body cut at the configured cap.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub body: Bytes,
    pub latency: Duration,
    /// What the answer's `Retry-After` asks, when it has one.
    pub retry_after: Option<Duration>,
}

impl OutboundResponse {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// hyper's pooled client, without a general-purpose client's layers: it never follows a
/// redirect, so nothing needs to re-read the URL, and it uses no proxy (a proxy would resolve
/// names itself, past the address guard).
#[derive(Debug, Clone)]
pub struct Outbound {
    client: Client<TimedConnector, Full<Bytes>>,
    guard: Arc<AddressGuard>,
    connect_timeout: Duration,
    timeout: Duration,
    max_response_bytes: usize,
}

impl Outbound {
    /// Builds the client; `dev` lifts the address guard.
    pub fn new(config: &OutboundConfig, dev: bool) -> Result<Self, ClientError> {
        let guard = Arc::new(AddressGuard::new(dev, config.allow_networks.clone()));
        let mut http = HttpConnector::new_with_resolver(GuardedResolver {
            guard: guard.clone(),
        });
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_keepalive(Some(Duration::from_secs(15)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_platform_verifier(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(ClientError)?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let connector = TimedConnector {
            inner: https,
            timeout: config.connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            client,
            guard,
            connect_timeout: config.connect_timeout,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// Refuses a URL whose host the guard forbids without asking DNS: an IP literal it does
    /// not permit, or `localhost` or a name under `.localhost`, which RFC 6761 reserves for
    /// loopback (so they stand for `127.0.0.1` and `::1` whatever a resolver says). Other host
    /// names are checked when they resolve, at connect time.
    pub fn check_literal_host(&self, url: &Url) -> Result<(), SendError> {
        let refused = |host: String, detail: String| Err(SendError::Refused { host, detail });
        match url.host() {
            Some(Host::Ipv4(v4)) if !self.guard.permits(IpAddr::V4(v4)) => {
                refused(v4.to_string(), format!("{v4} is not a public address"))
            }
            Some(Host::Ipv6(v6)) if !self.guard.permits(IpAddr::V6(v6)) => {
                refused(v6.to_string(), format!("{v6} is not a public address"))
            }
            Some(Host::Domain(domain)) if is_localhost(domain) && !self.permits_loopback() => {
                refused(
                    domain.to_owned(),
                    format!("{domain} is a loopback name (RFC 6761)"),
                )
            }
            _ => Ok(()),
        }
    }

    fn permits_loopback(&self) -> bool {
        self.guard.permits(IpAddr::from([127, 0, 0, 1]))
            || self
                .guard
                .permits(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]))
    }

    /// Resolves `url`'s host and refuses it when no address is permitted: the check made when
    /// a webhook is created or updated. A name that does not resolve yet is let through; the
    /// connect-time check still applies.
    pub async fn check_destination(&self, url: &Url) -> Result<(), SendError> {
        let url = &without_trailing_dot(url);
        self.check_literal_host(url)?;
        let Some(Host::Domain(domain)) = url.host() else {
            return Ok(());
        };
        let lookup =
            tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((domain, 0)))
                .await;
        let Ok(Ok(addresses)) = lookup else {
            return Ok(());
        };
        let addresses: Vec<SocketAddr> = addresses.collect();
        if addresses.is_empty()
            || addresses
                .iter()
                .any(|address| self.guard.permits(address.ip()))
        {
            return Ok(());
        }
        Err(SendError::Refused {
            host: domain.to_owned(),
            detail: describe(&addresses),
        })
    }

    /// POSTs `body` to `url` and reads at most the configured number of response bytes.
    pub async fn post(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<OutboundResponse, SendError> {
        self.post_with_timeout(url, headers, body, self.timeout)
            .await
    }

    /// Like [`Outbound::post`], with its own limit on the whole request.
    pub async fn post_with_timeout(
        &self,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<OutboundResponse, SendError> {
        self.send(Method::POST, url, headers, body, timeout).await
    }

    /// The configured limit on one whole request.
    pub fn default_timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends any request (GET, PUT, …; a GET or HEAD with an empty body sends none) with the
    /// same guards, and reads at most the configured number of response bytes. `timeout`
    /// bounds the whole exchange; a body still arriving then is cut, and the status stands.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        mut headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<OutboundResponse, SendError> {
        let url = &without_trailing_dot(url);
        self.check_literal_host(url)?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started + timeout);
        let uri = request_uri(url, &mut headers)?;
        if !headers.contains_key(USER_AGENT_HEADER) {
            headers.insert(USER_AGENT_HEADER, HeaderValue::from_static(USER_AGENT));
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        let bodiless = matches!(method, Method::GET | Method::HEAD) && body.is_empty();
        if !bodiless {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let response = tokio::time::timeout_at(deadline, self.client.request(request))
            .await
            .map_err(|_| SendError::Timeout(timeout))?
            .map_err(|err| classify(url, &err, self.connect_timeout))?;
        let status = response.status().as_u16();
        let retry_after =
            retry_after::retry_after(response.headers(), std::time::SystemTime::now());
        let mut body = response.into_body();
        let mut collected = Vec::new();
        while collected.len() < self.max_response_bytes {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(chunk) = frame.into_data() {
                        let room = self.max_response_bytes - collected.len();
                        collected.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                // The status arrived; a body cut short or late does not change what it says.
                Ok(None | Some(Err(_))) | Err(_) => break,
            }
        }
        Ok(OutboundResponse {
            status,
            body: Bytes::from(collected),
            latency: started.elapsed(),
            retry_after,
        })
    }
}

/// Header values for a JSON POST.
pub fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

#[cfg(test)]
mod tests;
