//! Which of Tableau's two formats a request body or a response is in, and why a body could
//! not be read as a document. Tableau's JSON is a mechanical view of its XML, so both parse
//! into one [`Element`](crate::Element) tree (`xml.rs`, `json.rs`).

use http::{HeaderMap, header};

pub use crate::parse_error::ParseError;
use crate::{Element, json, xml};

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

/// Parses a body in the given format into its root element.
pub fn parse(format: Format, body: &[u8]) -> Result<Element, ParseError> {
    match format {
        Format::Xml => xml::parse(body),
        Format::Json => json::parse(body),
    }
}
