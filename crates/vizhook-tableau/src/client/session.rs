//! The client itself: credentials, signing in with a personal access token or a password,
//! keeping the session, signing in again once on a `401`, (optionally) pausing after a failed
//! sign-in so that a wrong token does not hammer the server, and calls whose refusals are read
//! as the server's [`TsError`] when it sent one.

use std::{
    fmt,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{
    Method,
    header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue},
};
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;
use vizhook_runtime::outbound::{Outbound, OutboundResponse, SendError};

use crate::{ApiVersion, Element, TsError, json};

/// A secret the client sends but never shows: `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Hidden(String);

impl Hidden {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the client signs in.
#[derive(Debug, Clone)]
pub enum Credentials {
    AccessToken { name: String, secret: Hidden },
    Password { name: String, password: Hidden },
}

/// Why a call got no usable answer. Messages name the request path, never a token.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Send(#[from] SendError),
    /// The server answered with an error: Tableau's document when it sent one.
    #[error("{what} answered HTTP {status}{}", tableau.as_ref().map(|e| format!(": {} ({})", e.detail, e.code)).unwrap_or_default())]
    Status {
        what: String,
        status: u16,
        tableau: Option<TsError>,
    },
    #[error("{what} answered with a body vizhook could not read: {detail}")]
    Shape { what: String, detail: String },
    #[error("Tableau refused the sign-in (HTTP {status}{})", tableau.as_ref().map(|e| format!(", {}", e.code)).unwrap_or_default())]
    SignInRefused {
        status: u16,
        tableau: Option<TsError>,
    },
    #[error("signing in to Tableau failed less than {0:?} ago")]
    Paused(Duration),
}

impl ClientError {
    /// The HTTP status of a refused call.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::SignInRefused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Tableau error the server sent, if any.
    pub fn tableau(&self) -> Option<&TsError> {
        match self {
            Self::Status { tableau, .. } | Self::SignInRefused { tableau, .. } => tableau.as_ref(),
            _ => None,
        }
    }
}

/// A signed-in session: its token and the LUID of the site it is for.
#[derive(Debug, Clone)]
pub struct Session {
    token: Hidden,
    pub site_id: String,
    pub user_id: String,
}

#[derive(Debug, Default)]
struct SessionState {
    current: Option<Session>,
    paused_until: Option<Instant>,
}

/// A client of one Tableau site.
#[derive(Debug)]
pub struct Client {
    outbound: Outbound,
    /// `{server}/api/{version}`, without a trailing slash.
    api: String,
    /// `{server}`, without a trailing slash: vizhook's own API is below it, at `/vizhook/v1/`.
    server: String,
    content_url: String,
    credentials: Credentials,
    pause_after_failure: Option<Duration>,
    session: Mutex<SessionState>,
}

impl Client {
    /// A client of site `content_url` (empty for the Default site) on `server` (such as
    /// `https://tableau.example.com`), speaking API `version`.
    pub fn new(
        outbound: Outbound,
        server: &str,
        version: ApiVersion,
        content_url: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self::with_api(
            outbound,
            format!(
                "{}/api/{}.{}",
                server.trim_end_matches('/'),
                version.major,
                version.minor
            ),
            content_url,
            credentials,
        )
    }

    /// A client of an API base URL given whole (`{server}/api/{version}`).
    pub fn with_api(
        outbound: Outbound,
        api: String,
        content_url: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        let api = api.trim_end_matches('/').to_owned();
        let server = api
            .rfind("/api/")
            .map_or(api.as_str(), |at| &api[..at])
            .to_owned();
        Self {
            outbound,
            api,
            server,
            content_url: content_url.into(),
            credentials,
            pause_after_failure: None,
            session: Mutex::default(),
        }
    }

    /// After a failed sign-in, refuse to sign in again for `pause` (calls fail with
    /// [`ClientError::Paused`]).
    pub fn pausing_after_failure(mut self, pause: Duration) -> Self {
        self.pause_after_failure = Some(pause);
        self
    }

    /// The current session, signing in when there is none. Concurrent callers share one
    /// sign-in.
    pub async fn session(&self) -> Result<Session, ClientError> {
        let mut state = self.session.lock().await;
        if let Some(session) = &state.current {
            return Ok(session.clone());
        }
        if let (Some(until), Some(pause)) = (state.paused_until, self.pause_after_failure)
            && Instant::now() < until
        {
            return Err(ClientError::Paused(pause));
        }
        match self.sign_in().await {
            Ok(session) => {
                state.current = Some(session.clone());
                state.paused_until = None;
                Ok(session)
            }
            Err(err) => {
                state.paused_until = self.pause_after_failure.map(|pause| Instant::now() + pause);
                Err(err)
            }
        }
    }

    async fn sign_in(&self) -> Result<Session, ClientError> {
        let url = self.url("auth/signin")?;
        let site = serde_json::json!({ "contentUrl": self.content_url });
        let credentials = match &self.credentials {
            Credentials::AccessToken { name, secret } => serde_json::json!({
                "personalAccessTokenName": name,
                "personalAccessTokenSecret": secret.expose(),
                "site": site,
            }),
            Credentials::Password { name, password } => serde_json::json!({
                "name": name,
                "password": password.expose(),
                "site": site,
            }),
        };
        let body = serde_json::json!({ "credentials": credentials });
        let response = self
            .outbound
            .post(&url, json_request_headers(), Bytes::from(body.to_string()))
            .await?;
        if matches!(response.status, 400 | 401 | 403) {
            return Err(ClientError::SignInRefused {
                status: response.status,
                tableau: tableau_error(&response),
            });
        }
        let value = read(&url, &response)?;
        let credentials = &value["credentials"];
        let token = credentials["token"].as_str().filter(|t| !t.is_empty());
        let site_id = credentials["site"]["id"].as_str();
        match (token, site_id) {
            (Some(token), Some(site_id)) => Ok(Session {
                token: Hidden::new(token),
                site_id: site_id.to_owned(),
                user_id: credentials["user"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            }),
            _ => Err(ClientError::Shape {
                what: describe(&url),
                detail: "no credentials.token or credentials.site.id".to_owned(),
            }),
        }
    }

    /// Signs out, if signed in.
    pub async fn sign_out(&self) -> Result<(), ClientError> {
        let current = self.session.lock().await.current.take();
        if let Some(session) = current {
            let url = self.url("auth/signout")?;
            let mut headers = json_request_headers();
            headers.insert("x-tableau-auth", token_header(&session)?);
            self.outbound.post(&url, headers, Bytes::new()).await?;
        }
        Ok(())
    }

    /// Sends `method` to `path` (below `/api/{version}/`) with a JSON `body`, and reads the
    /// answer's JSON (`Value::Null` for an empty one); on a 401, signs in again once.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = self.url(path)?;
        self.send_json(method, url, body).await
    }

    /// Like [`Client::call`], for vizhook's own API: `path` is below `/vizhook/v1/`, with the
    /// same session.
    pub async fn call_vizhook(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = parse_url(&format!("{}/vizhook/v1/{path}", self.server), path)?;
        self.send_json(method, url, body).await
    }

    async fn send_json(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let bytes = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
        let mut retried = false;
        loop {
            let session = self.session().await?;
            let mut headers = json_request_headers();
            headers.insert("x-tableau-auth", token_header(&session)?);
            let response = self
                .outbound
                .send(
                    method.clone(),
                    &url,
                    headers,
                    bytes.clone(),
                    self.outbound.default_timeout(),
                )
                .await?;
            if response.status == 401 && !retried {
                retried = true;
                self.forget(&session).await;
                continue;
            }
            return read(&url, &response);
        }
    }

    /// GETs `path` as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        self.call(Method::GET, path, None).await
    }

    /// Drops `stale` unless another caller already replaced it.
    async fn forget(&self, stale: &Session) {
        let mut state = self.session.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|current| current.token == stale.token)
        {
            state.current = None;
        }
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        parse_url(&format!("{}/{path}", self.api), path)
    }
}

pub(super) fn parse_url(text: &str, path: &str) -> Result<Url, ClientError> {
    Url::parse(text).map_err(|err| ClientError::Shape {
        what: path.to_owned(),
        detail: format!("not a valid URL: {err}"),
    })
}

fn json_request_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

fn token_header(session: &Session) -> Result<HeaderValue, ClientError> {
    let mut token =
        HeaderValue::from_str(session.token.expose()).map_err(|_| ClientError::Shape {
            what: "the sign-in".to_owned(),
            detail: "the token is not a valid header value".to_owned(),
        })?;
    token.set_sensitive(true);
    Ok(token)
}

/// `/api/3.19/auth/signin`: what a message says about a request.
pub(super) fn describe(url: &Url) -> String {
    url.path().to_owned()
}

/// The Tableau error document of a refusal, in JSON or XML, if it holds one.
fn tableau_error(response: &OutboundResponse) -> Option<TsError> {
    let status = http::StatusCode::from_u16(response.status).ok()?;
    let root: Element = match crate::xml::parse(&response.body) {
        Ok(root) => root,
        Err(_) => json::parse(&response.body).ok()?,
    };
    TsError::from_document(status, &root)
}

/// A 2xx answer's JSON (`Null` when empty), or why there is none.
pub(super) fn read(url: &Url, response: &OutboundResponse) -> Result<Value, ClientError> {
    if !(200..300).contains(&response.status) {
        return Err(ClientError::Status {
            what: describe(url),
            status: response.status,
            tableau: tableau_error(response),
        });
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body).map_err(|err| ClientError::Shape {
        what: describe(url),
        detail: err.to_string(),
    })
}
