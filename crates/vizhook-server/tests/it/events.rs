//! One test per Tableau event: the REST call that causes it in Tableau produces exactly the
//! documented six-field payload at a local receiver.

use std::time::Duration;

use serde_json::Value;
use vizhook_core::EventKind;

use crate::helpers::*;

/// A server with one webhook per event, each posting to `/{EventName}` on one receiver.
struct World {
    app: TestApp,
    receiver: TestReceiver,
    admin: Session,
}

async fn world() -> Option<World> {
    let app =
        TestApp::spawn_with(|config| config.delivery.poll_interval = Duration::from_millis(20))
            .await?;
    let receiver = TestReceiver::start();
    let admin = app.admin().await;
    for kind in EventKind::ALL {
        app.create_webhook(
            &admin,
            &format!("on {kind}"),
            kind.api_name(),
            &receiver.url(&format!("/{kind}")),
        )
        .await;
    }
    Some(World {
        app,
        receiver,
        admin,
    })
}

impl World {
    /// Waits for `count` deliveries of `kind` and returns their payloads in arrival order.
    async fn payloads(&self, kind: EventKind, count: usize) -> Vec<Value> {
        let path = format!("/{kind}");
        let found = eventually(
            Duration::from_secs(30),
            &format!("{count} {kind} deliveries"),
            || async {
                let got: Vec<Value> = self
                    .receiver
                    .received()
                    .iter()
                    .filter(|r| r.path == path)
                    .map(Received::json)
                    .collect();
                (got.len() >= count).then_some(got)
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let all: Vec<Value> = self
            .receiver
            .received()
            .iter()
            .filter(|r| r.path == path)
            .map(Received::json)
            .collect();
        assert_eq!(
            all.len(),
            found.len(),
            "no more {kind} deliveries than expected"
        );
        found
    }

    async fn one(&self, kind: EventKind) -> Value {
        self.payloads(kind, 1).await.remove(0)
    }

    fn users(&self) -> String {
        format!("/api/3.24/sites/{}/users", self.admin.site_id)
    }

    async fn add_user(&self, name: &str, role: &str) -> String {
        let body = format!(r#"<tsRequest><user name="{name}" siteRole="{role}" /></tsRequest>"#);
        let added = self
            .app
            .xml("POST", &self.users(), &self.admin.token, Some(&body))
            .await;
        assert_eq!(added.status, 201, "{}", added.text);
        added
            .xml()
            .find("user")
            .unwrap()
            .get("id")
            .unwrap()
            .to_owned()
    }

    fn content(&self, kind: &str, id: &str) -> String {
        format!("/api/3.24/sites/{}/{kind}/{id}", self.admin.site_id)
    }
}

/// The exact six fields, in order, with a second-precision UTC `created_at`.
fn assert_payload(
    payload: &Value,
    kind: EventKind,
    resource: &str,
    name: &str,
    luid: &str,
    site: &str,
) {
    let keys: Vec<&String> = payload.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "resource",
            "event_type",
            "resource_name",
            "site_luid",
            "resource_luid",
            "created_at"
        ]
    );
    assert_eq!(payload["resource"], resource, "{payload}");
    assert_eq!(payload["event_type"], kind.api_name(), "{payload}");
    assert_eq!(payload["resource_name"], name, "{payload}");
    assert_eq!(payload["site_luid"], site, "{payload}");
    assert_eq!(payload["resource_luid"], luid, "{payload}");
    let created = payload["created_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
    assert!(created.len() == 20 && created.ends_with('Z'), "{created}");
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits for a job to finish and returns its element.
async fn finished_job(w: &World, job: &str) -> vizhook_server::api::format::Element {
    eventually(Duration::from_secs(30), "the job to finish", || async {
        let answer = w
            .app
            .xml("GET", &w.content("jobs", job), &w.admin.token, None)
            .await;
        let root = answer.xml();
        let job = root.find("job").unwrap().clone();
        job.get("completedAt").is_some().then_some(job)
    })
    .await
}

#[tokio::test]
async fn admin_promoted_when_a_user_becomes_site_administrator() {
    let w = or_skip!(world().await);
    let id = w.add_user("carol", "Creator").await;
    let body = r#"<tsRequest><user siteRole="SiteAdministratorCreator" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &format!("{}/{id}", w.users()),
                &w.admin.token,
                Some(body)
            )
            .await
            .status,
        200
    );
    assert_payload(
        &w.one(EventKind::AdminPromoted).await,
        EventKind::AdminPromoted,
        "USER",
        "carol",
        &id,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn admin_demoted_when_a_site_administrator_loses_the_role() {
    let w = or_skip!(world().await);
    let id = w.add_user("dave", "SiteAdministratorExplorer").await;
    let body = r#"<tsRequest><user siteRole="Viewer" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &format!("{}/{id}", w.users()),
                &w.admin.token,
                Some(body)
            )
            .await
            .status,
        200
    );
    assert_payload(
        &w.one(EventKind::AdminDemoted).await,
        EventKind::AdminDemoted,
        "USER",
        "dave",
        &id,
        &w.admin.site_id,
    );
    // Server administrators are not site administrators: making dave one is no promotion.
    let body = r#"<tsRequest><user siteRole="ServerAdministrator" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &format!("{}/{id}", w.users()),
                &w.admin.token,
                Some(body)
            )
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        w.receiver
            .received()
            .iter()
            .all(|r| r.path != "/AdminPromoted")
    );
}

#[tokio::test]
async fn user_deleted_when_a_user_is_removed_from_the_site() {
    let w = or_skip!(world().await);
    let id = w.add_user("erin", "Viewer").await;
    assert_eq!(
        w.app
            .xml(
                "DELETE",
                &format!("{}/{id}", w.users()),
                &w.admin.token,
                None
            )
            .await
            .status,
        204
    );
    assert_payload(
        &w.one(EventKind::UserDeleted).await,
        EventKind::UserDeleted,
        "USER",
        "erin",
        &id,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn site_created_updated_and_deleted() {
    let w = or_skip!(world().await);
    let site = w.app.create_site(&w.admin, "Research", "research").await;
    assert_payload(
        &w.one(EventKind::SiteCreated).await,
        EventKind::SiteCreated,
        "SITE",
        "Research",
        &site,
        &w.admin.site_id,
    );
    // SiteUpdated reaches the updated site's own webhooks.
    let there = w.app.sign_in_pat(PAT_NAME, PAT_SECRET, "research").await;
    w.app
        .create_webhook(
            &there,
            "local",
            "SiteUpdated",
            &w.receiver.url("/research/SiteUpdated"),
        )
        .await;
    let update = r#"<tsRequest><site name="Research Lab" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &format!("/api/3.24/sites/{site}"),
                &there.token,
                Some(update)
            )
            .await
            .status,
        200
    );
    let updated = eventually(Duration::from_secs(30), "SiteUpdated", || async {
        w.receiver
            .received()
            .iter()
            .find(|r| r.path == "/research/SiteUpdated")
            .map(Received::json)
    })
    .await;
    assert_payload(
        &updated,
        EventKind::SiteUpdated,
        "SITE",
        "Research Lab",
        &site,
        &site,
    );
    assert_eq!(
        w.app
            .xml(
                "DELETE",
                &format!("/api/3.24/sites/{site}"),
                &w.admin.token,
                None
            )
            .await
            .status,
        204
    );
    assert_payload(
        &w.one(EventKind::SiteDeleted).await,
        EventKind::SiteDeleted,
        "SITE",
        "Research Lab",
        &site,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn site_updated_on_the_site_itself() {
    let w = or_skip!(world().await);
    let body = r#"<tsRequest><site adminMode="ContentOnly" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &format!("/api/3.24/sites/{}", w.admin.site_id),
                &w.admin.token,
                Some(body)
            )
            .await
            .status,
        200
    );
    assert_payload(
        &w.one(EventKind::SiteUpdated).await,
        EventKind::SiteUpdated,
        "SITE",
        "Default",
        &w.admin.site_id,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn datasource_created_by_publishing() {
    let w = or_skip!(world().await);
    let id = w
        .app
        .publish_datasource(&w.admin, "Sales", "127.0.0.1", 5432, "")
        .await;
    assert_payload(
        &w.one(EventKind::DatasourceCreated).await,
        EventKind::DatasourceCreated,
        "DATASOURCE",
        "Sales",
        &id,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn datasource_updated_by_overwrite_update_and_connection_change() {
    let w = or_skip!(world().await);
    let id = w
        .app
        .publish_datasource(&w.admin, "Sales", "127.0.0.1", 5432, "")
        .await;
    let again = w
        .app
        .publish_datasource(&w.admin, "Sales", "127.0.0.1", 5432, "&overwrite=true")
        .await;
    assert_eq!(again, id, "an overwrite keeps the data source");
    let rename = r#"<tsRequest><datasource name="Sales EMEA" isCertified="true" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &w.content("datasources", &id),
                &w.admin.token,
                Some(rename)
            )
            .await
            .status,
        200
    );
    let connections = w
        .app
        .xml(
            "GET",
            &format!("{}/connections", w.content("datasources", &id)),
            &w.admin.token,
            None,
        )
        .await
        .xml();
    let connection = connections.find("connections").unwrap().children[0]
        .get("id")
        .unwrap()
        .to_owned();
    let change = r#"<tsRequest><connection serverAddress="db.internal" serverPort="6543" userName="etl" password="x" embedPassword="true" /></tsRequest>"#;
    let path = format!("{}/connections/{connection}", w.content("datasources", &id));
    let changed = w.app.xml("PUT", &path, &w.admin.token, Some(change)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert!(
        !changed.text.contains("password"),
        "passwords are never returned"
    );
    let payloads = w.payloads(EventKind::DatasourceUpdated, 3).await;
    for (payload, name) in payloads.iter().zip(["Sales", "Sales EMEA", "Sales EMEA"]) {
        assert_payload(
            payload,
            EventKind::DatasourceUpdated,
            "DATASOURCE",
            name,
            &id,
            &w.admin.site_id,
        );
    }
    assert!(
        w.receiver
            .received()
            .iter()
            .filter(|r| r.path == "/DatasourceCreated")
            .count()
            == 1
    );
}

#[tokio::test]
async fn datasource_deleted() {
    let w = or_skip!(world().await);
    let id = w
        .app
        .publish_datasource(&w.admin, "Old", "127.0.0.1", 5432, "")
        .await;
    assert_eq!(
        w.app
            .xml(
                "DELETE",
                &w.content("datasources", &id),
                &w.admin.token,
                None
            )
            .await
            .status,
        204
    );
    assert_payload(
        &w.one(EventKind::DatasourceDeleted).await,
        EventKind::DatasourceDeleted,
        "DATASOURCE",
        "Old",
        &id,
        &w.admin.site_id,
    );
}

/// Refreshes `path` (a data source or workbook) and returns the finished job.
async fn refresh(w: &World, path: &str) -> vizhook_server::api::format::Element {
    let answer = w
        .app
        .xml(
            "POST",
            &format!("{path}/refresh"),
            &w.admin.token,
            Some("<tsRequest />"),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    let job = answer
        .xml()
        .find("job")
        .unwrap()
        .get("id")
        .unwrap()
        .to_owned();
    finished_job(w, &job).await
}

#[tokio::test]
async fn datasource_refresh_started_then_succeeded_against_a_reachable_postgres() {
    let w = or_skip!(world().await);
    let id = w
        .app
        .publish_datasource(&w.admin, "Live", "127.0.0.1", 5432, "")
        .await;
    let job = refresh(&w, &w.content("datasources", &id)).await;
    assert_eq!(job.get("finishCode"), Some("0"), "{job:?}");
    let started = w.one(EventKind::DatasourceRefreshStarted).await;
    assert_payload(
        &started,
        EventKind::DatasourceRefreshStarted,
        "EXTRACTS",
        "Live",
        &id,
        &w.admin.site_id,
    );
    let succeeded = w.one(EventKind::DatasourceRefreshSucceeded).await;
    assert_payload(
        &succeeded,
        EventKind::DatasourceRefreshSucceeded,
        "EXTRACTS",
        "Live",
        &id,
        &w.admin.site_id,
    );
    let order: Vec<String> = w
        .receiver
        .received()
        .iter()
        .map(|r| r.path.clone())
        .filter(|p| p.starts_with("/DatasourceRefresh"))
        .collect();
    assert_eq!(
        order,
        ["/DatasourceRefreshStarted", "/DatasourceRefreshSucceeded"],
        "started before finished"
    );
}

#[tokio::test]
async fn datasource_refresh_failed_against_an_unreachable_server() {
    let w = or_skip!(world().await);
    let port = closed_port();
    let id = w
        .app
        .publish_datasource(&w.admin, "Broken", "127.0.0.1", port, "")
        .await;
    let job = refresh(&w, &w.content("datasources", &id)).await;
    assert_eq!(job.get("finishCode"), Some("1"));
    let notes = job.find("notes").unwrap().text_or_empty().to_owned();
    assert!(
        notes.contains(&format!("could not connect to 127.0.0.1:{port}")),
        "{notes}"
    );
    let failed = w.one(EventKind::DatasourceRefreshFailed).await;
    assert_payload(
        &failed,
        EventKind::DatasourceRefreshFailed,
        "EXTRACTS",
        "Broken",
        &id,
        &w.admin.site_id,
    );
    w.one(EventKind::DatasourceRefreshStarted).await;
}

#[tokio::test]
async fn workbook_created_updated_and_deleted() {
    let w = or_skip!(world().await);
    let id = w
        .app
        .publish_workbook(&w.admin, "Overview", "127.0.0.1", 5432, "")
        .await;
    assert_payload(
        &w.one(EventKind::WorkbookCreated).await,
        EventKind::WorkbookCreated,
        "WORKBOOK",
        "Overview",
        &id,
        &w.admin.site_id,
    );
    let body = r#"<tsRequest><workbook name="Overview 2026" showTabs="false" /></tsRequest>"#;
    assert_eq!(
        w.app
            .xml(
                "PUT",
                &w.content("workbooks", &id),
                &w.admin.token,
                Some(body)
            )
            .await
            .status,
        200
    );
    assert_payload(
        &w.one(EventKind::WorkbookUpdated).await,
        EventKind::WorkbookUpdated,
        "WORKBOOK",
        "Overview 2026",
        &id,
        &w.admin.site_id,
    );
    assert_eq!(
        w.app
            .xml("DELETE", &w.content("workbooks", &id), &w.admin.token, None)
            .await
            .status,
        204
    );
    assert_payload(
        &w.one(EventKind::WorkbookDeleted).await,
        EventKind::WorkbookDeleted,
        "WORKBOOK",
        "Overview 2026",
        &id,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn workbook_updated_by_an_overwrite() {
    let w = or_skip!(world().await);
    let id = w
        .app
        .publish_workbook(&w.admin, "Overview", "127.0.0.1", 5432, "")
        .await;
    let again = w
        .app
        .publish_workbook(&w.admin, "Overview", "127.0.0.1", 5432, "&overwrite=true")
        .await;
    assert_eq!(again, id);
    assert_payload(
        &w.one(EventKind::WorkbookUpdated).await,
        EventKind::WorkbookUpdated,
        "WORKBOOK",
        "Overview",
        &id,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn workbook_refresh_started_succeeded_and_failed() {
    let w = or_skip!(world().await);
    let good = w
        .app
        .publish_workbook(&w.admin, "Good", "127.0.0.1", 5432, "")
        .await;
    assert_eq!(
        refresh(&w, &w.content("workbooks", &good))
            .await
            .get("finishCode"),
        Some("0")
    );
    let bad = w
        .app
        .publish_workbook(&w.admin, "Bad", "127.0.0.1", closed_port(), "")
        .await;
    assert_eq!(
        refresh(&w, &w.content("workbooks", &bad))
            .await
            .get("finishCode"),
        Some("1")
    );
    let started = w.payloads(EventKind::WorkbookRefreshStarted, 2).await;
    assert_payload(
        &started[0],
        EventKind::WorkbookRefreshStarted,
        "EXTRACTS",
        "Good",
        &good,
        &w.admin.site_id,
    );
    assert_payload(
        &started[1],
        EventKind::WorkbookRefreshStarted,
        "EXTRACTS",
        "Bad",
        &bad,
        &w.admin.site_id,
    );
    assert_payload(
        &w.one(EventKind::WorkbookRefreshSucceeded).await,
        EventKind::WorkbookRefreshSucceeded,
        "EXTRACTS",
        "Good",
        &good,
        &w.admin.site_id,
    );
    assert_payload(
        &w.one(EventKind::WorkbookRefreshFailed).await,
        EventKind::WorkbookRefreshFailed,
        "EXTRACTS",
        "Bad",
        &bad,
        &w.admin.site_id,
    );
}

#[tokio::test]
async fn view_deleted_and_the_last_view_takes_its_workbook() {
    let w = or_skip!(world().await);
    let workbook = w
        .app
        .publish_workbook(&w.admin, "Overview", "127.0.0.1", 5432, "")
        .await;
    let views = w
        .app
        .xml(
            "GET",
            &format!("{}/views", w.content("workbooks", &workbook)),
            &w.admin.token,
            None,
        )
        .await
        .xml();
    let views: Vec<(String, String)> = views
        .find("views")
        .unwrap()
        .children
        .iter()
        .map(|v| {
            (
                v.get("id").unwrap().to_owned(),
                v.get("name").unwrap().to_owned(),
            )
        })
        .collect();
    let names: Vec<&str> = views.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        names,
        ["Sales by Region", "Profit", "Overview"],
        "views come from the workbook file"
    );
    for (id, _) in &views {
        assert_eq!(
            w.app
                .xml("DELETE", &w.content("views", id), &w.admin.token, None)
                .await
                .status,
            204
        );
    }
    let deleted = w.payloads(EventKind::ViewDeleted, 3).await;
    for (payload, (id, name)) in deleted.iter().zip(&views) {
        assert_payload(
            payload,
            EventKind::ViewDeleted,
            "VIEW",
            name,
            id,
            &w.admin.site_id,
        );
    }
    assert_payload(
        &w.one(EventKind::WorkbookDeleted).await,
        EventKind::WorkbookDeleted,
        "WORKBOOK",
        "Overview",
        &workbook,
        &w.admin.site_id,
    );
    assert_eq!(
        w.app
            .xml(
                "GET",
                &w.content("workbooks", &workbook),
                &w.admin.token,
                None
            )
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn labels_created_updated_and_deleted() {
    let w = or_skip!(world().await);
    let ds = w
        .app
        .publish_datasource(&w.admin, "Labeled", "127.0.0.1", 5432, "")
        .await;
    let wb = w
        .app
        .publish_workbook(&w.admin, "Also labeled", "127.0.0.1", 5432, "")
        .await;
    let labels = format!("/api/3.24/sites/{}/labels", w.admin.site_id);
    let put = |message: &str| {
        format!(
            r#"<tsRequest><contentList><content contentType="datasource" id="{ds}" /><content contentType="workbook" id="{wb}" /></contentList><label value="Deprecated" message="{message}" active="true" elevated="false" /></tsRequest>"#
        )
    };
    let first = w
        .app
        .xml("PUT", &labels, &w.admin.token, Some(&put("use v2")))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    // One event per labeled asset, written together: their deliveries run concurrently, so
    // they may arrive in either order.
    let mut created = w.payloads(EventKind::LabelCreated, 2).await;
    created.sort_by_key(|payload| payload["resource"].as_str().map(str::to_owned));
    assert_payload(
        &created[0],
        EventKind::LabelCreated,
        "DATASOURCE",
        "Labeled",
        &ds,
        &w.admin.site_id,
    );
    assert_payload(
        &created[1],
        EventKind::LabelCreated,
        "WORKBOOK",
        "Also labeled",
        &wb,
        &w.admin.site_id,
    );

    assert_eq!(
        w.app
            .xml("PUT", &labels, &w.admin.token, Some(&put("use v3")))
            .await
            .status,
        200
    );
    // One event per labeled asset, written together: their deliveries run concurrently, so
    // they may arrive in either order.
    let mut updated = w.payloads(EventKind::LabelUpdated, 2).await;
    updated.sort_by_key(|payload| payload["resource"].as_str().map(str::to_owned));
    assert_payload(
        &updated[0],
        EventKind::LabelUpdated,
        "DATASOURCE",
        "Labeled",
        &ds,
        &w.admin.site_id,
    );

    let root = first.xml();
    let label = root.find("labelList").unwrap().children[0]
        .get("id")
        .unwrap()
        .to_owned();
    assert_eq!(
        w.app
            .xml("DELETE", &format!("{labels}/{label}"), &w.admin.token, None)
            .await
            .status,
        204
    );
    assert_payload(
        &w.one(EventKind::LabelDeleted).await,
        EventKind::LabelDeleted,
        "DATASOURCE",
        "Labeled",
        &ds,
        &w.admin.site_id,
    );
    let query = format!(
        r#"<tsRequest><contentList><content contentType="workbook" id="{wb}" /></contentList></tsRequest>"#
    );
    let left = w
        .app
        .xml("POST", &labels, &w.admin.token, Some(&query))
        .await
        .xml();
    let left = left.find("labelList").unwrap().clone();
    assert_eq!(left.children.len(), 1);
    assert_eq!(left.children[0].get("message"), Some("use v3"));
}
