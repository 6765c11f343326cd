//! The `{version}` segment of `/api/{version}/…` on the server: the [`Version`] extractor for
//! handlers whose method has a minimum version, and the route-layer middleware that answers
//! an unserved version as an unknown resource. Versions themselves are `vizhook_tableau`'s.

use axum::{
    extract::{FromRequestParts, OriginalUri, RawPathParams, Request},
    http::request::Parts,
    middleware::Next,
    response::{IntoResponse, Response},
};
pub use vizhook_tableau::ApiVersion;

use super::error::ApiError;

/// The version of the current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub ApiVersion);

impl<S: Send + Sync> FromRequestParts<S> for Version {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::unknown_path(parts.uri.path()))?;
        params
            .iter()
            .find(|(key, _)| *key == "version")
            .and_then(|(_, value)| ApiVersion::parse(value))
            .map(Self)
            .ok_or_else(|| ApiError::unknown_path(parts.uri.path()))
    }
}

/// Route-layer middleware: a request whose `{version}` is not a served version is an unknown
/// resource (`404003`), as on Tableau.
pub async fn check(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match Version::from_request_parts(&mut parts, &()).await {
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
