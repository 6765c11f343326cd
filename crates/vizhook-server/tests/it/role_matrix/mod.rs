//! The role matrix: for every role, every route of the Tableau API and of `/vizhook/v1`, and
//! own site, other site, own account or another's, the expected outcome, written as one table
//! and run against a live `serve`. Every cell gets fresh resources, so a delete in one cell
//! cannot change another's answer. A route the router serves without a row here fails the
//! test (`every_route_has_a_row`), and so does a row for a route that no longer exists.

mod routes;
mod world;

use std::collections::BTreeSet;

use self::world::World;

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
    /// One chunk of a chunked upload.
    Chunk,
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
        GET "/healthz" Own Body::None => ANYONE;
        GET "/readyz" Own Body::None => ANYONE;
        GET "/metrics" Own Body::None => ANYONE;

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
        POST "/api/{version}/sites/{site_id}/fileUploads" Own Body::None => PUBLISHERS;
        POST "/api/{version}/sites/{site_id}/fileUploads" Other Body::None => OTHER_SITE;
        PUT "/api/{version}/sites/{site_id}/fileUploads/{upload_id}" OwnAccount Body::Chunk => PUBLISHERS;
        PUT "/api/{version}/sites/{site_id}/fileUploads/{upload_id}" Other Body::Chunk => OTHER_SITE;
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

#[test]
fn every_route_has_a_row() {
    let declared = routes::declared_routes();
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

#[tokio::test]
async fn every_role_gets_the_expected_answer_on_every_route() {
    let world = or_skip!(World::new().await);
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
