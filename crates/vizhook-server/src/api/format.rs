//! Content negotiation for the Tableau API, in one place: request bodies are parsed from XML or
//! JSON into an [`Element`] tree (`vizhook_tableau`'s, re-exported here for handlers), and
//! responses (successes and errors alike) are rendered from one by the [`render`] middleware,
//! as XML unless the client sent `Accept: application/json`. Handlers never touch quick-xml or
//! serde_json.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use vizhook_tableau::TsError;
pub use vizhook_tableau::{
    Attr, Element, Format, ParseError,
    format::{JSON_CONTENT_TYPE, XML_CONTENT_TYPE, parse},
    json, xml,
};

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
/// What [`render`] needs to know: the API version XML documents name in their schema location.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub api_version: Arc<str>,
}

/// The generic `500000` as XML, for the one case where a document could not be written.
const UNWRITABLE: &str = "<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns=\"http://tableau.com/api\"><error code=\"500000\"><summary>Internal Server Error</summary><detail>The server encountered an error and cannot complete your request. Contact your server administrator.</detail></error></tsResponse>";

pub async fn render(State(config): State<RenderConfig>, request: Request, next: Next) -> Response {
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
            Document(vec![TsError::generic(response.status()).element()])
        }
        None => return response,
    };
    let (bytes, content_type) = match format {
        Format::Json => (json::write(&document.0), JSON_CONTENT_TYPE),
        Format::Xml => match xml::write(&document.0, &config.api_version) {
            Ok(bytes) => (bytes, XML_CONTENT_TYPE),
            Err(err) => {
                tracing::error!(error = %err, "could not write an XML response");
                let mut response = (StatusCode::INTERNAL_SERVER_ERROR, UNWRITABLE).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(XML_CONTENT_TYPE),
                );
                return response;
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
