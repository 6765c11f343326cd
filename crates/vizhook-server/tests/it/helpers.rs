//! The test harness: a real `vizhook serve` (the library's `run`) on a random port over a fresh
//! store, a Tableau-speaking client, and a local receiver that records what it is sent. The
//! store is a SQLite file in the `it` test target, and a fresh PostgreSQL schema in the
//! `postgres` target, which compiles these same tests again (`tests/postgres/main.rs`).

use std::{net::SocketAddr, sync::Arc};

use tokio_util::sync::CancellationToken;
use vizhook_server::{
    AppState, Config,
    api::format::{Element, xml},
    bootstrap::{AdminSeed, bootstrap},
};
use vizhook_store::Store;
use vizhook_store_postgres::{PgStore, testing};
use vizhook_store_sqlite::SqliteStore;

/// Whether this is the `postgres` test target.
pub const ON_POSTGRES: bool = matches!(env!("CARGO_CRATE_NAME").as_bytes(), b"postgres");

/// The running test's name, as the test harness names its thread.
pub fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_owned()
}

/// A fresh store for one test and its URL: a SQLite file in `dir`, or (on the `postgres`
/// target) a new PostgreSQL schema; `None` when the test is skipped for want of a server.
pub async fn fresh_store(dir: &std::path::Path) -> Option<(Arc<dyn Store>, String)> {
    if ON_POSTGRES {
        let url = testing::fresh_url(&test_name()).await?;
        let options = vizhook_store_postgres::Options {
            pool_size: 4,
            ..Default::default()
        };
        let store = PgStore::open_with(&url, options)
            .await
            .expect("open PostgreSQL store");
        return Some((Arc::new(store), url));
    }
    let url = format!("sqlite://{}", dir.join("vizhook.db").display());
    let store = SqliteStore::open(&url).await.expect("open store");
    Some((Arc::new(store), url))
}

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password";
pub const PAT_NAME: &str = "ci-token";
pub const PAT_SECRET: &str = "ci-secret-value";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A response, with the body parsed as XML (the default) or kept as JSON text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    /// The `tsResponse` root of an XML answer.
    pub fn xml(&self) -> Element {
        xml::parse(self.text.as_bytes())
            .unwrap_or_else(|err| panic!("not XML ({err}): {}", self.text))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    /// The Tableau error code of an XML error answer.
    pub fn error_code(&self) -> String {
        let root = self.xml();
        let error = root
            .find("error")
            .unwrap_or_else(|| panic!("no error element: {}", self.text));
        assert!(
            error.find("summary").is_some() && error.find("detail").is_some(),
            "{}",
            self.text
        );
        error.get("code").expect("error code").to_owned()
    }
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub site_id: String,
    pub user_id: String,
}

impl TestApp {
    /// `None` when the suite runs on PostgreSQL without a server (reported as skipped).
    pub async fn spawn() -> Option<Self> {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose configuration `tweak` adjusts (development mode is on by default,
    /// so that loopback receivers are reachable).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (store, url) = fresh_store(dir.path()).await?;
        let mut config = Config::defaults();
        config.server.dev = true;
        config.database.url = url;
        tweak(&mut config);
        let seed = AdminSeed {
            user: Some(ADMIN.to_owned()),
            password: Some(ADMIN_PASSWORD.to_owned()),
            pat_name: Some(PAT_NAME.to_owned()),
            pat_secret: Some(PAT_SECRET.to_owned()),
        };
        bootstrap(store.as_ref(), seed, false)
            .await
            .expect("bootstrap");
        let state = AppState::new(store, config).expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let shutdown = CancellationToken::new();
        tokio::spawn(vizhook_server::run(state, listener, shutdown.clone()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Some(Self {
            addr,
            client,
            shutdown,
            _dir: dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a request. `body` is sent as is; `json` selects JSON for `Accept` and `Content-Type`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        json: bool,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.header("X-Tableau-Auth", token);
        }
        if json {
            request = request
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
        } else if body.is_some() {
            request = request.header("Content-Type", "application/xml");
        }
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        Answer {
            status,
            content_type,
            headers,
            text,
        }
    }

    pub async fn xml(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> Answer {
        self.call(method, path, Some(token), body, false).await
    }

    pub async fn json(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> Answer {
        self.call(method, path, Some(token), body, true).await
    }

    pub async fn sign_in_pat(&self, name: &str, secret: &str, content_url: &str) -> Session {
        let body = format!(
            r#"<tsRequest><credentials personalAccessTokenName="{name}" personalAccessTokenSecret="{secret}"><site contentUrl="{content_url}" /></credentials></tsRequest>"#
        );
        let answer = self
            .call("POST", "/api/3.24/auth/signin", None, Some(&body), false)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        session_from(&answer)
    }

    pub async fn sign_in_password(&self, name: &str, password: &str, content_url: &str) -> Session {
        let body = format!(
            r#"<tsRequest><credentials name="{name}" password="{password}"><site contentUrl="{content_url}" /></credentials></tsRequest>"#
        );
        let answer = self
            .call("POST", "/api/3.24/auth/signin", None, Some(&body), false)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        session_from(&answer)
    }

    /// Signs the administrator in to the Default site.
    pub async fn admin(&self) -> Session {
        self.sign_in_pat(PAT_NAME, PAT_SECRET, "").await
    }

    /// Creates a site and returns its id.
    pub async fn create_site(&self, admin: &Session, name: &str, content_url: &str) -> String {
        let body =
            format!(r#"<tsRequest><site name="{name}" contentUrl="{content_url}" /></tsRequest>"#);
        let answer = self
            .xml("POST", "/api/3.24/sites", &admin.token, Some(&body))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer
            .xml()
            .find("site")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned()
    }

    /// Adds a user with a password to a site (as `admin`, who must be signed in to that site)
    /// and signs them in.
    pub async fn user_on_site(
        &self,
        admin: &Session,
        name: &str,
        role: &str,
        content_url: &str,
    ) -> Session {
        let path = format!("/api/3.24/sites/{}/users", admin.site_id);
        let body = format!(r#"<tsRequest><user name="{name}" siteRole="{role}" /></tsRequest>"#);
        let added = self.xml("POST", &path, &admin.token, Some(&body)).await;
        assert_eq!(added.status, 201, "{}", added.text);
        let id = added
            .xml()
            .find("user")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned();
        let body = format!(r#"<tsRequest><user password="{name}-password" /></tsRequest>"#);
        let updated = self
            .xml("PUT", &format!("{path}/{id}"), &admin.token, Some(&body))
            .await;
        assert_eq!(updated.status, 200, "{}", updated.text);
        self.sign_in_password(name, &format!("{name}-password"), content_url)
            .await
    }

    /// Creates a webhook through the XML API and returns its id.
    pub async fn create_webhook(
        &self,
        session: &Session,
        name: &str,
        event: &str,
        url: &str,
    ) -> String {
        let body = format!(
            r#"<tsRequest><webhook name="{name}" event="{event}"><webhook-destination><webhook-destination-http method="POST" url="{url}" /></webhook-destination></webhook></tsRequest>"#
        );
        let answer = self
            .xml("POST", &webhooks_path(session), &session.token, Some(&body))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer
            .xml()
            .find("webhook")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned()
    }
}

pub fn webhooks_path(session: &Session) -> String {
    format!("/api/3.24/sites/{}/webhooks", session.site_id)
}

/// Sets `[delivery] retry_schedule` to `gaps` (humantime, such as `"30ms"`) and the poll.
pub fn retry_schedule(config: &mut Config, gaps: &[&str], poll: std::time::Duration) {
    config.delivery.retry_schedule = gaps
        .iter()
        .map(|gap| humantime::parse_duration(gap).unwrap().into())
        .collect();
    config.delivery.poll_interval = poll;
}

/// The delivery log of `webhook` (`/vizhook/v1`), newest first.
pub async fn delivery_log(app: &TestApp, session: &Session, webhook: &str) -> Vec<serde_json::Value> {
    let path = format!(
        "/vizhook/v1/sites/{}/webhooks/{webhook}/deliveries",
        session.site_id
    );
    let answer = app.json("GET", &path, &session.token, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["deliveries"].as_array().unwrap().clone()
}

fn session_from(answer: &Answer) -> Session {
    let root = answer.xml();
    let credentials = root.find("credentials").expect("credentials");
    Session {
        token: credentials.get("token").unwrap().to_owned(),
        site_id: credentials
            .find("site")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned(),
        user_id: credentials
            .find("user")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned(),
    }
}

pub use vizhook_test_support::{
    Received, Recorder as TestReceiver, SmtpSink, eventually, fixture, multipart,
};

/// The body of one chunk of a chunked upload, as tableauserverclient sends it: an empty
/// `request_payload` and the chunk as `tableau_file`. Returns the content type and the body.
pub fn chunk_body(chunk: &[u8]) -> (String, Vec<u8>) {
    let boundary = "vizhook-chunk-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"request_payload\"\r\nContent-Type: text/xml\r\n\r\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"tableau_file\"; filename=\"file\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(chunk);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/mixed; boundary={boundary}"), body)
}

impl TestApp {
    /// Publishes a multipart body to `path` and returns the answer.
    pub async fn publish(
        &self,
        session: &Session,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        self.send_body("POST", session, path, content_type, body)
            .await
    }

    /// Sends `body` with `content_type` as `session`, by `method`.
    pub async fn send_body(
        &self,
        method: &str,
        session: &Session,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .client
            .request(method, self.url(path))
            .header("X-Tableau-Auth", &session.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Answer {
            status,
            content_type,
            headers,
            text: response.text().await.unwrap(),
        }
    }

    /// Publishes `sales.tds` pointing at `server:port` as data source `name`; returns its id.
    pub async fn publish_datasource(
        &self,
        session: &Session,
        name: &str,
        server: &str,
        port: u16,
        query: &str,
    ) -> String {
        let payload = format!(
            r#"<tsRequest><datasource name="{name}"><connectionCredentials name="postgres" password="pw" embed="true" /></datasource></tsRequest>"#
        );
        let (content_type, body) = multipart(
            &payload,
            "tableau_datasource",
            "sales.tds",
            &fixture("sales.tds", server, port),
        );
        let path = format!(
            "/api/3.24/sites/{}/datasources?datasourceType=tds{query}",
            session.site_id
        );
        let answer = self.publish(session, &path, &content_type, body).await;
        assert!(answer.status == 201, "{}", answer.text);
        answer
            .xml()
            .find("datasource")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned()
    }

    /// Publishes `overview.twb` pointing at `server:port` as workbook `name`; returns its id.
    pub async fn publish_workbook(
        &self,
        session: &Session,
        name: &str,
        server: &str,
        port: u16,
        query: &str,
    ) -> String {
        let payload =
            format!(r#"<tsRequest><workbook name="{name}" showTabs="true" /></tsRequest>"#);
        let (content_type, body) = multipart(
            &payload,
            "tableau_workbook",
            "overview.twb",
            &fixture("overview.twb", server, port),
        );
        let path = format!(
            "/api/3.24/sites/{}/workbooks?workbookType=twb{query}",
            session.site_id
        );
        let answer = self.publish(session, &path, &content_type, body).await;
        assert!(answer.status == 201, "{}", answer.text);
        answer
            .xml()
            .find("workbook")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned()
    }
}

pub use vizhook_test_support::raw::{says_connection_close, trickled, until_closed};
