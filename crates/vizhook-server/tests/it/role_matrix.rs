//! The role matrix: for every role, every route of the Tableau API and of `/vizhook/v1`, and
//! own site, other site, own account or another's, the expected outcome, written as one table
//! and run against a live `serve`. Every cell gets fresh resources, so a delete in one cell
//! cannot change another's answer. A route the router serves without a row here fails the
//! test (`every_route_has_a_row`), and so does a row for a route that no longer exists.

use std::{collections::BTreeSet, sync::atomic::AtomicUsize, sync::atomic::Ordering};

use crate::helpers::*;

/// The roles of the matrix, in column order. The unlicensed member signed in while licensed
/// and was then made unlicensed, since an unlicensed user cannot sign in at all.
const ROLES: [&str; 7] = [
    "ServerAdministrator",
    "SiteAdministratorCreator",
    "SiteAdministratorExplorer",
    "Creator",
    "Explorer",
    "Viewer",
    "Unlicensed",
];

/// An expected outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum E {
    /// Any 2xx.
    Y,
    /// `403004`: the role may not do this.
    F,
    /// `403009`: the role may not make this change to a user.
    U,
    /// `403000`: the token is for another site.
    W,
    /// `401`: no usable session.
    A,
}
use E::*;

/// What a row's ids refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// No site in the path, or the site the caller signed in to, with resources of that site.
    Own,
    /// Another site, with that site's resources: the caller holds no token for it.
    Other,
    /// The caller's own user (or, for content, content the caller owns), on its site.
    OwnAccount,
    /// Another user of the caller's site (or content another user owns).
    OtherAccount,
    /// Another user of the caller's site who also belongs to another site.
    SharedAccount,
}
use Scope::*;

/// How a row's request body is made.
#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    /// XML, with `{unique}`, `{receiver}`, `{datasource_id}` and `{actor_name}` filled in.
    Xml(&'static str),
    /// JSON for `/vizhook/v1`, filled in the same way.
    Json(&'static str),
    /// The caller's own credentials for its site.
    SignIn,
    /// A `multipart/mixed` publish of a data source or a workbook.
    Publish(&'static str),
}

struct Row {
    method: &'static str,
    route: &'static str,
    scope: Scope,
    body: Body,
    /// Sign in again first and use the new token (for sign-out, which ends it).
    fresh_token: bool,
    expect: [E; 7],
}

const ADMINS: [E; 7] = [Y, Y, Y, F, F, F, A];
const MEMBERS: [E; 7] = [Y, Y, Y, Y, Y, Y, A];
const PUBLISHERS: [E; 7] = [Y, Y, Y, Y, F, F, A];
const SERVER_ADMIN: [E; 7] = [Y, F, F, F, F, F, A];
const OTHER_SITE: [E; 7] = [W, W, W, W, W, W, A];
const ANYONE: [E; 7] = [Y; 7];

macro_rules! rows {
    ($($method:ident $route:literal $scope:ident $body:expr => $expect:expr;)*) => {
        vec![$(Row {
            method: stringify!($method),
            route: $route,
            scope: $scope,
            body: $body,
            fresh_token: false,
            expect: $expect,
        },)*]
    };
}

const WEBHOOK: &str = r#"<tsRequest><webhook name="hook {unique}" event="DatasourceCreated"><webhook-destination><webhook-destination-http method="POST" url="{receiver}"/></webhook-destination></webhook></tsRequest>"#;
const LABEL: &str = r#"<tsRequest><contentList><content contentType="datasource" id="{datasource_id}"/></contentList><label value="Warning {unique}"/></tsRequest>"#;
const LABEL_VALUE: &str = r#"<tsRequest><contentList><content contentType="datasource" id="{labeled_datasource_id}"/></contentList><label value="Fixture"/></tsRequest>"#;

/// The whole table. Columns are [`ROLES`].
fn matrix() -> Vec<Row> {
    let mut rows = rows! {
        // Sessions and server info.
        POST "/api/{version}/auth/signin" Own Body::SignIn => [Y, Y, Y, Y, Y, Y, A];
        GET "/api/{version}/serverinfo" Own Body::None => ANYONE;
        GET "/api/{version}/serverInfo" Own Body::None => ANYONE;
        GET "/api/{version}/sessions/current" Own Body::None => MEMBERS;
        GET "/vizhook/v1/health" Own Body::None => ANYONE;

        // Sites.
        GET "/api/{version}/sites" Own Body::None => SERVER_ADMIN;
        POST "/api/{version}/sites" Own Body::Xml(r#"<tsRequest><site name="Site {unique}" contentUrl="site{unique}"/></tsRequest>"#) => SERVER_ADMIN;
        GET "/api/{version}/sites/{site_id}" Own Body::None => ADMINS;
        GET "/api/{version}/sites/{site_id}" Other Body::None => SERVER_ADMIN;
        PUT "/api/{version}/sites/{site_id}" Own Body::Xml(r#"<tsRequest><site name="Matrix {unique}" adminMode="ContentAndUsers"/></tsRequest>"#) => ADMINS;
        PUT "/api/{version}/sites/{site_id}" Other Body::Xml(r#"<tsRequest><site name="Other {unique}"/></tsRequest>"#) => SERVER_ADMIN;
        DELETE "/api/{version}/sites/{site_id}" Other Body::None => SERVER_ADMIN;

        // Users.
        GET "/api/{version}/sites/{site_id}/users" Own Body::None => ADMINS;
        GET "/api/{version}/sites/{site_id}/users" Other Body::None => OTHER_SITE;
        POST "/api/{version}/sites/{site_id}/users" Own Body::Xml(r#"<tsRequest><user name="new{unique}" siteRole="Viewer"/></tsRequest>"#) => ADMINS;
        POST "/api/{version}/sites/{site_id}/users" Other Body::Xml(r#"<tsRequest><user name="new{unique}" siteRole="Viewer"/></tsRequest>"#) => OTHER_SITE;
        GET "/api/{version}/sites/{site_id}/users/{user_id}" OwnAccount Body::None => MEMBERS;
        GET "/api/{version}/sites/{site_id}/users/{user_id}" OtherAccount Body::None => ADMINS;
        GET "/api/{version}/sites/{site_id}/users/{user_id}" Other Body::None => OTHER_SITE;
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" OwnAccount Body::Xml(r#"<tsRequest><user fullName="Me {unique}" email="me{unique}@example.com"/></tsRequest>"#) => MEMBERS;
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" OwnAccount Body::Xml(r#"<tsRequest><user siteRole="ExplorerCanPublish"/></tsRequest>"#) => [U, U, U, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" OwnAccount Body::Xml(r#"<tsRequest><user siteRole="ServerAdministrator"/></tsRequest>"#) => [Y, U, U, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" OtherAccount Body::Xml(r#"<tsRequest><user fullName="You {unique}" password="reset-{unique}"/></tsRequest>"#) => [Y, Y, Y, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" OtherAccount Body::Xml(r#"<tsRequest><user siteRole="ExplorerCanPublish"/></tsRequest>"#) => [Y, Y, Y, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" OtherAccount Body::Xml(r#"<tsRequest><user siteRole="ServerAdministrator"/></tsRequest>"#) => [Y, U, U, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" SharedAccount Body::Xml(r#"<tsRequest><user password="taken-{unique}"/></tsRequest>"#) => [Y, U, U, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" SharedAccount Body::Xml(r#"<tsRequest><user siteRole="Explorer"/></tsRequest>"#) => [Y, Y, Y, U, U, U, A];
        PUT "/api/{version}/sites/{site_id}/users/{user_id}" Other Body::Xml(r#"<tsRequest><user fullName="x"/></tsRequest>"#) => OTHER_SITE;
        DELETE "/api/{version}/sites/{site_id}/users/{user_id}" OwnAccount Body::None => [F, F, F, F, F, F, A];
        DELETE "/api/{version}/sites/{site_id}/users/{user_id}" OtherAccount Body::None => ADMINS;
        DELETE "/api/{version}/sites/{site_id}/users/{user_id}" Other Body::None => OTHER_SITE;

        // Webhooks.
        GET "/api/{version}/sites/{site_id}/webhooks" Own Body::None => ADMINS;
        POST "/api/{version}/sites/{site_id}/webhooks" Own Body::Xml(WEBHOOK) => ADMINS;
        GET "/api/{version}/sites/{site_id}/webhooks/{webhook_id}" Own Body::None => ADMINS;
        PUT "/api/{version}/sites/{site_id}/webhooks/{webhook_id}" Own Body::Xml(r#"<tsRequest><webhook isEnabled="false"/></tsRequest>"#) => ADMINS;
        DELETE "/api/{version}/sites/{site_id}/webhooks/{webhook_id}" Own Body::None => ADMINS;
        GET "/api/{version}/sites/{site_id}/webhooks/{webhook_id}/test" Own Body::None => ADMINS;

        // Projects.
        GET "/api/{version}/sites/{site_id}/projects" Own Body::None => MEMBERS;
        POST "/api/{version}/sites/{site_id}/projects" Own Body::Xml(r#"<tsRequest><project name="Project {unique}"/></tsRequest>"#) => ADMINS;
        PUT "/api/{version}/sites/{site_id}/projects/{project_id}" Own Body::Xml(r#"<tsRequest><project description="changed"/></tsRequest>"#) => ADMINS;
        DELETE "/api/{version}/sites/{site_id}/projects/{project_id}" Own Body::None => ADMINS;

        // Data sources.
        GET "/api/{version}/sites/{site_id}/datasources" Own Body::None => MEMBERS;
        POST "/api/{version}/sites/{site_id}/datasources" Own Body::Publish("datasource") => PUBLISHERS;
        GET "/api/{version}/sites/{site_id}/datasources/{datasource_id}" Own Body::None => MEMBERS;
        PUT "/api/{version}/sites/{site_id}/datasources/{datasource_id}" OtherAccount Body::Xml(r#"<tsRequest><datasource description="changed"/></tsRequest>"#) => ADMINS;
        PUT "/api/{version}/sites/{site_id}/datasources/{datasource_id}" OwnAccount Body::Xml(r#"<tsRequest><datasource description="mine"/></tsRequest>"#) => PUBLISHERS;
        DELETE "/api/{version}/sites/{site_id}/datasources/{datasource_id}" OtherAccount Body::None => ADMINS;
        DELETE "/api/{version}/sites/{site_id}/datasources/{datasource_id}" OwnAccount Body::None => PUBLISHERS;
        POST "/api/{version}/sites/{site_id}/datasources/{datasource_id}/refresh" OtherAccount Body::Xml("<tsRequest/>") => ADMINS;
        GET "/api/{version}/sites/{site_id}/datasources/{datasource_id}/connections" Own Body::None => MEMBERS;
        PUT "/api/{version}/sites/{site_id}/datasources/{datasource_id}/connections/{connection_id}" OtherAccount Body::Xml(r#"<tsRequest><connection serverPort="6543"/></tsRequest>"#) => ADMINS;

        // Workbooks and views.
        GET "/api/{version}/sites/{site_id}/workbooks" Own Body::None => MEMBERS;
        POST "/api/{version}/sites/{site_id}/workbooks" Own Body::Publish("workbook") => PUBLISHERS;
        GET "/api/{version}/sites/{site_id}/workbooks/{workbook_id}" Own Body::None => MEMBERS;
        PUT "/api/{version}/sites/{site_id}/workbooks/{workbook_id}" OtherAccount Body::Xml(r#"<tsRequest><workbook showTabs="false"/></tsRequest>"#) => ADMINS;
        PUT "/api/{version}/sites/{site_id}/workbooks/{workbook_id}" OwnAccount Body::Xml(r#"<tsRequest><workbook showTabs="false"/></tsRequest>"#) => PUBLISHERS;
        DELETE "/api/{version}/sites/{site_id}/workbooks/{workbook_id}" OtherAccount Body::None => ADMINS;
        DELETE "/api/{version}/sites/{site_id}/workbooks/{workbook_id}" OwnAccount Body::None => PUBLISHERS;
        POST "/api/{version}/sites/{site_id}/workbooks/{workbook_id}/refresh" OtherAccount Body::Xml("<tsRequest/>") => ADMINS;
        GET "/api/{version}/sites/{site_id}/workbooks/{workbook_id}/views" Own Body::None => MEMBERS;
        GET "/api/{version}/sites/{site_id}/workbooks/{workbook_id}/connections" Own Body::None => MEMBERS;
        PUT "/api/{version}/sites/{site_id}/workbooks/{workbook_id}/connections/{connection_id}" OtherAccount Body::Xml(r#"<tsRequest><connection serverPort="6543"/></tsRequest>"#) => ADMINS;
        GET "/api/{version}/sites/{site_id}/views" Own Body::None => MEMBERS;
        GET "/api/{version}/sites/{site_id}/views/{view_id}" Own Body::None => MEMBERS;
        DELETE "/api/{version}/sites/{site_id}/views/{view_id}" OtherAccount Body::None => ADMINS;
        GET "/api/{version}/sites/{site_id}/jobs/{job_id}" Own Body::None => MEMBERS;

        // Data labels.
        PUT "/api/{version}/sites/{site_id}/labels" Own Body::Xml(LABEL) => PUBLISHERS;
        POST "/api/{version}/sites/{site_id}/labels" Own Body::Xml(LABEL) => MEMBERS;
        DELETE "/api/{version}/sites/{site_id}/labels" Own Body::Xml(LABEL_VALUE) => PUBLISHERS;
        GET "/api/{version}/sites/{site_id}/labels/{label_id}" Own Body::None => MEMBERS;
        PUT "/api/{version}/sites/{site_id}/labels/{label_id}" Own Body::Xml(r#"<tsRequest><label message="changed"/></tsRequest>"#) => PUBLISHERS;
        DELETE "/api/{version}/sites/{site_id}/labels/{label_id}" Own Body::None => PUBLISHERS;

        // vizhook's own API.
        POST "/vizhook/v1/sites/{site_id}/events" Own Body::Json(r#"{"event_type": "DatasourceCreated", "resource_name": "injected {unique}"}"#) => ADMINS;
        GET "/vizhook/v1/sites/{site_id}/webhooks/{webhook_id}/deliveries" Own Body::None => ADMINS;
        GET "/vizhook/v1/sites/{site_id}/deliveries/{delivery_id}" Own Body::None => ADMINS;
        POST "/vizhook/v1/sites/{site_id}/deliveries/{delivery_id}/redeliver" Own Body::None => ADMINS;
        GET "/vizhook/v1/sites/{site_id}/notices" Own Body::None => ADMINS;
        PUT "/vizhook/v1/sites/{site_id}/webhooks/{webhook_id}/signing-secret" Own Body::Json("{}") => ADMINS;
        DELETE "/vizhook/v1/sites/{site_id}/webhooks/{webhook_id}/signing-secret" Own Body::None => ADMINS;
    };
    rows.push(Row {
        method: "POST",
        route: "/api/{version}/auth/signout",
        scope: Own,
        body: Body::None,
        fresh_token: true,
        expect: ANYONE,
    });
    // Every site-scoped route, on a site the caller holds no token for, with that site's ids.
    let site_scoped: Vec<Row> = rows
        .iter()
        .filter(|row| row.route.contains("/sites/{site_id}/") && row.scope != Other)
        .filter(|row| !has_other_site_row(&rows, row))
        .map(|row| Row {
            method: row.method,
            route: row.route,
            scope: Other,
            body: row.body,
            fresh_token: false,
            expect: OTHER_SITE,
        })
        .collect();
    rows.extend(dedup(site_scoped));
    rows
}

fn has_other_site_row(rows: &[Row], row: &Row) -> bool {
    rows.iter()
        .any(|r| r.method == row.method && r.route == row.route && r.scope == Other)
}

fn dedup(rows: Vec<Row>) -> Vec<Row> {
    let mut seen = BTreeSet::new();
    rows.into_iter()
        .filter(|row| seen.insert((row.method, row.route)))
        .collect()
}

/// Every `(method, route)` the routers of `vizhook serve` declare, read from the sources: the
/// Tableau resources are nested under `/api/{version}`.
fn declared_routes() -> BTreeSet<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut found = BTreeSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            let prefix = if path.starts_with(root.join("tableau")) {
                "/api/{version}"
            } else {
                ""
            };
            for (route, methods) in route_calls(&source) {
                for method in methods {
                    found.insert((method, format!("{prefix}{route}")));
                }
            }
        }
    }
    found
}

/// The `.route("path", get(a).post(b))` calls of one source file.
fn route_calls(source: &str) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        let after = &rest[at + ".route(".len()..];
        let mut depth = 1usize;
        let end = after
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(after.len(), |(i, _)| i);
        let inside = &after[..end];
        let path = inside.split('"').nth(1).unwrap_or_default().to_owned();
        let methods = ["get", "post", "put", "delete", "patch"]
            .into_iter()
            .filter(|method| {
                inside.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !inside.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && inside.as_bytes()[i - 1] != b'_'
                })
            })
            .map(str::to_uppercase)
            .collect();
        calls.push((path, methods));
        rest = &after[end..];
    }
    calls
}

#[test]
fn every_route_has_a_row() {
    let declared = declared_routes();
    assert!(declared.len() > 50, "the source scan found {declared:?}");
    let covered: BTreeSet<(String, String)> = matrix()
        .iter()
        .map(|row| (row.method.to_owned(), row.route.to_owned()))
        .collect();
    let missing: Vec<_> = declared.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the role matrix: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&declared).collect();
    assert!(
        stale.is_empty(),
        "rows for routes the router does not serve: {stale:?}"
    );
}

/// The matrix's world: sites S (where the callers are members) and T, a session per role on S,
/// server administrator sessions on both to make fixtures with.
struct World {
    app: TestApp,
    receiver: TestReceiver,
    admin_s: Session,
    admin_t: Session,
    actors: Vec<(String, Session)>,
    counter: AtomicUsize,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let receiver = TestReceiver::spawn().await;
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
        world
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
    async fn run(&self, row: &Row, column: usize) -> Result<E, String> {
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

#[tokio::test]
async fn every_role_gets_the_expected_answer_on_every_route() {
    let world = World::new().await;
    let rows = matrix();
    let mut wrong = Vec::new();
    for row in &rows {
        for (column, expected) in row.expect.iter().enumerate() {
            let got = world.run(row, column).await;
            if got != Ok(*expected) {
                wrong.push(format!(
                    "{} {} ({:?}) as {}: expected {expected:?}, got {got:?}",
                    row.method, row.route, row.scope, ROLES[column]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cells differ:\n{}",
        wrong.len(),
        rows.len() * ROLES.len(),
        wrong.join("\n")
    );
}
