//! How a destination URL becomes a request: host names without their trailing dot, RFC 6761's
//! loopback names, and user information turned into an `Authorization` header.

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Uri, header::AUTHORIZATION};
use url::{Host, Url};

use super::error::SendError;

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
pub(super) fn request_uri(url: &Url, headers: &mut HeaderMap) -> Result<Uri, SendError> {
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
