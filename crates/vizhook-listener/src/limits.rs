//! How large a request's head may be, on both roles: `[server] max_header_bytes` (the request
//! line and headers together; past it `431`) and `max_uri_bytes` (the request target; past it
//! `414`). hyper's read buffer is capped at `max_header_bytes`, which bounds what a connection
//! can hold before its head is complete; but hyper measures its buffer, not the head (one large
//! read can carry a head past the cap), and its own URI limit is fixed near 64 KiB, so
//! `HeadLimitLayer` (`head_limit.rs`) checks both limits exactly on every request hyper parsed.
//! [`Refusal`] names why the HTTP layer refused a request.

use axum::http::{Method, StatusCode, Uri};

/// The smallest `max_header_bytes`: hyper refuses a smaller read buffer.
pub const MIN_HEADER_BYTES: usize = 8192;
/// The largest `max_uri_bytes`: hyper answers `414` past this itself.
pub const MAX_URI_BYTES: usize = u16::MAX as usize - 1;

/// The limits on a request's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_uri_bytes: usize,
}

impl Default for Limits {
    /// 64 KiB of head, a sixth of hyper's default buffer (about 400 KiB) and still far more
    /// than any Tableau client or webhook sender sends; a 16 KiB URI, twice the request line
    /// common proxies accept and far longer than any REST call with its filters.
    fn default() -> Self {
        Self {
            max_header_bytes: 65536,
            max_uri_bytes: 16384,
        }
    }
}

/// A limit that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("must be at least {MIN_HEADER_BYTES}, the smallest read buffer hyper allows")]
    HeaderBytes,
    #[error("must be from 1 to {MAX_URI_BYTES}, hyper's own limit")]
    UriBytes,
}

impl LimitError {
    /// The key under `[server]`.
    pub fn key(self) -> &'static str {
        match self {
            Self::HeaderBytes => "max_header_bytes",
            Self::UriBytes => "max_uri_bytes",
        }
    }
}

impl Limits {
    /// Every limit that cannot be used.
    pub fn check(&self) -> Vec<LimitError> {
        let mut problems = Vec::new();
        if self.max_header_bytes < MIN_HEADER_BYTES {
            problems.push(LimitError::HeaderBytes);
        }
        if !(1..=MAX_URI_BYTES).contains(&self.max_uri_bytes) {
            problems.push(LimitError::UriBytes);
        }
        problems
    }

    /// What a parsed request breaks, if anything.
    pub(crate) fn refusal(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &axum::http::HeaderMap,
    ) -> Option<Refusal> {
        let target = target_bytes(uri);
        if target > self.max_uri_bytes {
            return Some(Refusal::UriTooLong);
        }
        // `METHOD target HTTP/1.1\r\n`, a `name: value\r\n` line per header, then `\r\n`: the
        // head as sent, less any optional whitespace around the values.
        let line = method.as_str().len() + 1 + target + 1 + "HTTP/1.1\r\n".len();
        let head = headers.iter().fold(line + 2, |sum, (name, value)| {
            sum.saturating_add(name.as_str().len() + value.len() + 4)
        });
        (head > self.max_header_bytes).then_some(Refusal::HeadersTooLarge)
    }
}

/// The length of the request target as it was sent: origin form (`/path?query`), absolute form
/// (`http://host/path`) or authority form (`host:port`).
fn target_bytes(uri: &Uri) -> usize {
    let path = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => scheme.len() + 3 + authority.as_str().len() + path,
        (None, Some(authority)) if uri.path_and_query().is_none() => authority.as_str().len(),
        _ => path,
    }
}

/// Why the HTTP layer refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// hyper could not parse the request line or a header (`400`).
    Malformed,
    /// The request target is over `max_uri_bytes`, or hyper's own limit (`414`).
    UriTooLong,
    /// The request line and headers are over `max_header_bytes`, or number more than hyper's
    /// 100 (`431`).
    HeadersTooLarge,
}

impl Refusal {
    const ALL: [Self; 3] = [Self::Malformed, Self::UriTooLong, Self::HeadersTooLarge];

    pub fn status(self) -> StatusCode {
        match self {
            Self::Malformed => StatusCode::BAD_REQUEST,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }

    /// The refusal hyper answers with `status` on its own, if it is one.
    pub(crate) fn of_status(status: u16) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|refusal| refusal.status().as_u16() == status)
    }

    /// What the client is told.
    pub fn sentence(self, limits: &Limits) -> String {
        match self {
            Self::Malformed => "The request could not be parsed: its request line or a header is \
                malformed (a header value may not hold control characters, for example)."
                .to_owned(),
            Self::UriTooLong => format!(
                "The request URI is longer than the {} bytes this server accepts.",
                limits.max_uri_bytes
            ),
            Self::HeadersTooLarge => format!(
                "The request line and headers are larger than the {} bytes this server accepts, \
                 or there are more than 100 headers.",
                limits.max_header_bytes
            ),
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Malformed => 0,
            Self::UriTooLong => 1,
            Self::HeadersTooLarge => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_measured_as_sent() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        assert_eq!(target_bytes(&uri("/api/3.24/sites?x=1")), 19);
        assert_eq!(target_bytes(&uri("http://host:80/a")), 16);
        assert_eq!(target_bytes(&uri("host:443")), 8);
        assert_eq!(target_bytes(&uri("*")), 1);
    }

    #[test]
    fn limits_below_hypers_floor_or_past_its_ceiling_are_refused() {
        assert!(Limits::default().check().is_empty());
        let limits = Limits {
            max_header_bytes: 8191,
            max_uri_bytes: 0,
        };
        assert_eq!(
            limits.check(),
            [LimitError::HeaderBytes, LimitError::UriBytes]
        );
        let limits = Limits {
            max_header_bytes: 8192,
            max_uri_bytes: MAX_URI_BYTES + 1,
        };
        assert_eq!(limits.check(), [LimitError::UriBytes]);
    }

    #[test]
    fn a_head_is_measured_with_its_request_line() {
        let limits = Limits {
            max_header_bytes: 8192,
            max_uri_bytes: 100,
        };
        let mut headers = axum::http::HeaderMap::new();
        let long = "/".repeat(101);
        assert_eq!(
            limits.refusal(&Method::GET, &long.parse().unwrap(), &headers),
            Some(Refusal::UriTooLong)
        );
        // `GET / HTTP/1.1\r\n` (16) + `x: <value>\r\n` (5 + value) + `\r\n` (2).
        headers.insert("x", "v".repeat(8192 - 23).parse().unwrap());
        assert_eq!(
            limits.refusal(&Method::GET, &"/".parse().unwrap(), &headers),
            None
        );
        headers.insert("x", "v".repeat(8192 - 22).parse().unwrap());
        assert_eq!(
            limits.refusal(&Method::GET, &"/".parse().unwrap(), &headers),
            Some(Refusal::HeadersTooLarge)
        );
    }
}
