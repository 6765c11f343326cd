//! Sources: where events come in. Each has a URL path ending in a secret token (Tableau
//! cannot sign requests or add headers, so the URL is the credential), an optional signature
//! check for senders that sign, an optional IP allowlist that understands trusted proxies, a
//! per-IP rate limit and a body size limit.

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    path::Path,
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use ipnet::IpNet;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::secret::{Secret, resolve};
use vizhook_tableau::signing::Signer;

/// One `[[source]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    /// The URL path events are posted to, followed by `/{token}`.
    pub path: String,
    /// The secret last segment of the URL (a literal, `env:NAME` or `file:PATH`).
    pub token: String,
    /// Client networks allowed to post; empty allows everyone.
    #[serde(default)]
    pub allow_ips: Vec<IpNet>,
    /// Requests per second per client IP (with a burst of as many); 0 disables the limit. The
    /// default is generous because Tableau sends every event from one address, and a 429 makes
    /// it retry and, after four failed deliveries, disable the webhook.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    pub verify: Option<VerifyConfig>,
}

const fn default_rate_limit() -> u32 {
    1000
}

const fn default_max_body_bytes() -> usize {
    64 * 1024
}

/// How a signing sender proves a request is theirs.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VerifyConfig {
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), as sent by
    /// `vizhook serve` with a signing secret.
    StandardWebhooks {
        /// `whsec_…`, or a reference to it.
        secret: String,
        /// How far `webhook-timestamp` may be from now.
        #[serde(default = "default_tolerance", with = "humantime_serde")]
        tolerance: Duration,
    },
    /// A hex HMAC-SHA256 of the body in a header (GitHub style).
    HmacSha256 {
        secret: String,
        #[serde(default = "default_hmac_header")]
        header: String,
        #[serde(default = "default_hmac_prefix")]
        prefix: String,
    },
}

const fn default_tolerance() -> Duration {
    Duration::from_secs(300)
}

fn default_hmac_header() -> String {
    "x-signature".to_owned()
}

fn default_hmac_prefix() -> String {
    "sha256=".to_owned()
}

#[derive(Debug)]
enum Verify {
    StandardWebhooks {
        signer: Signer,
        tolerance: Duration,
    },
    HmacSha256 {
        key: Secret,
        header: String,
        prefix: String,
    },
}

/// Why a request was turned away. Each maps to one clear 4xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no such source")]
    NotFound,
    #[error("the client address {0} is not allowed to post to this source")]
    Forbidden(IpAddr),
    #[error("too many requests from {0}; slow down")]
    RateLimited(IpAddr),
    #[error("the body exceeds this source's limit of {0} bytes")]
    TooLarge(usize),
    #[error("the body stopped arriving, or arrived too slowly, before it was complete")]
    BodyTimeout,
    #[error("the request signature does not verify: {0}")]
    BadSignature(&'static str),
}

/// A source ready to admit requests.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    /// Normalised: starts with `/`, no trailing `/`.
    pub path: String,
    token_hash: [u8; 32],
    allow_ips: Vec<IpNet>,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    pub max_body_bytes: usize,
    verify: Option<Verify>,
}

impl Source {
    /// Builds a source, resolving its secrets against `base`. Errors are `(field, message)`.
    pub fn build(config: &SourceConfig, base: &Path) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let path = format!("/{}", config.path.trim_matches('/'));
        if config.name.trim().is_empty() {
            problems.push(("name".into(), "must not be empty".into()));
        }
        if path.contains(['?', '#']) || path.split('/').any(|part| part == "..") {
            problems.push(("path".into(), "must be a plain URL path".into()));
        }
        let token = resolve(&config.token, base)
            .map_err(|err| problems.push(("token".into(), err.to_string())))
            .ok();
        let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
        if token
            .as_ref()
            .is_some_and(|t| t.expose().len() < 16 || !t.expose().chars().all(unreserved))
        {
            problems.push((
                "token".into(),
                "must be at least 16 characters of A-Z, a-z, 0-9, '-', '.', '_' or '~'".into(),
            ));
        }
        if config.max_body_bytes == 0 {
            problems.push(("max_body_bytes".into(), "must be at least 1".into()));
        }
        let verify = match &config.verify {
            None => None,
            Some(VerifyConfig::StandardWebhooks { secret, tolerance }) => resolve(secret, base)
                .map_err(|err| err.to_string())
                .and_then(|secret| Signer::new(secret.expose()).map_err(|err| err.to_string()))
                .map_err(|err| problems.push(("verify.secret".into(), err)))
                .ok()
                .map(|signer| Verify::StandardWebhooks {
                    signer,
                    tolerance: *tolerance,
                }),
            Some(VerifyConfig::HmacSha256 {
                secret,
                header,
                prefix,
            }) => {
                if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                    problems.push(("verify.header".into(), "is not a valid header name".into()));
                }
                resolve(secret, base)
                    .map_err(|err| problems.push(("verify.secret".into(), err.to_string())))
                    .ok()
                    .map(|key| Verify::HmacSha256 {
                        key,
                        header: header.to_ascii_lowercase(),
                        prefix: prefix.clone(),
                    })
            }
        };
        let limiter = NonZeroU32::new(config.rate_limit)
            .map(|rate| RateLimiter::keyed(Quota::per_second(rate).allow_burst(rate)));
        match token {
            Some(token) if problems.is_empty() => Ok(Self {
                name: config.name.clone(),
                path,
                token_hash: Sha256::digest(token.expose().as_bytes()).into(),
                allow_ips: config.allow_ips.clone(),
                limiter,
                max_body_bytes: config.max_body_bytes,
                verify,
            }),
            _ => Err(problems),
        }
    }

    /// Whether `candidate` is this source's token. Both sides are hashed first, so the
    /// comparison takes the same time whatever the candidate's length.
    pub fn token_matches(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        candidate.ct_eq(&self.token_hash).into()
    }

    /// The allowlist and the rate limit, for a client address.
    pub fn admit(&self, client: IpAddr) -> Result<(), Rejection> {
        if !self.allow_ips.is_empty() && !self.allow_ips.iter().any(|net| net.contains(&client)) {
            return Err(Rejection::Forbidden(client));
        }
        if let Some(limiter) = &self.limiter {
            limiter
                .check_key(&client)
                .map_err(|_| Rejection::RateLimited(client))?;
        }
        Ok(())
    }

    /// Forgets idle clients of the rate limiter.
    pub fn forget_idle_clients(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
        }
    }

    /// Checks the signature, when the source expects one.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), Rejection> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match &self.verify {
            None => Ok(()),
            Some(Verify::StandardWebhooks { signer, tolerance }) => {
                let id = text("webhook-id").ok_or(Rejection::BadSignature("no webhook-id"))?;
                let timestamp = text("webhook-timestamp")
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or(Rejection::BadSignature("no valid webhook-timestamp"))?;
                let skew = now.unix_timestamp().abs_diff(timestamp);
                if skew > tolerance.as_secs() {
                    return Err(Rejection::BadSignature(
                        "webhook-timestamp is outside the tolerance",
                    ));
                }
                let signature = text("webhook-signature")
                    .ok_or(Rejection::BadSignature("no webhook-signature"))?;
                if signer.verify(id, timestamp, body, signature) {
                    Ok(())
                } else {
                    Err(Rejection::BadSignature("webhook-signature does not match"))
                }
            }
            Some(Verify::HmacSha256 {
                key,
                header,
                prefix,
            }) => {
                let given = text(header)
                    .and_then(|value| value.strip_prefix(prefix.as_str()))
                    .ok_or(Rejection::BadSignature("no signature header"))?;
                let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
                    .map_err(|_| Rejection::BadSignature("unusable key"))?;
                mac.update(body);
                let expected = hex::encode(mac.finalize().into_bytes());
                let given = given.trim().to_ascii_lowercase();
                if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                    Ok(())
                } else {
                    Err(Rejection::BadSignature("the HMAC does not match"))
                }
            }
        }
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests;
