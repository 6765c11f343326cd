//! Content negotiation for the Tableau API, in one place: request bodies are parsed from XML or
//! JSON into an [`Element`] tree, and responses (successes and errors alike) are rendered from
//! one by the [`render`] middleware, as XML unless the client sent `Accept: application/json`.
//! Handlers never touch quick-xml or serde_json.

pub mod json;
pub mod tree;
pub mod xml;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
pub use tree::{Attr, Element};

use crate::state::AppState;

pub const XML_CONTENT_TYPE: &str = "application/xml;charset=utf-8";
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// The wire format of a request body or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// The response format: JSON only when the client accepts `application/json`. TSC sends
    /// `Accept: */*` and must get XML.
    pub fn for_response(headers: &HeaderMap) -> Self {
        let accepts_json = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .any(|value| value.to_ascii_lowercase().contains("application/json"));
        if accepts_json { Self::Json } else { Self::Xml }
    }

    /// The request body format, from the body itself when its first non-blank byte tells
    /// (`<` or `{`/`[`), else from `Content-Type`. Clients are sloppy here: TSC 0.40 signs in
    /// without a `Content-Type`, and scripts send XML labelled as JSON.
    pub fn for_body(headers: &HeaderMap, body: &[u8]) -> Self {
        match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'<') => return Self::Xml,
            Some(b'{' | b'[') => return Self::Json,
            _ => {}
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.contains("json") {
            Self::Json
        } else {
            Self::Xml
        }
    }
}

/// Why a request body could not be read as a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    message: String,
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    fn xml(reader: &quick_xml::Reader<&[u8]>, err: quick_xml::Error) -> Self {
        Self::new(format!("{err} (at byte {})", reader.error_position()))
    }
}

/// Parses a request body in the given format into its root element.
pub fn parse(format: Format, body: &[u8]) -> Result<Element, ParseError> {
    match format {
        Format::Xml => xml::parse(body),
        Format::Json => json::parse(body),
    }
}

/// The children of a `tsResponse`, attached to a response for [`render`] to serialize.
#[derive(Debug, Clone)]
pub struct Document(pub Vec<Element>);

/// A successful Tableau response.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    body: Option<Vec<Element>>,
    location: Option<String>,
}

impl Reply {
    pub fn ok(body: Element) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(vec![body]),
            location: None,
        }
    }

    /// 200 with several top-level elements (for example `pagination` and a list).
    pub fn ok_many(body: Vec<Element>) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
        }
    }

    pub fn created(body: Element, location: String) -> Self {
        Self {
            status: StatusCode::CREATED,
            body: Some(vec![body]),
            location: Some(location),
        }
    }

    pub fn accepted(body: Element) -> Self {
        Self {
            status: StatusCode::ACCEPTED,
            body: Some(vec![body]),
            location: None,
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            location: None,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        if let Some(body) = self.body {
            response.extensions_mut().insert(Document(body));
        }
        response
    }
}

/// Serializes the [`Document`] of every response in the format the request asked for. A 4xx
/// or 5xx without one (a framework rejection, a panic) gets a generic Tableau error, so no
/// client ever sees a bare error status.
pub async fn render(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // vizhook's own API speaks JSON; the Tableau API is XML unless JSON is asked for.
    let format = if request.uri().path().starts_with("/vizhook/") {
        Format::Json
    } else {
        Format::for_response(request.headers())
    };
    let mut response = next.run(request).await;
    let document = match response.extensions_mut().remove::<Document>() {
        Some(document) => document,
        None if response.status().is_client_error() || response.status().is_server_error() => {
            Document(vec![crate::api::error::generic_error(response.status())])
        }
        None => return response,
    };
    let api_version = &state.config.tableau.rest_api_version;
    let (bytes, content_type) = match format {
        Format::Json => (json::write(&document.0), JSON_CONTENT_TYPE),
        Format::Xml => match xml::write(&document.0, api_version) {
            Ok(bytes) => (bytes, XML_CONTENT_TYPE),
            Err(err) => {
                tracing::error!(error = %err, "could not write an XML response");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
    };
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
