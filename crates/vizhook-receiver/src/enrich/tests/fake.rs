//! A fake Tableau server for the enrichment tests: axum on loopback answering sign-in, sites,
//! a data source, a workbook and a user in Tableau's JSON shapes, counting every request.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
};
use bytes::Bytes;
use serde_json::{Value, json};

pub(super) const SITE: &str = "5c2b7c9e-0000-4000-8000-000000000001";
pub(super) const OTHER_SITE: &str = "5c2b7c9e-0000-4000-8000-000000000002";
pub(super) const DATASOURCE: &str = "d5000000-0000-4000-8000-000000000001";
pub(super) const WORKBOOK: &str = "b0000000-0000-4000-8000-000000000001";
pub(super) const OWNER: &str = "00000000-0000-4000-8000-00000000000a";

#[derive(Debug, Default)]
pub(super) struct Fake {
    pub(super) admin: bool,
    pub(super) sites: Vec<(String, String)>,
    pub(super) state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
pub(super) struct FakeState {
    pub(super) requests: Vec<String>,
    pub(super) token: Option<String>,
    pub(super) sign_ins: Vec<Value>,
    pub(super) without_json_accept: usize,
}

impl Fake {
    pub(super) fn new(admin: bool) -> Arc<Self> {
        Arc::new(Self {
            admin,
            sites: vec![
                (SITE.to_owned(), "Finance".to_owned()),
                (OTHER_SITE.to_owned(), "Sandbox".to_owned()),
            ],
            state: Mutex::default(),
        })
    }

    pub(super) fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    pub(super) fn count(&self, prefix: &str) -> usize {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .filter(|r| r.starts_with(prefix))
            .count()
    }

    pub(super) async fn serve(self: &Arc<Self>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }
}

fn reply(status: StatusCode, body: Value) -> (StatusCode, String) {
    (status, body.to_string())
}

async fn handle(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let mut state = fake.state.lock().unwrap();
    state.requests.push(format!("{method} {}", uri.path()));
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some("application/json") {
        state.without_json_accept += 1;
    }
    let not_found = reply(StatusCode::NOT_FOUND, json!({"error": {"code": "404000"}}));
    let Some(rest) = uri.path().strip_prefix("/api/3.19/") else {
        return not_found;
    };
    if method == Method::POST && rest == "auth/signin" {
        let request: Value = serde_json::from_slice(&body).unwrap_or_default();
        let accepted = request["credentials"]["personalAccessTokenSecret"] == "s3cret";
        state.sign_ins.push(request);
        if !accepted {
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({"error": {"code": "401001"}}),
            );
        }
        let token = format!("token-{}", state.sign_ins.len());
        state.token = Some(token.clone());
        return reply(
            StatusCode::OK,
            json!({"credentials": {"site": {"id": SITE, "contentUrl": ""},
                "user": {"id": OWNER}, "token": token, "estimatedTimeToExpiration": "4:00:00"}}),
        );
    }
    let token = headers.get("x-tableau-auth").and_then(|v| v.to_str().ok());
    if token.is_none() || token != state.token.as_deref() {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "401002"}}),
        );
    }
    let query: std::collections::BTreeMap<&str, usize> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(key, value)| Some((key, value.parse().ok()?)))
        .collect();
    let segments: Vec<&str> = rest.split('/').collect();
    let site_json =
        |(id, name): &(String, String)| json!({"id": id, "name": name, "contentUrl": ""});
    match segments.as_slice() {
        ["sites"] if !fake.admin => reply(StatusCode::FORBIDDEN, json!({"error": {}})),
        ["sites"] => {
            let size = query.get("pageSize").copied().unwrap_or(100);
            let number = query.get("pageNumber").copied().unwrap_or(1);
            let page: Vec<Value> = fake
                .sites
                .iter()
                .skip((number - 1) * size)
                .take(size)
                .map(site_json)
                .collect();
            reply(
                StatusCode::OK,
                json!({"pagination": {"pageNumber": number.to_string(),
                    "pageSize": size.to_string(), "totalAvailable": fake.sites.len().to_string()},
                    "sites": {"site": page}}),
            )
        }
        ["sites", id] => match fake.sites.iter().find(|(site, _)| site == id) {
            Some(site) if *id == SITE => reply(StatusCode::OK, json!({"site": site_json(site)})),
            Some(_) => reply(StatusCode::FORBIDDEN, json!({"error": {}})),
            None => not_found,
        },
        ["sites", SITE, "datasources", DATASOURCE] => reply(
            StatusCode::OK,
            json!({"datasource": {"project": {"id": "p1", "name": "Sales Project"},
                "owner": {"id": OWNER}, "tags": {}, "id": DATASOURCE, "name": "Sales"}}),
        ),
        ["sites", SITE, "workbooks", WORKBOOK] => reply(
            StatusCode::OK,
            json!({"workbook": {"project": {"id": "p2", "name": "Dashboards"},
                "owner": {"id": OWNER}, "tags": {}, "views": {}, "id": WORKBOOK}}),
        ),
        ["sites", SITE, "users", OWNER] => reply(
            StatusCode::OK,
            json!({"user": {"domain": {"name": "local"}, "id": OWNER, "name": "jdoe",
                "siteRole": "Creator", "fullName": "Jane Doe"}}),
        ),
        _ => not_found,
    }
}
