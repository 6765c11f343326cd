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

use vizhook_tableau::TsError;

use super::format::{Document, XML_CONTENT_TYPE, xml};
use vizhook_listener::{ErrorPages, Limits};

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A client error in Tableau's terms.
    #[error(transparent)]
    Tableau(#[from] TsError),
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

/// `ApiError::bad_request(…)` and the rest: [`TsError`]'s constructors (which hold every code
/// and summary), for handlers that answer with an `ApiError`.
macro_rules! delegate {
    ($($name:ident),* $(,)?) => {
        impl ApiError {
            $(
                pub fn $name(detail: impl Into<String>) -> Self {
                    Self::Tableau(TsError::$name(detail))
                }
            )*
        }
    };
}

delegate!(
    bad_request,
    status_reason_while_enabled,
    webhook_test_failed,
    missing_credentials,
    signin_failed,
    invalid_token,
    wrong_site,
    forbidden,
    user_update_forbidden,
    site_not_found,
    user_not_found,
    project_not_found,
    workbook_not_found,
    datasource_not_found,
    view_not_found,
    job_not_found,
    connection_not_found,
    label_not_found,
    unknown_resource,
    webhook_not_found,
    delivery_not_found,
    upload_not_found,
    method_not_allowed,
    conflict,
    site_name_conflict,
    site_url_conflict,
    user_conflict,
    duplicate_refresh,
    body_timeout,
    payload_too_large,
);

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
        Self::Tableau(TsError::unknown_path(path))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Tableau(error) => error.status,
            Self::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::Rejected(_)) => StatusCode::BAD_REQUEST,
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

/// Domain errors come from request content, so they are the client's (see `TsError`).
impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self::Tableau(error.into())
    }
}

/// The documents of the requests the listener refuses before routing (a head hyper cannot
/// parse, a URI or head over the limits), as Tableau's XML errors: the format when nothing asks
/// for JSON, and a request that cannot be parsed asks for nothing.
pub fn refusal_pages(limits: Limits, api_version: &str) -> std::io::Result<ErrorPages> {
    ErrorPages::render(limits, |status, sentence| {
        let document = xml::write(
            &[TsError::of_status(status, sentence).element()],
            api_version,
        )?;
        Ok((XML_CONTENT_TYPE, document))
    })
}

/// The detail of a `503000`: what a client sees while the database is unreachable.
const UNAVAILABLE_DETAIL: &str =
    "The server cannot reach its database right now; retry the request shortly.";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let element = match &self {
            Self::Tableau(error) => error.element(),
            // The database is unreachable (a lost connection, a full pool, a timeout): the node
            // stays up and says so, and the request can be retried.
            Self::Store(StoreError::Unavailable(_)) => {
                tracing::warn!(error = %ErrorChain(&self), "the database is unavailable");
                TsError::of_status(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_DETAIL).element()
            }
            Self::Store(StoreError::Rejected(why)) => {
                tracing::info!(reason = %why, "the database refused a value of the request");
                TsError::bad_request(format!(
                    "The request holds a value the server cannot store ({why})."
                ))
                .element()
            }
            Self::Store(_) | Self::Internal { .. } => {
                tracing::error!(error = %ErrorChain(&self), "request failed");
                TsError::internal().element()
            }
        };
        let status = self.status();
        let mut response = status.into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
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
