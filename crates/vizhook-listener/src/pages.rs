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

use super::limits::{Limits, Refusal};

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
