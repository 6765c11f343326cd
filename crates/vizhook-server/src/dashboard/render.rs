//! Rendering: the templates (embedded in the binary, auto-escaped as HTML by minijinja), the
//! stylesheet, the security headers every page carries, and the dashboard's error type, which
//! always answers with a page that says what went wrong.

use std::sync::LazyLock;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use minijinja::Environment;
use serde::Serialize;

use crate::api::error::ApiError;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("signin.html", include_str!("templates/signin.html")),
    ("error.html", include_str!("templates/error.html")),
    ("webhooks.html", include_str!("templates/webhooks.html")),
    ("webhook.html", include_str!("templates/webhook.html")),
    ("deliveries.html", include_str!("templates/deliveries.html")),
    ("delivery.html", include_str!("templates/delivery.html")),
];

pub(super) const STYLESHEET: &str = include_str!("app.css");

static ENVIRONMENT: LazyLock<Result<Environment<'static>, minijinja::Error>> =
    LazyLock::new(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(env)
    });

/// Why a dashboard request did not get its page.
#[derive(Debug, thiserror::Error)]
pub(super) enum DashError {
    /// No valid session: back to the sign-in page.
    #[error("not signed in")]
    SignIn,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("a page could not be rendered: {0}")]
    Template(#[from] minijinja::Error),
}

pub(super) type DashResult<T> = Result<T, DashError>;

impl From<vizhook_store::StoreError> for DashError {
    fn from(err: vizhook_store::StoreError) -> Self {
        Self::Api(err.into())
    }
}

impl IntoResponse for DashError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            Self::SignIn => return Redirect::to("/dashboard/signin").into_response(),
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message.clone()),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, "Not found", message.clone()),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form's CSRF token is missing or wrong, so nothing was changed. Reload the page and try again."
                    .to_owned(),
            ),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "Not done", message.clone()),
            Self::Api(ApiError::Tableau(err)) => (
                err.status,
                "Not done",
                format!("{} ({})", err.detail, err.code),
            ),
            Self::Api(err) => {
                tracing::error!(error = %vizhook_runtime::ErrorChain(err), "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something failed",
                    "vizhook could not complete this request; the server log says why.".to_owned(),
                )
            }
            Self::Template(err) => {
                tracing::error!(error = %err, "dashboard template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something failed",
                    "This page could not be drawn; the server log says why.".to_owned(),
                )
            }
        };
        let context = minijinja::context! { heading, message => message.clone() };
        match render("error.html", context) {
            Ok(page) => (status, page).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}

/// An HTML page, with the headers every dashboard page carries.
pub(super) struct Page(String);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response =
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], self.0).into_response();
        secure(response.headers_mut());
        response
    }
}

/// No scripts at all, styles from this origin only, no framing, forms post only here.
pub(super) fn secure(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Renders template `name` with `context`.
pub(super) fn render(name: &str, context: impl Serialize) -> DashResult<Page> {
    let env = ENVIRONMENT.as_ref().map_err(|err| {
        DashError::Template(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            err.to_string(),
        ))
    })?;
    let context = minijinja::Value::from(minijinja::value::Serde(context));
    Ok(Page(env.get_template(name)?.render(context)?))
}
