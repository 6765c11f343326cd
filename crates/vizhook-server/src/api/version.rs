//! The `{version}` segment of `/api/{version}/…`: which versions are served, and the minimum a
//! method needs.

use axum::{
    extract::{FromRequestParts, OriginalUri, RawPathParams, Request},
    http::request::Parts,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ApiError;

/// A REST API version such as 3.24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    /// The oldest version served: tableauserverclient starts every session at 2.4.
    pub const OLDEST: Self = Self::new(2, 4);
    /// Webhooks arrived in 3.6 (Tableau 2019.4).
    pub const WEBHOOKS: Self = Self::new(3, 6);
    /// Updating a webhook arrived in 3.8 (Tableau 2020.2).
    pub const WEBHOOK_UPDATE: Self = Self::new(3, 8);

    pub const fn new(major: u16, minor: u16) -> Self {
        Self { major, minor }
    }

    /// `major.minor` with a major version of 2 or 3.
    pub fn parse(raw: &str) -> Option<Self> {
        let (major, minor) = raw.split_once('.')?;
        let all_digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(major) || !all_digits(minor) {
            return None;
        }
        let version = Self::new(major.parse().ok()?, minor.parse().ok()?);
        (matches!(version.major, 2 | 3) && version >= Self::OLDEST).then_some(version)
    }
}

/// The version of the current request, for handlers whose method has a minimum version.
impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unknown_path(parts.uri.path()))?;
        params
            .iter()
            .find(|(key, _)| *key == "version")
            .and_then(|(_, value)| Self::parse(value))
            .ok_or_else(|| ApiError::unknown_path(parts.uri.path()))
    }
}

impl ApiVersion {
    /// Refuses a method called below its minimum version the way Tableau refuses a path it
    /// does not know at that version.
    pub fn require(self, minimum: Self, path: &str) -> Result<(), ApiError> {
        if self >= minimum {
            Ok(())
        } else {
            Err(ApiError::unknown_path(path))
        }
    }
}

/// Route-layer middleware: a request whose `{version}` is not a served version is an unknown
/// resource (`404003`), as on Tableau.
pub async fn check(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match ApiVersion::from_request_parts(&mut parts, &()).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(_) => {
            let path = parts
                .extensions
                .get::<OriginalUri>()
                .map_or_else(|| parts.uri.path().to_owned(), |uri| uri.path().to_owned());
            ApiError::unknown_path(&path).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(ApiVersion::parse("2.4"), Some(ApiVersion::new(2, 4)));
        assert_eq!(ApiVersion::parse("3.10"), Some(ApiVersion::new(3, 10)));
        assert!(ApiVersion::parse("3.10") > ApiVersion::parse("3.9"));
        for bad in [
            "2.3", "1.0", "4.0", "3", "3.", ".9", "3.9.1", "v3.9", "3.x", "3.1000",
        ] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad}");
        }
    }
}
