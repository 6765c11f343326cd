//! Extractors shared by the Tableau handlers: the request document, path ids and query
//! parameters, each failing with the Tableau error a client should see.

use std::str::FromStr;

use axum::{
    body::Body,
    extract::{FromRequest, FromRequestParts, RawPathParams, Request},
    http::{header, request::Parts},
};

use super::{
    error::ApiError,
    format::{self, Element, Format},
};
use crate::state::AppState;

/// The root element of a request body (`tsRequest`), parsed from XML or JSON and checked
/// against Tableau's schema (`vizhook_tableau::schema`). An empty body gives an empty `tsRequest`.
#[derive(Debug)]
pub struct TsRequest(pub Element);

impl FromRequest<AppState> for TsRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes = read_body(&parts.headers, body, state.config.server.max_body_bytes).await?;
        Self::from_bytes(&parts.headers, &bytes)
    }
}

/// Reads a body of at most `limit` bytes; more is refused with 413 before it is buffered.
pub async fn read_body(
    headers: &axum::http::HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let too_large =
        || ApiError::payload_too_large(format!("The request body is larger than {limit} bytes."));
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        if vizhook_listener::is_body_timeout(&err) {
            ApiError::body_timeout(
                "The request body stopped arriving, or arrived too slowly, before it was complete.",
            )
        } else {
            too_large()
        }
    })
}

fn parse_document(bytes: &[u8], format: Format) -> Result<Element, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Element::new("tsRequest"));
    }
    let root = format::parse(format, bytes).map_err(|err| {
        ApiError::bad_request(format!("Payload is either malformed or incomplete: {err}."))
    })?;
    if root.name != "tsRequest" {
        return Err(ApiError::bad_request(format!(
            "Payload is either malformed or incomplete: the root element must be tsRequest, not {}.",
            root.name
        )));
    }
    vizhook_tableau::schema::check(&root)?;
    Ok(root)
}

impl TsRequest {
    /// Parses a body whose format is named by `headers` or sniffed from its first byte.
    pub fn from_bytes(headers: &axum::http::HeaderMap, bytes: &[u8]) -> Result<Self, ApiError> {
        parse_document(bytes, Format::for_body(headers, bytes)).map(Self)
    }

    /// The required child element `name` of `tsRequest`.
    pub fn required(&self, name: &str) -> Result<&Element, ApiError> {
        self.0.find(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Payload is either malformed or incomplete: the request must contain a '{name}' element."
            ))
        })
    }
}

/// Reads the raw value of path parameter `name`.
pub async fn path_param(parts: &mut Parts, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A typed id from path parameter `name`. Malformed ids name no resource, so they fail with
/// the resource's not-found error, like unknown ones.
pub async fn path_id<T: FromStr>(
    parts: &mut Parts,
    name: &str,
    not_found: impl FnOnce(&str) -> ApiError,
) -> Result<T, ApiError> {
    let raw = path_param(parts, name).await.unwrap_or_default();
    raw.parse().map_err(|_| not_found(&raw))
}

/// Query parameters in order; repeated keys are kept. Values are percent-decoded.
#[derive(Debug, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Self(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

impl QueryParams {
    /// The value of `key`, matched case-insensitively (TSC writes `overwrite=true` in lower
    /// case, the docs in camel case).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A positive integer parameter, or `default` when absent.
    pub fn positive(&self, key: &str, default: usize) -> Result<usize, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "The query parameter {key} must be a positive integer, not '{raw}'."
                ))
            }),
        }
    }
}
