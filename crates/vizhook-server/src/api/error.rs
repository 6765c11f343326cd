//! `ApiError`: every way a Tableau API request can fail, each with Tableau's HTTP status, error
//! code, summary and detail. Rendering happens in `format::render`, in the client's format.
//! Internal failures are logged with their cause and reach the client only as `500000`.

use std::error::Error;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use vizhook_core::DomainError;
use vizhook_runtime::ErrorChain;
use vizhook_store::StoreError;

use super::format::{Document, Element, XML_CONTENT_TYPE, xml};
use vizhook_runtime::listener::{ErrorPages, Limits};

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error in Tableau's terms.
    #[error("{code} {summary}: {detail}")]
    Tableau {
        status: StatusCode,
        code: u32,
        summary: &'static str,
        detail: String,
    },
    /// The store failed; the client sees a generic 500.
    #[error("the store failed")]
    Store(#[source] StoreError),
    /// Something else failed inside the server; the client sees a generic 500.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
}

pub type ApiResult<T> = Result<T, ApiError>;

macro_rules! constructors {
    ($($(#[$meta:meta])* $name:ident => $status:ident, $code:literal, $summary:literal;)*) => {
        impl ApiError {
            $(
                $(#[$meta])*
                pub fn $name(detail: impl Into<String>) -> Self {
                    Self::Tableau {
                        status: StatusCode::$status,
                        code: $code,
                        summary: $summary,
                        detail: detail.into(),
                    }
                }
            )*
        }
    };
}

constructors! {
    /// A body that does not parse, or lacks or misuses a field.
    bad_request => BAD_REQUEST, 400000, "Bad Request";
    /// `statusChangeReason` given for an enabled webhook.
    status_reason_while_enabled => BAD_REQUEST, 400127, "Bad Request";
    /// The destination of a webhook test could not be reached at all.
    webhook_test_failed => BAD_REQUEST, 400113, "Webhook Test Failed";
    /// No `X-Tableau-Auth` header.
    missing_credentials => UNAUTHORIZED, 401000, "Unauthorized Access";
    /// Wrong user name, password or personal access token, or an unknown site at sign-in.
    signin_failed => UNAUTHORIZED, 401001, "Signin Error";
    /// An unknown, expired or signed-out token.
    invalid_token => UNAUTHORIZED, 401002, "Unauthorized Access";
    /// A token used on a site other than the one it was issued for.
    wrong_site => FORBIDDEN, 403000, "Forbidden";
    /// The caller's role does not allow the call.
    forbidden => FORBIDDEN, 403004, "Forbidden";
    /// A change of a user that the caller may not make (Tableau answers Update User so).
    user_update_forbidden => FORBIDDEN, 403009, "Forbidden";
    site_not_found => NOT_FOUND, 404000, "Site not found";
    user_not_found => NOT_FOUND, 404002, "Resource Not Found";
    project_not_found => NOT_FOUND, 404005, "Resource Not Found";
    workbook_not_found => NOT_FOUND, 404006, "Resource Not Found";
    datasource_not_found => NOT_FOUND, 404011, "Resource Not Found";
    view_not_found => NOT_FOUND, 404012, "Resource Not Found";
    job_not_found => NOT_FOUND, 404015, "Resource Not Found";
    connection_not_found => NOT_FOUND, 404020, "Resource Not Found";
    label_not_found => NOT_FOUND, 404052, "Resource Not Found";
    unknown_resource => NOT_FOUND, 404003, "Resource Not Found";
    webhook_not_found => NOT_FOUND, 404050, "Resource Not Found";
    delivery_not_found => NOT_FOUND, 404051, "Resource Not Found";
    method_not_allowed => METHOD_NOT_ALLOWED, 405000, "Invalid request method";
    /// Something with that name already exists.
    conflict => CONFLICT, 409000, "Conflict";
    site_name_conflict => CONFLICT, 409001, "Conflict";
    site_url_conflict => CONFLICT, 409002, "Conflict";
    user_conflict => CONFLICT, 409017, "Conflict";
    /// A refresh of the same content is already running.
    duplicate_refresh => CONFLICT, 409093, "Resource Conflict";
    /// The client stopped sending its request body for `[server] read_timeout`.
    body_timeout => REQUEST_TIMEOUT, 408000, "Request Timeout";
    payload_too_large => PAYLOAD_TOO_LARGE, 413000, "Payload Too Large";
}

impl ApiError {
    /// Maps a store conflict on `constraint` (see [`StoreError::is_conflict_on`]) to
    /// `conflict()`, and any other store error as usual: for writes that a concurrent request
    /// can make fail after the handler's own check passed.
    pub fn on_conflict(
        constraint: &'static str,
        conflict: impl FnOnce() -> Self,
    ) -> impl FnOnce(StoreError) -> Self {
        move |error| {
            if error.is_conflict_on(constraint) {
                conflict()
            } else {
                error.into()
            }
        }
    }

    pub fn internal(context: &'static str, source: impl Error + Send + Sync + 'static) -> Self {
        Self::Internal {
            context,
            source: Box::new(source),
        }
    }

    /// `Unknown resource '/{version}/…' specified in URI.` for a path nothing serves.
    pub fn unknown_path(path: &str) -> Self {
        let shown = path.strip_prefix("/api").unwrap_or(path);
        Self::unknown_resource(format!("Unknown resource '{shown}' specified in URI."))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Tableau { status, .. } => *status,
            Self::Store(_) | Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { constraint } => {
                tracing::debug!(constraint, "a write conflicted with stored data");
                Self::conflict(
                    "The request conflicts with data changed at the same time; try again.",
                )
            }
            StoreError::NotFound => {
                Self::unknown_resource("The requested resource could not be found.")
            }
            other => Self::Store(other),
        }
    }
}

/// Domain errors come from request content, so they are the client's: 400, with Tableau's
/// dedicated code where one exists.
impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::ReasonWhileEnabled => Self::status_reason_while_enabled(error.to_string()),
            other => Self::bad_request(capitalize(&other.to_string())),
        }
    }
}

fn capitalize(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

const INTERNAL_DETAIL: &str = "The server encountered an error and cannot complete your request. \
    Contact your server administrator.";

fn error_element(code: u32, summary: &str, detail: &str) -> Element {
    Element::new("error")
        .child(Element::new("summary").text(summary))
        .child(Element::new("detail").text(detail))
        .attr("code", code.to_string())
}

/// The error document for a bare status, used when no handler produced one.
pub fn generic_error(status: StatusCode) -> Element {
    if status.is_server_error() {
        return error_element(500_000, "Internal Server Error", INTERNAL_DETAIL);
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        return error_element(
            405_000,
            "Invalid request method",
            "The HTTP method is not supported for this resource.",
        );
    }
    status_error(status, status.canonical_reason().unwrap_or("Error"))
}

/// The error document for `status` with a detail of its own: the code follows the
/// status-times-1000 pattern, and the summary is the status's reason phrase.
pub fn status_error(status: StatusCode, detail: &str) -> Element {
    let reason = status.canonical_reason().unwrap_or("Error");
    error_element(u32::from(status.as_u16()) * 1000, reason, detail)
}

/// The documents of the requests the listener refuses before routing (a head hyper cannot
/// parse, a URI or head over the limits), as Tableau's XML errors: the format when nothing asks
/// for JSON, and a request that cannot be parsed asks for nothing.
pub fn refusal_pages(limits: Limits, api_version: &str) -> std::io::Result<ErrorPages> {
    ErrorPages::render(limits, |status, sentence| {
        let document = xml::write(&[status_error(status, sentence)], api_version)?;
        Ok((XML_CONTENT_TYPE, document))
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let element = match &self {
            Self::Tableau {
                code,
                summary,
                detail,
                ..
            } => error_element(*code, summary, detail),
            Self::Store(_) | Self::Internal { .. } => {
                tracing::error!(error = %ErrorChain(&self), "request failed");
                generic_error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        };
        let status = self.status();
        let mut response = status.into_response();
        if status == StatusCode::REQUEST_TIMEOUT {
            // The listener closes the connection after a body timeout; say so.
            tracing::info!(error = %self, "request body timed out");
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response.extensions_mut().insert(Document(vec![element]));
        response
    }
}
