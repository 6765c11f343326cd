//! The world the role matrix runs in: sites S (where every caller is a member) and T, a
//! session per role, and fresh fixtures for every cell.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Body, E, E::*, ROLES, Row, Scope, Scope::*};
use crate::helpers::*;

/// The matrix's world: sites S (where the callers are members) and T, a session per role on S,
/// server administrator sessions on both to make fixtures with.
pub(super) struct World {
    app: TestApp,
    receiver: TestReceiver,
    admin_s: Session,
    admin_t: Session,
    actors: Vec<(String, Session)>,
    counter: AtomicUsize,
}

impl World {
    pub(super) async fn new() -> Option<Self> {
        let app = TestApp::spawn().await?;
        let receiver = TestReceiver::start();
        let admin = app.admin().await;
        app.create_site(&admin, "Matrix", "matrix").await;
        app.create_site(&admin, "Elsewhere", "elsewhere").await;
        let admin_s = app.sign_in_pat(PAT_NAME, PAT_SECRET, "matrix").await;
        let admin_t = app.sign_in_pat(PAT_NAME, PAT_SECRET, "elsewhere").await;
        let mut actors = vec![(ADMIN.to_owned(), admin_s.clone())];
        for role in &ROLES[1..] {
            let name = format!("matrix-{}", role.to_lowercase());
            let initial = if *role == "Unlicensed" {
                "Viewer"
            } else {
                role
            };
            let session = app.user_on_site(&admin_s, &name, initial, "matrix").await;
            actors.push((name, session));
        }
        let world = Self {
            app,
            receiver,
            admin_s,
            admin_t,
            actors,
            counter: AtomicUsize::new(0),
        };
        let unlicensed = &world.actors[6].1;
        let path = format!(
            "/api/3.24/sites/{}/users/{}",
            unlicensed.site_id, unlicensed.user_id
        );
        let demoted = world
            .app
            .xml(
                "PUT",
                &path,
                &world.admin_s.token,
                Some(r#"<tsRequest><user siteRole="Unlicensed"/></tsRequest>"#),
            )
            .await;
        assert_eq!(demoted.status, 200, "{}", demoted.text);
        Some(world)
    }

    fn unique(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn admin_for(&self, scope: Scope) -> &Session {
        if scope == Other {
            &self.admin_t
        } else {
            &self.admin_s
        }
    }

    async fn created_id(&self, answer: Answer, element: &str) -> String {
        assert!(
            (200..300).contains(&answer.status),
            "fixture {element}: {}",
            answer.text
        );
        answer
            .xml()
            .find(element)
            .and_then(|e| e.get("id"))
            .unwrap_or_else(|| panic!("fixture {element}: {}", answer.text))
            .to_owned()
    }

    async fn new_user(&self, admin: &Session, name: &str) -> String {
        let path = format!("/api/3.24/sites/{}/users", admin.site_id);
        let body = format!(r#"<tsRequest><user name="{name}" siteRole="Viewer"/></tsRequest>"#);
        let answer = self.app.xml("POST", &path, &admin.token, Some(&body)).await;
        self.created_id(answer, "user").await
    }

    async fn content(&self, admin: &Session, kind: &str, owner: Option<&Session>) -> String {
        let name = format!("{kind} {}", self.unique());
        let id = if kind == "datasource" {
            self.app
                .publish_datasource(admin, &name, "127.0.0.1", 9, "")
                .await
        } else {
            self.app
                .publish_workbook(admin, &name, "127.0.0.1", 9, "")
                .await
        };
        if let Some(owner) = owner {
            let path = format!("/api/3.24/sites/{}/{kind}s/{id}", admin.site_id);
            let body = format!(
                r#"<tsRequest><{kind}><owner id="{}"/></{kind}></tsRequest>"#,
                owner.user_id
            );
            let answer = self.app.xml("PUT", &path, &admin.token, Some(&body)).await;
            assert_eq!(answer.status, 200, "owner change: {}", answer.text);
        }
        id
    }

    /// Puts the label `Fixture` on a data source and returns the label's id.
    async fn label(&self, admin: &Session, datasource: &str) -> String {
        let body = format!(
            r#"<tsRequest><contentList><content contentType="datasource" id="{datasource}"/></contentList><label value="Fixture"/></tsRequest>"#
        );
        let path = format!("/api/3.24/sites/{}/labels", admin.site_id);
        let answer = self.app.xml("PUT", &path, &admin.token, Some(&body)).await;
        assert_eq!(answer.status, 200, "label fixture: {}", answer.text);
        answer.xml().find("labelList").unwrap().children[0]
            .get("id")
            .unwrap()
            .to_owned()
    }

    async fn first_child_id(&self, admin: &Session, path: &str, list: &str) -> String {
        let answer = self.app.xml("GET", path, &admin.token, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        answer.xml().find(list).unwrap().children[0]
            .get("id")
            .unwrap()
            .to_owned()
    }

    /// Fills every `{placeholder}` of `text` for a request by `actor` in `scope`, creating what
    /// the ids name on the site `scope` points at.
    async fn fill(&self, text: &str, scope: Scope, actor: &Session) -> String {
        let admin = self.admin_for(scope);
        let owner = (scope == OwnAccount).then_some(actor);
        let base = format!("/api/3.24/sites/{}", admin.site_id);
        let mut out = text
            .replace("{version}", "3.24")
            .replace("{site_id}", &admin.site_id)
            .replace("{receiver}", &self.receiver.url("/matrix"));
        if out.contains("{user_id}") {
            let id = match scope {
                OwnAccount => actor.user_id.clone(),
                SharedAccount => {
                    let name = format!("shared{}", self.unique());
                    self.new_user(&self.admin_t, &name).await;
                    self.new_user(admin, &name).await
                }
                Own | Other | OtherAccount => {
                    self.new_user(admin, &format!("other{}", self.unique()))
                        .await
                }
            };
            out = out.replace("{user_id}", &id);
        }
        if out.contains("{webhook_id}") || out.contains("{delivery_id}") {
            let hook = self
                .app
                .create_webhook(
                    admin,
                    &format!("fixture {}", self.unique()),
                    "DatasourceDeleted",
                    &self.receiver.url("/matrix"),
                )
                .await;
            if out.contains("{delivery_id}") {
                let events = format!("/vizhook/v1/sites/{}/events", admin.site_id);
                let injected = self
                    .app
                    .json(
                        "POST",
                        &events,
                        &admin.token,
                        Some(r#"{"event_type": "DatasourceDeleted", "resource_name": "gone"}"#),
                    )
                    .await;
                assert_eq!(injected.status, 202, "{}", injected.text);
                let log = format!(
                    "/vizhook/v1/sites/{}/webhooks/{hook}/deliveries",
                    admin.site_id
                );
                let log = self.app.json("GET", &log, &admin.token, None).await.json();
                let delivery = log["deliveries"][0]["id"].as_str().expect("a delivery");
                out = out.replace("{delivery_id}", delivery);
            }
            out = out.replace("{webhook_id}", &hook);
        }
        if out.contains("{upload_id}") {
            // The actor's own upload, where it may start one; otherwise an id that names none
            // (the role or site check refuses the chunk before any lookup).
            let started = self
                .app
                .xml("POST", &format!("{base}/fileUploads"), &actor.token, None)
                .await;
            let id = match (scope, started.status) {
                (OwnAccount, 201) => started
                    .xml()
                    .find("fileUpload")
                    .and_then(|upload| upload.get("uploadSessionId"))
                    .unwrap()
                    .to_owned(),
                _ => "no-such-upload".to_owned(),
            };
            out = out.replace("{upload_id}", &id);
        }
        if out.contains("{project_id}") {
            let body = format!(
                r#"<tsRequest><project name="Fixture {}"/></tsRequest>"#,
                self.unique()
            );
            let answer = self
                .app
                .xml(
                    "POST",
                    &format!("{base}/projects"),
                    &admin.token,
                    Some(&body),
                )
                .await;
            out = out.replace("{project_id}", &self.created_id(answer, "project").await);
        }
        if out.contains("{labeled_datasource_id}") {
            let id = self.content(admin, "datasource", owner).await;
            self.label(admin, &id).await;
            out = out.replace("{labeled_datasource_id}", &id);
        }
        if out.contains("{datasource_id}") || out.contains("{job_id}") || out.contains("{label_id}")
        {
            let id = self.content(admin, "datasource", owner).await;
            if out.contains("{job_id}") {
                let refresh = format!("{base}/datasources/{id}/refresh");
                let answer = self
                    .app
                    .xml("POST", &refresh, &admin.token, Some("<tsRequest/>"))
                    .await;
                out = out.replace("{job_id}", &self.created_id(answer, "job").await);
            }
            if out.contains("{label_id}") {
                let label = self.label(admin, &id).await;
                out = out.replace("{label_id}", &label);
            }
            if out.contains("{connection_id}") {
                let connection = self
                    .first_child_id(
                        admin,
                        &format!("{base}/datasources/{id}/connections"),
                        "connections",
                    )
                    .await;
                out = out.replace("{connection_id}", &connection);
            }
            out = out.replace("{datasource_id}", &id);
        }
        if out.contains("{workbook_id}") || out.contains("{view_id}") {
            let id = self.content(admin, "workbook", owner).await;
            let views = format!("{base}/workbooks/{id}/views");
            if out.contains("{view_id}") {
                let view = self.first_child_id(admin, &views, "views").await;
                out = out.replace("{view_id}", &view);
            }
            if out.contains("{connection_id}") {
                let connection = self
                    .first_child_id(
                        admin,
                        &format!("{base}/workbooks/{id}/connections"),
                        "connections",
                    )
                    .await;
                out = out.replace("{connection_id}", &connection);
            }
            out = out.replace("{workbook_id}", &id);
        }
        while out.contains("{unique}") {
            out = out.replacen("{unique}", &self.unique().to_string(), 1);
        }
        out
    }

    /// Runs one cell and returns what happened, as an expectation, or the raw answer.
    pub(super) async fn run(&self, row: &Row, column: usize) -> Result<E, String> {
        let (name, session) = &self.actors[column];
        let mut token = session.token.clone();
        if row.fresh_token && column != 6 {
            token = self.sign_in(column, name).await.token;
        }
        let mut path = row.route.to_owned();
        if row.method == "DELETE" && row.route == "/api/{version}/sites/{site_id}" {
            let unique = self.unique();
            let admin = self.app.admin().await;
            let site = self
                .app
                .create_site(
                    &admin,
                    &format!("Doomed {unique}"),
                    &format!("doomed{unique}"),
                )
                .await;
            path = path.replace("{site_id}", &site);
        }
        let path = self.fill(&path, row.scope, session).await;
        let answer = match row.body {
            Body::None => {
                self.app
                    .call(row.method, &path, Some(&token), None, false)
                    .await
            }
            Body::Xml(body) => {
                let body = self.fill(body, row.scope, session).await;
                self.app
                    .call(row.method, &path, Some(&token), Some(&body), false)
                    .await
            }
            Body::Json(body) => {
                let body = self.fill(body, row.scope, session).await;
                self.app
                    .call(row.method, &path, Some(&token), Some(&body), true)
                    .await
            }
            Body::SignIn => {
                let body = if column == 0 {
                    format!(
                        r#"<tsRequest><credentials personalAccessTokenName="{PAT_NAME}" personalAccessTokenSecret="{PAT_SECRET}"><site contentUrl="matrix"/></credentials></tsRequest>"#
                    )
                } else {
                    format!(
                        r#"<tsRequest><credentials name="{name}" password="{name}-password"><site contentUrl="matrix"/></credentials></tsRequest>"#
                    )
                };
                self.app
                    .call(row.method, &path, None, Some(&body), false)
                    .await
            }
            Body::Publish(kind) => {
                let (part, file, query) = if kind == "datasource" {
                    ("tableau_datasource", "sales.tds", "datasourceType=tds")
                } else {
                    ("tableau_workbook", "overview.twb", "workbookType=twb")
                };
                let payload = format!(
                    r#"<tsRequest><{kind} name="Published {}"/></tsRequest>"#,
                    self.unique()
                );
                let (content_type, body) =
                    multipart(&payload, part, file, &fixture(file, "127.0.0.1", 9));
                let with_token = Session {
                    token: token.clone(),
                    ..session.clone()
                };
                self.app
                    .publish(&with_token, &format!("{path}?{query}"), &content_type, body)
                    .await
            }
            Body::Chunk => {
                let (content_type, body) = chunk_body(b"chunk");
                let with_token = Session {
                    token: token.clone(),
                    ..session.clone()
                };
                self.app
                    .send_body(row.method, &with_token, &path, &content_type, body)
                    .await
            }
        };
        classify(&answer)
    }

    async fn sign_in(&self, column: usize, name: &str) -> Session {
        if column == 0 {
            self.app.sign_in_pat(PAT_NAME, PAT_SECRET, "matrix").await
        } else {
            self.app
                .sign_in_password(name, &format!("{name}-password"), "matrix")
                .await
        }
    }
}

fn classify(answer: &Answer) -> Result<E, String> {
    let code = || {
        xml_code(&answer.text).or_else(|| {
            serde_json::from_str::<serde_json::Value>(&answer.text)
                .ok()
                .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        })
    };
    match answer.status {
        200..=299 => Ok(Y),
        401 => Ok(A),
        403 => match code().as_deref() {
            Some("403004") => Ok(F),
            Some("403009") => Ok(U),
            Some("403000") => Ok(W),
            _ => Err(format!("403 without a known code: {}", answer.text)),
        },
        status => Err(format!("{status}: {}", answer.text)),
    }
}

fn xml_code(text: &str) -> Option<String> {
    let root = vizhook_server::api::format::xml::parse(text.as_bytes()).ok()?;
    root.find("error")?.get("code").map(str::to_owned)
}
