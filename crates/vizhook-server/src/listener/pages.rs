//! The error documents of requests refused before any handler saw them (a head hyper cannot
//! parse, a URI or head over [`Limits`]), rendered once at start in the role's format: Tableau's
//! XML error on `serve`, `{"error": …}` on `receive`.

use std::sync::Arc;

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use bytes::Bytes;

use super::limits::Limits;

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

    fn index(self) -> usize {
        match self {
            Self::Malformed => 0,
            Self::UriTooLong => 1,
            Self::HeadersTooLarge => 2,
        }
    }
}

struct Page {
    content_type: HeaderValue,
    body: Bytes,
}

/// The document of every [`Refusal`], and the limits they speak of.
#[derive(Clone)]
pub struct ErrorPages {
    limits: Limits,
    pages: Arc<[Page; 3]>,
}

impl ErrorPages {
    /// Renders each refusal's document with `render(status, sentence)`, which returns its
    /// content type and body.
    pub fn render<E>(
        limits: Limits,
        mut render: impl FnMut(StatusCode, &str) -> Result<(&'static str, Vec<u8>), E>,
    ) -> Result<Self, E> {
        let mut page = |refusal: Refusal| {
            let (content_type, body) = render(refusal.status(), &refusal.sentence(&limits))?;
            Ok(Page {
                content_type: HeaderValue::from_static(content_type),
                body: Bytes::from(body),
            })
        };
        let pages = [
            page(Refusal::Malformed)?,
            page(Refusal::UriTooLong)?,
            page(Refusal::HeadersTooLarge)?,
        ];
        Ok(Self {
            limits,
            pages: Arc::new(pages),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn page(&self, refusal: Refusal) -> &Page {
        &self.pages[refusal.index()]
    }

    /// The refusal as a response, for a request that was parsed. It closes the connection,
    /// as hyper's own refusals do: what else the client sends is not worth reading.
    pub(crate) fn response(&self, refusal: Refusal) -> Response {
        let page = self.page(refusal);
        let mut response = Response::new(Body::from(page.body.clone()));
        *response.status_mut() = refusal.status();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, page.content_type.clone());
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// The refusal as the bytes of a whole HTTP message that closes its connection, in place
    /// of hyper's own: `version` (`HTTP/1.1`) and `date` are those hyper wrote.
    pub(crate) fn message(&self, refusal: Refusal, version: &[u8], date: Option<&[u8]>) -> Vec<u8> {
        let page = self.page(refusal);
        let status = refusal.status();
        let mut message = Vec::with_capacity(256 + page.body.len());
        message.extend_from_slice(version);
        message.extend_from_slice(
            format!(
                " {} {}\r\ncontent-type: ",
                status.as_str(),
                status.canonical_reason().unwrap_or_default()
            )
            .as_bytes(),
        );
        message.extend_from_slice(page.content_type.as_bytes());
        message.extend_from_slice(
            format!(
                "\r\ncontent-length: {}\r\nconnection: close\r\n",
                page.body.len()
            )
            .as_bytes(),
        );
        if let Some(date) = date {
            message.extend_from_slice(b"date: ");
            message.extend_from_slice(date);
            message.extend_from_slice(b"\r\n");
        }
        message.extend_from_slice(b"\r\n");
        message.extend_from_slice(&page.body);
        message
    }
}

impl std::fmt::Debug for ErrorPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorPages")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
