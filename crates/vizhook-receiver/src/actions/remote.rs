//! The actions that speak HTTP, all through the guarded outbound client: Slack and Teams
//! webhooks, any HTTP endpoint (IFTTT, Zapier, ...) and posts on X signed with OAuth 1.0a.
//! Any 2xx answer is success.

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::{ActionError, Actions, Context, messages, templates::Tpl, text::one_line};
use vizhook_runtime::outbound::{Outbound, json_headers};

use crate::secret::Secret;

/// Where an HTTP action sends: a fixed URL (from a secret reference) or a template.
pub(super) enum UrlSource {
    Fixed(Url),
    Template(Tpl),
}

impl UrlSource {
    /// An http(s) URL with a host, or `None`.
    pub(super) fn parse(text: &str) -> Option<Url> {
        Url::parse(text.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
    }
}

pub(super) struct HttpAction {
    pub(super) method: http::Method,
    pub(super) url: UrlSource,
    pub(super) headers: Vec<(HeaderName, Tpl)>,
    /// `None`: the context as JSON.
    pub(super) body: Option<Tpl>,
    /// The body is JSON: its template auto-escapes values as JSON and must render valid JSON.
    pub(super) json: bool,
    /// No `Content-Type` was configured and the body is JSON: send `application/json`.
    pub(super) default_json_type: bool,
}

pub(super) struct XAction {
    pub(super) endpoint: Url,
    /// Consumer key and secret, access token and secret.
    pub(super) credentials: [Secret; 4],
    pub(super) text: Tpl,
}

/// Host and port of a URL: all an error message shows of it (paths often hold keys).
fn destination(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// POSTs `body`; any 2xx is success.
async fn post(
    outbound: &Outbound,
    url: &Url,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<(), ActionError> {
    send(outbound, http::Method::POST, url, headers, body).await
}

async fn send(
    outbound: &Outbound,
    method: http::Method,
    url: &Url,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<(), ActionError> {
    let destination = destination(url);
    let response = outbound
        .send(
            method,
            url,
            headers,
            Bytes::from(body),
            outbound.default_timeout(),
        )
        .await
        .map_err(|err| ActionError::Send {
            reason: one_line(&err.to_string().replace(url.as_str(), &destination), 300),
            destination: destination.clone(),
        })?;
    if (200..300).contains(&response.status) {
        tracing::debug!(%destination, status = response.status, "action delivered");
        return Ok(());
    }
    Err(ActionError::Status {
        destination,
        status: response.status,
        excerpt: one_line(&response.body_text(), 200),
        retry_after: response.retry_after,
    })
}

fn json_body(value: &serde_json::Value) -> Vec<u8> {
    // Serializing a `Value` cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A Slack or Teams message: the channel's layout (`build`) around the default or custom text.
pub(super) async fn chat(
    outbound: &Outbound,
    actions: &Actions,
    url: &Url,
    text: Option<&Tpl>,
    ctx: &Context,
    build: fn(&Context, Option<String>) -> serde_json::Value,
) -> Result<(), ActionError> {
    let custom = text.map(|tpl| actions.render(tpl, ctx)).transpose()?;
    post(
        outbound,
        url,
        json_headers(),
        json_body(&build(ctx, custom)),
    )
    .await
}

pub(super) async fn http(
    outbound: &Outbound,
    actions: &Actions,
    action: &HttpAction,
    ctx: &Context,
) -> Result<(), ActionError> {
    let url = match &action.url {
        UrlSource::Fixed(url) => url.clone(),
        UrlSource::Template(tpl) => {
            UrlSource::parse(&actions.render(tpl, ctx)?).ok_or_else(|| {
                ActionError::InvalidRequest(format!("{} rendered no http(s) URL", tpl.path()))
            })?
        }
    };
    let mut headers = if action.default_json_type {
        json_headers()
    } else {
        HeaderMap::new()
    };
    for (name, tpl) in &action.headers {
        let value = HeaderValue::from_str(&actions.render(tpl, ctx)?).map_err(|_| {
            ActionError::InvalidRequest(format!("{} rendered an invalid header value", tpl.path()))
        })?;
        headers.insert(name.clone(), value);
    }
    let body = match &action.body {
        Some(tpl) => {
            let body = actions.render(tpl, ctx)?;
            if action.json && serde_json::from_str::<serde_json::Value>(&body).is_err() {
                let reason = format!("{} rendered invalid JSON", tpl.path());
                return Err(ActionError::InvalidRequest(reason));
            }
            body.into_bytes()
        }
        // GET and DELETE carry their data in the URL: no default body.
        None if matches!(action.method, http::Method::GET | http::Method::DELETE) => Vec::new(),
        None => serde_json::to_vec(ctx).unwrap_or_default(),
    };
    send(outbound, action.method.clone(), &url, headers, body).await
}

pub(super) async fn x(
    outbound: &Outbound,
    actions: &Actions,
    action: &XAction,
    ctx: &Context,
) -> Result<(), ActionError> {
    let text = messages::tweet(&actions.render(&action.text, ctx)?);
    let [consumer_key, consumer_secret, token, token_secret] =
        action.credentials.each_ref().map(Secret::expose);
    let token =
        oauth1_request::Token::from_parts(consumer_key, consumer_secret, token, token_secret);
    // The JSON body is not part of an OAuth 1.0a signature: only the method and URL are.
    let authorization = oauth1_request::post(
        action.endpoint.as_str(),
        &(),
        &token,
        oauth1_request::HMAC_SHA1,
    );
    let mut headers = json_headers();
    let mut value = HeaderValue::from_str(&authorization).map_err(|_| {
        ActionError::InvalidRequest("the OAuth header is not a valid header value".to_owned())
    })?;
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    let body = json_body(&serde_json::json!({ "text": text }));
    post(outbound, &action.endpoint, headers, body).await
}
