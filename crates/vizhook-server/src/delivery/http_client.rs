//! The one outbound HTTP client: pooled keep-alive connections, connect and total timeouts,
//! a cap on response bodies, no redirects, and the address guard applied to the addresses it
//! actually connects to (DNS answers are filtered and pinned, IP literals checked up front).

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use base64::Engine as _;
use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, Method, Request, Uri,
    header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, USER_AGENT as USER_AGENT_HEADER},
};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{HttpConnector, dns::Name},
    },
    rt::{TokioExecutor, TokioTimer},
};
use url::{Host, Url};

use super::ssrf::AddressGuard;
use crate::{api::error::ErrorChain, config::OutboundConfig};

pub const USER_AGENT: &str = concat!("vizhook/", env!("CARGO_PKG_VERSION"));

/// The outbound client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("could not build the outbound HTTP client")]
pub struct ClientError(#[source] std::io::Error);

/// Why an outbound request got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the destination {host} resolves only to addresses vizhook may not reach ({detail})")]
    Refused { host: String, detail: String },
    #[error("the destination did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not connect to the destination: {0}")]
    Connect(String),
    #[error("the request failed: {0}")]
    Other(String),
}

/// A destination's answer, with the body cut at the configured cap.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub body: Bytes,
    pub latency: Duration,
}

impl OutboundResponse {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

type Https = HttpsConnector<HttpConnector<GuardedResolver>>;

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
        })
    }
}

/// Whether a host name is `localhost` or under `.localhost` (RFC 6761), in any case, with or
/// without a trailing dot.
pub fn is_localhost(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    domain == "localhost" || domain.ends_with(".localhost")
}

/// The URL with its host name's trailing dot removed (`example.com.` is `example.com`), so
/// that the name vizhook checks, resolves and presents in TLS is the one it refuses or allows.
pub fn without_trailing_dot(url: &Url) -> std::borrow::Cow<'_, Url> {
    match url.host() {
        Some(Host::Domain(domain)) if domain.ends_with('.') && domain.len() > 1 => {
            let mut bare = url.clone();
            let trimmed = domain.trim_end_matches('.').to_owned();
            match bare.set_host(Some(&trimmed)) {
                Ok(()) => std::borrow::Cow::Owned(bare),
                Err(_) => std::borrow::Cow::Borrowed(url),
            }
        }
        _ => std::borrow::Cow::Borrowed(url),
    }
}

/// The URI to request. User information in the URL (`https://user:secret@host/…`) becomes
/// an `Authorization: Basic` header, unless the caller set one, and is not sent in the URI.
fn request_uri(url: &Url, headers: &mut HeaderMap) -> Result<Uri, SendError> {
    let invalid = |err: http::uri::InvalidUri| {
        SendError::Other(format!("the URL is not a valid request URI: {err}"))
    };
    if url.username().is_empty() && url.password().is_none() {
        return url.as_str().parse().map_err(invalid);
    }
    if !headers.contains_key(AUTHORIZATION) {
        let decode = |part: &str| percent_encoding::percent_decode_str(part).collect::<Vec<u8>>();
        let mut credentials = decode(url.username());
        credentials.push(b':');
        credentials.extend(decode(url.password().unwrap_or_default()));
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {encoded}")) {
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
    }
    let mut bare = url.clone();
    let _ = bare.set_username("");
    let _ = bare.set_password(None);
    bare.as_str().parse().map_err(invalid)
}

fn classify(
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
struct TimedConnector {
    inner: Https,
    timeout: Duration,
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

fn describe(addresses: &[SocketAddr]) -> String {
    let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    format!("{} is not public", shown.join(", "))
}

/// Resolves names with the system resolver and keeps only permitted addresses, so the
/// connection goes to an address that was checked (no DNS rebinding between check and use).
#[derive(Debug, Clone)]
struct GuardedResolver {
    guard: Arc<AddressGuard>,
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
mod tests {
    use super::*;

    fn config() -> OutboundConfig {
        crate::config::Config::defaults().outbound
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
}
