//! What the content resources share: who may publish and change content, loading content with
//! Tableau's not-found errors, building connections from a published file and the request's
//! credentials, starting refreshes, and updating a connection.

use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{
    ConnectionId, DatasourceId, JobId, ProjectId, SiteId, SiteRole, UserId, WorkbookId,
};
use vizhook_store::{Connection, ContentChange, ContentRef, Datasource, Job, Project, Workbook};

use super::wire::content::job_element;
use crate::{
    api::{
        auth::Caller,
        error::{ApiError, ApiResult},
        format::{Element, Reply},
    },
    content::{files::FileConnection, refresh},
    state::AppState,
};

/// Roles that may publish content (administrators included).
pub(crate) fn may_publish(caller: &Caller) -> ApiResult<()> {
    use SiteRole::*;
    match caller.0.user.site_role {
        role if role.administers_site() => Ok(()),
        Creator | ExplorerCanPublish | Publisher | ViewerWithPublish | UnlicensedWithPublish => {
            Ok(())
        }
        _ => Err(ApiError::forbidden(
            "Your site role does not allow publishing or changing content.",
        )),
    }
}

/// Administrators may change any content; publishers only their own.
pub(crate) fn may_modify(caller: &Caller, owner: UserId) -> ApiResult<()> {
    may_publish(caller)?;
    if caller.administers_site() || caller.0.user.id == owner {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only the owner or an administrator may change this content.",
        ))
    }
}

pub(crate) async fn load_project(
    state: &AppState,
    site: SiteId,
    id: ProjectId,
) -> ApiResult<Project> {
    state
        .store
        .project(site, id)
        .await?
        .ok_or_else(|| ApiError::project_not_found(format!("Project '{id}' could not be found.")))
}

pub(crate) async fn load_datasource(
    state: &AppState,
    site: SiteId,
    id: DatasourceId,
) -> ApiResult<Datasource> {
    state
        .store
        .datasource(site, id)
        .await?
        .ok_or_else(|| datasource_not_found(&id.to_string()))
}

pub(crate) async fn load_workbook(
    state: &AppState,
    site: SiteId,
    id: WorkbookId,
) -> ApiResult<Workbook> {
    state
        .store
        .workbook(site, id)
        .await?
        .ok_or_else(|| workbook_not_found(&id.to_string()))
}

pub(crate) fn datasource_not_found(raw: &str) -> ApiError {
    ApiError::datasource_not_found(format!("Datasource '{raw}' could not be found."))
}

pub(crate) fn workbook_not_found(raw: &str) -> ApiError {
    ApiError::workbook_not_found(format!("Workbook '{raw}' could not be found."))
}

/// The project a publish or move names, or the site's Default project.
pub(crate) async fn target_project(
    state: &AppState,
    site: SiteId,
    requested: Option<ProjectId>,
) -> ApiResult<Project> {
    if let Some(id) = requested {
        return load_project(state, site, id).await;
    }
    let projects = state.store.projects(site).await?;
    projects
        .into_iter()
        .find(|p| vizhook_core::content::is_default_project(&p.name, p.parent_id.is_some()))
        .ok_or_else(|| {
            ApiError::bad_request("No project was given and the site has no Default project.")
        })
}

/// Credentials given with a publish: `<connectionCredentials name password embed>`.
struct Credentials {
    name: String,
    password: Option<String>,
    embed: bool,
}

fn credentials(element: Option<&Element>) -> Option<Credentials> {
    let element = element?;
    Some(Credentials {
        name: element.get("name").unwrap_or_default().to_owned(),
        password: element.get("password").map(str::to_owned),
        embed: element
            .get("embed")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// Connections of a published file, with the request's credentials applied: a
/// `<connectionCredentials>` for all of them, or per-server `<connections><connection
/// serverAddress serverPort><connectionCredentials/></connection></connections>`.
pub(crate) fn build_connections(
    site: SiteId,
    owner: ContentRef,
    found: &[FileConnection],
    content: &Element,
    previous: &[Connection],
) -> Vec<Connection> {
    let shared = credentials(content.find("connectionCredentials"));
    let specific: Vec<&Element> = content
        .find("connections")
        .map(|c| c.children.iter().collect())
        .unwrap_or_default();
    found
        .iter()
        .map(|file| {
            let matching = specific.iter().find(|c| {
                c.get("serverAddress")
                    .is_some_and(|s| s.eq_ignore_ascii_case(&file.server))
            });
            let mut connection = Connection {
                id: previous
                    .iter()
                    .find(|p| {
                        p.class == file.class && p.server == file.server && p.port == file.port
                    })
                    .map_or_else(|| ConnectionId::from_uuid(Uuid::new_v4()), |p| p.id),
                site_id: site,
                owner,
                class: file.class.clone(),
                server: file.server.clone(),
                port: file.port.clone(),
                dbname: file.dbname.clone(),
                username: file.username.clone(),
                password: None,
                embed_password: false,
            };
            if let Some(port) = matching.and_then(|m| m.get("serverPort")) {
                connection.port = port.to_owned();
            }
            let given = matching
                .and_then(|m| credentials(m.find("connectionCredentials")))
                .or_else(|| {
                    shared.as_ref().map(|c| Credentials {
                        name: c.name.clone(),
                        password: c.password.clone(),
                        embed: c.embed,
                    })
                });
            if let Some(given) = given {
                if !given.name.is_empty() {
                    connection.username = given.name;
                }
                connection.embed_password = given.embed;
                connection.password = given.password.filter(|_| given.embed);
            }
            connection
        })
        .collect()
}

/// Applies `<connection serverAddress serverPort userName password embedPassword>` to a
/// connection.
pub(crate) fn update_connection(connection: &mut Connection, request: &Element) -> ApiResult<()> {
    if let Some(server) = request.get("serverAddress") {
        connection.server = server.trim().to_owned();
    }
    if let Some(port) = request.get("serverPort") {
        let port = port.trim();
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return Err(ApiError::bad_request(format!(
                "serverPort must be a port number, not '{port}'."
            )));
        }
        connection.port = port.to_owned();
    }
    if let Some(user) = request.get("userName") {
        connection.username = user.to_owned();
    }
    if let Some(password) = request.get("password") {
        connection.password = Some(password.to_owned());
    }
    if let Some(embed) = request.get("embedPassword") {
        connection.embed_password =
            vizhook_core::parse_bool(embed)?.unwrap_or(connection.embed_password);
    }
    if let Some(dbname) = request
        .get("databaseName")
        .or_else(|| request.get("dbName"))
    {
        connection.dbname = dbname.to_owned();
    }
    Ok(())
}

/// A publish whose content URL (made from its name, unique in the site) another publish of a
/// similar name took between this one's check and its write; a retry gets another URL.
pub(crate) fn similar_meanwhile(kind: &str) -> ApiError {
    ApiError::conflict(format!(
        "Another {kind} with a similar name was published at the same time; try again."
    ))
}

fn already_refreshing(name: &str) -> ApiError {
    ApiError::duplicate_refresh(format!(
        "A refresh of '{name}' is already queued or running."
    ))
}

/// Starts a refresh of `target`: refuses a second one while one runs (`409093`), records the
/// job with its Started event, and runs the connection checks in the background.
pub(crate) async fn start_refresh(
    state: &AppState,
    site: SiteId,
    target: ContentRef,
    name: &str,
) -> ApiResult<Reply> {
    if !state.store.unfinished_jobs(Some(target)).await?.is_empty() {
        return Err(already_refreshing(name));
    }
    let now = OffsetDateTime::now_utc();
    let job = Job {
        id: JobId::from_uuid(Uuid::new_v4()),
        site_id: site,
        target,
        target_name: name.to_owned(),
        created_at: now,
        started_at: Some(now),
        completed_at: None,
        progress: 0,
        finish_code: None,
        notes: String::new(),
    };
    let connections = state.store.connections(site, target).await?;
    let started = refresh::job_event(&job, None);
    let published = state
        .store
        .apply(&[ContentChange::SaveJob(job.clone())], &[started])
        .await
        .map_err(ApiError::on_conflict("jobs.target_id", || {
            already_refreshing(name)
        }))?;
    state.after_publish(&published);
    tracing::info!(job = %job.id, target = name, "refresh started");
    let reply = Reply::accepted(job_element(&job));
    refresh::spawn(state.clone(), job, connections);
    Ok(reply)
}
