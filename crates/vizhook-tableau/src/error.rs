//! [`TsError`]: a Tableau error document, `tsResponse/error` with its HTTP status, code,
//! summary and detail, as vizhook's API answers one and as the client reads one from any
//! Tableau server. Every code vizhook answers has a constructor here, so codes live in one
//! table; [`TsError::element`] is the document in the element tree, for either format.

use std::borrow::Cow;

use http::StatusCode;
use vizhook_core::DomainError;

use crate::Element;

/// A Tableau error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {summary}: {detail}")]
pub struct TsError {
    pub status: StatusCode,
    pub code: u32,
    pub summary: Cow<'static, str>,
    pub detail: String,
}

macro_rules! constructors {
    ($($(#[$meta:meta])* $name:ident => $status:ident, $code:literal, $summary:literal;)*) => {
        impl TsError {
            $(
                $(#[$meta])*
                pub fn $name(detail: impl Into<String>) -> Self {
                    Self {
                        status: StatusCode::$status,
                        code: $code,
                        summary: Cow::Borrowed($summary),
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
    /// A chunked upload session that does not exist (or was published, or expired).
    upload_not_found => NOT_FOUND, 404009, "Resource Not Found";
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

const INTERNAL_DETAIL: &str = "The server encountered an error and cannot complete your request. \
    Contact your server administrator.";

impl TsError {
    /// `Unknown resource '/{version}/…' specified in URI.` for a path nothing serves.
    pub fn unknown_path(path: &str) -> Self {
        let shown = path.strip_prefix("/api").unwrap_or(path);
        Self::unknown_resource(format!("Unknown resource '{shown}' specified in URI."))
    }

    /// The generic `500000`: what a client sees of a failure inside the server.
    pub fn internal() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 500_000,
            summary: Cow::Borrowed("Internal Server Error"),
            detail: INTERNAL_DETAIL.to_owned(),
        }
    }

    /// The error for a bare status, used when no handler produced one: `500000` for any
    /// server error, `405000` for a method, and otherwise the status-times-1000 pattern.
    pub fn generic(status: StatusCode) -> Self {
        if status.is_server_error() {
            return Self::internal();
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            return Self::method_not_allowed("The HTTP method is not supported for this resource.");
        }
        Self::of_status(status, status.canonical_reason().unwrap_or("Error"))
    }

    /// The error for `status` with a detail of its own: the code follows the status-times-1000
    /// pattern, and the summary is the status's reason phrase.
    pub fn of_status(status: StatusCode, detail: &str) -> Self {
        Self {
            status,
            code: u32::from(status.as_u16()) * 1000,
            summary: Cow::Borrowed(status.canonical_reason().unwrap_or("Error")),
            detail: detail.to_owned(),
        }
    }

    /// The `<error code=…><summary/><detail/></error>` element of a `tsResponse`.
    pub fn element(&self) -> Element {
        Element::new("error")
            .child(Element::new("summary").text(self.summary.as_ref()))
            .child(Element::new("detail").text(&self.detail))
            .attr("code", self.code.to_string())
    }

    /// Reads the error of a `tsResponse` root (XML) or of a JSON answer's top level.
    pub fn from_document(status: StatusCode, root: &Element) -> Option<Self> {
        let error = root.find("error")?;
        let text = |name: &str| {
            error
                .find(name)
                .map(|e| e.text_or_empty().to_owned())
                .or_else(|| error.get(name).map(str::to_owned))
        };
        Some(Self {
            status,
            code: error.get("code")?.parse().ok()?,
            summary: Cow::Owned(text("summary").unwrap_or_default()),
            detail: text("detail").unwrap_or_default(),
        })
    }
}

/// Domain errors come from request content, so they are the client's: 400, with Tableau's
/// dedicated code where one exists.
impl From<DomainError> for TsError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::ReasonWhileEnabled => Self::status_reason_while_enabled(error.to_string()),
            other => Self::bad_request(sentence(&other.to_string())),
        }
    }
}

/// `a message` as `A message.`.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}
