//! The few Tableau REST API calls enrichment makes, in JSON: sign-in with a personal access
//! token (the session is kept, renewed once on a 401, and not retried for a minute after a
//! failed sign-in), sites, one data source or workbook, and one user.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use vizhook_runtime::outbound::{Outbound, OutboundResponse, SendError, json_headers};

use crate::receiver::secret::Secret;

/// How long a failed sign-in keeps vizhook from trying again.
const SIGN_IN_PAUSE: Duration = Duration::from_secs(60);
const SITES_PAGE_SIZE: usize = 1000;
/// A bound on paging, whatever the server says.
const MAX_SITE_PAGES: usize = 100;

/// Why a call got no usable answer. Messages name the request path, never a token.
#[derive(Debug, thiserror::Error)]
pub(super) enum TableauError {
    #[error("{0}")]
    Send(#[from] SendError),
    #[error("{what} answered HTTP {status}")]
    Status { what: String, status: u16 },
    #[error("{what} answered with a body vizhook could not read: {detail}")]
    Shape { what: String, detail: String },
    #[error(
        "Tableau refused the sign-in (HTTP {0}); check pat_name, pat_secret and site in [enrich.tableau]"
    )]
    SignInRefused(u16),
    #[error("signing in to Tableau failed less than a minute ago")]
    Paused,
}

impl TableauError {
    pub(super) fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The content types enrichment looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Datasource,
    Workbook,
}

impl Kind {
    fn segment(self) -> &'static str {
        match self {
            Self::Datasource => "datasources",
            Self::Workbook => "workbooks",
        }
    }

    fn element(self) -> &'static str {
        match self {
            Self::Datasource => "datasource",
            Self::Workbook => "workbook",
        }
    }
}

/// A signed-in session: its token and the LUID of the site it is for.
#[derive(Debug, Clone)]
pub(super) struct Session {
    token: Secret,
    pub(super) site_id: String,
}

#[derive(Debug, Default)]
struct SessionState {
    current: Option<Session>,
    paused_until: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Tableau {
    outbound: Outbound,
    /// `{server}/api/{version}`, without a trailing slash.
    api: String,
    content_url: String,
    pat_name: String,
    pat_secret: Secret,
    session: Mutex<SessionState>,
}

impl Tableau {
    pub(super) fn new(
        outbound: Outbound,
        api: String,
        content_url: String,
        pat_name: String,
        pat_secret: Secret,
    ) -> Self {
        Self {
            outbound,
            api,
            content_url,
            pat_name,
            pat_secret,
            session: Mutex::default(),
        }
    }

    /// The current session, signing in when there is none. Concurrent callers share one
    /// sign-in.
    pub(super) async fn session(&self) -> Result<Session, TableauError> {
        let mut state = self.session.lock().await;
        if let Some(session) = &state.current {
            return Ok(session.clone());
        }
        if state
            .paused_until
            .is_some_and(|until| Instant::now() < until)
        {
            return Err(TableauError::Paused);
        }
        match self.sign_in().await {
            Ok(session) => {
                state.current = Some(session.clone());
                state.paused_until = None;
                Ok(session)
            }
            Err(err) => {
                state.paused_until = Some(Instant::now() + SIGN_IN_PAUSE);
                Err(err)
            }
        }
    }

    async fn sign_in(&self) -> Result<Session, TableauError> {
        let url = self.url("auth/signin")?;
        let body = serde_json::json!({
            "credentials": {
                "personalAccessTokenName": self.pat_name,
                "personalAccessTokenSecret": self.pat_secret.expose(),
                "site": { "contentUrl": self.content_url },
            }
        });
        let mut headers = json_headers();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let response = self
            .outbound
            .post(&url, headers, Bytes::from(body.to_string()))
            .await?;
        if matches!(response.status, 401 | 403) {
            return Err(TableauError::SignInRefused(response.status));
        }
        let credentials = read(&url, &response)?;
        let credentials = &credentials["credentials"];
        let token = credentials["token"].as_str().filter(|t| !t.is_empty());
        let site_id = credentials["site"]["id"].as_str();
        match (token, site_id) {
            (Some(token), Some(site_id)) => {
                tracing::debug!(site = %site_id, "signed in to Tableau for enrichment");
                Ok(Session {
                    token: Secret::new(token),
                    site_id: site_id.to_owned(),
                })
            }
            _ => Err(TableauError::Shape {
                what: describe(&url),
                detail: "no credentials.token or credentials.site.id".to_owned(),
            }),
        }
    }

    /// GETs `path` (below `/api/{version}/`) as JSON; on a 401, signs in again once.
    async fn get_json(&self, path: &str) -> Result<Value, TableauError> {
        let url = self.url(path)?;
        let mut retried = false;
        loop {
            let session = self.session().await?;
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            let mut token =
                HeaderValue::from_str(session.token.expose()).map_err(|_| TableauError::Shape {
                    what: "the sign-in".to_owned(),
                    detail: "the token is not a valid header value".to_owned(),
                })?;
            token.set_sensitive(true);
            headers.insert("x-tableau-auth", token);
            let response = self
                .outbound
                .send(
                    http::Method::GET,
                    &url,
                    headers,
                    Bytes::new(),
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

    /// Every site as (LUID, name), paging through `GET /sites` (server administrators only).
    pub(super) async fn sites(&self) -> Result<Vec<(String, String)>, TableauError> {
        let mut sites = Vec::new();
        for number in 1..=MAX_SITE_PAGES {
            let path = format!("sites?pageSize={SITES_PAGE_SIZE}&pageNumber={number}");
            let page = self.get_json(&path).await?;
            let items = items(&page["sites"]["site"]);
            let count = items.len();
            sites.extend(items.into_iter().filter_map(|site| {
                Some((
                    site["id"].as_str()?.to_owned(),
                    site["name"].as_str()?.to_owned(),
                ))
            }));
            let total = page["pagination"]["totalAvailable"]
                .as_str()
                .and_then(|t| t.parse::<usize>().ok())
                .or_else(|| {
                    page["pagination"]["totalAvailable"]
                        .as_u64()
                        .map(|t| t as usize)
                });
            let done = total.map_or(count < SITES_PAGE_SIZE, |total| {
                number.saturating_mul(SITES_PAGE_SIZE) >= total
            });
            if done || count == 0 {
                break;
            }
        }
        Ok(sites)
    }

    /// One site's name; `None` when it is not found.
    pub(super) async fn site_name(&self, site: &str) -> Result<Option<String>, TableauError> {
        let found = absent_on_404(self.get_json(&format!("sites/{site}")).await)?;
        Ok(found.and_then(|value| text(&value["site"]["name"])))
    }

    /// A data source's or workbook's project name and owner id; `None` when not found.
    pub(super) async fn content(
        &self,
        kind: Kind,
        site: &str,
        id: &str,
    ) -> Result<Option<(Option<String>, Option<String>)>, TableauError> {
        let path = format!("sites/{site}/{}/{id}", kind.segment());
        let found = absent_on_404(self.get_json(&path).await)?;
        Ok(found.map(|value| {
            let item = &value[kind.element()];
            (text(&item["project"]["name"]), text(&item["owner"]["id"]))
        }))
    }

    /// A user's display name (full name when set, else user name); `None` when not found.
    pub(super) async fn user_name(
        &self,
        site: &str,
        id: &str,
    ) -> Result<Option<String>, TableauError> {
        let found = absent_on_404(self.get_json(&format!("sites/{site}/users/{id}")).await)?;
        Ok(found.and_then(|value| {
            let user = &value["user"];
            text(&user["fullName"]).or_else(|| text(&user["name"]))
        }))
    }

    fn url(&self, path: &str) -> Result<Url, TableauError> {
        let text = format!("{}/{path}", self.api);
        Url::parse(&text).map_err(|err| TableauError::Shape {
            what: path.to_owned(),
            detail: format!("not a valid URL: {err}"),
        })
    }
}

/// `POST /api/3.19/auth/signin`: what a log line says about a request.
fn describe(url: &Url) -> String {
    url.path().to_owned()
}

/// A 2xx answer's JSON, or why there is none.
fn read(url: &Url, response: &OutboundResponse) -> Result<Value, TableauError> {
    if !(200..300).contains(&response.status) {
        return Err(TableauError::Status {
            what: describe(url),
            status: response.status,
        });
    }
    serde_json::from_slice(&response.body).map_err(|err| TableauError::Shape {
        what: describe(url),
        detail: err.to_string(),
    })
}

fn absent_on_404(result: Result<Value, TableauError>) -> Result<Option<Value>, TableauError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.status() == Some(404) => Ok(None),
        Err(err) => Err(err),
    }
}

/// A list's items: Tableau writes `[..]`, and a lone item may come as an object.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => Vec::new(),
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}
