//! The one outbound HTTP client: pooled keep-alive connections, connect and total timeouts,
//! a cap on response bodies, no redirects, and the address guard applied to the addresses it
//! actually connects to (DNS answers are filtered and pinned, IP literals checked up front).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use reqwest::{
    Client,
    dns::{Addrs, Name, Resolve, Resolving},
    header::{HeaderMap, HeaderValue},
};
use url::{Host, Url};

use super::ssrf::AddressGuard;
use crate::config::OutboundConfig;

pub const USER_AGENT: &str = concat!("vizhook/", env!("CARGO_PKG_VERSION"));

/// The outbound client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("could not build the outbound HTTP client")]
pub struct ClientError(#[source] reqwest::Error);

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

#[derive(Debug, Clone)]
pub struct Outbound {
    client: Client,
    guard: Arc<AddressGuard>,
    timeout: Duration,
    max_response_bytes: usize,
}

impl Outbound {
    /// Builds the client; `dev` lifts the address guard.
    pub fn new(config: &OutboundConfig, dev: bool) -> Result<Self, ClientError> {
        let guard = Arc::new(AddressGuard::new(dev, config.allow_networks.clone()));
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .build()
            .map_err(ClientError)?;
        Ok(Self {
            client,
            guard,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// Refuses a URL whose host is an IP literal the guard forbids. Host names are checked
    /// when they resolve, at connect time.
    pub fn check_literal_host(&self, url: &Url) -> Result<(), SendError> {
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return Ok(()),
        };
        if self.guard.permits(ip) {
            Ok(())
        } else {
            Err(SendError::Refused {
                host: ip.to_string(),
                detail: format!("{ip} is not a public address"),
            })
        }
    }

    /// Resolves `url`'s host and refuses it when no address is permitted: the check made when
    /// a webhook is created or updated. A name that does not resolve yet is let through; the
    /// connect-time check still applies.
    pub async fn check_destination(&self, url: &Url) -> Result<(), SendError> {
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
        self.send(reqwest::Method::POST, url, headers, body, timeout)
            .await
    }

    /// The configured limit on one whole request.
    pub fn default_timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends any request (GET, PUT, …; a GET or HEAD with an empty body sends none) with the
    /// same guards, and
    /// reads at most the configured number of response bytes.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<OutboundResponse, SendError> {
        self.check_literal_host(url)?;
        let started = Instant::now();
        let mut request = self
            .client
            .request(method.clone(), url.clone())
            .headers(headers)
            .timeout(timeout);
        let bodiless = matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        if !(bodiless && body.is_empty()) {
            request = request.body(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|err| classify(url, err, timeout))?;
        let status = response.status().as_u16();
        let mut collected = Vec::new();
        while collected.len() < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_response_bytes - collected.len();
                    collected.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                // The status arrived; a body cut short does not change what it says.
                Err(_) => break,
            }
        }
        Ok(OutboundResponse {
            status,
            body: Bytes::from(collected),
            latency: started.elapsed(),
        })
    }
}

fn classify(url: &Url, err: reqwest::Error, timeout: Duration) -> SendError {
    {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(cause) = source {
            if let Some(refused) = cause.downcast_ref::<RefusedAddresses>() {
                return SendError::Refused {
                    host: url.host_str().unwrap_or_default().to_owned(),
                    detail: refused.0.clone(),
                };
            }
            source = cause.source();
        }
        if err.is_timeout() {
            SendError::Timeout(timeout)
        } else if err.is_connect() {
            SendError::Connect(crate::api::error::ErrorChain(&err).to_string())
        } else {
            SendError::Other(crate::api::error::ErrorChain(&err).to_string())
        }
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
struct GuardedResolver {
    guard: Arc<AddressGuard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
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
                return Err(Box::new(RefusedAddresses(describe(&addresses))) as _);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// Header values for a JSON POST.
pub fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
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

    /// A loopback server that reads each request's head, then answers `200` with `body`.
    async fn loopback_server(body: Vec<u8>) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("[::]:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused_at_connect_time() {
        let addr = loopback_server(Vec::new()).await;
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
        let addr = loopback_server(vec![b'x'; 200_000]).await;
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
}
