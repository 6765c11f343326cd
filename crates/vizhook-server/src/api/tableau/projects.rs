//! Projects: query, create, update, delete. Deleting a project deletes its content (and its
//! sub-projects'), firing DatasourceDeleted and WorkbookDeleted for each item.

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{EventKind, ProjectId};
use vizhook_store::{ContentChange, Project};

use super::{content::load_project, page::Page, wire::content::project_element};
use vizhook_delivery::new_event;

use crate::{
    api::{
        auth::{SiteAdmin, SiteCaller},
        error::{ApiError, ApiResult},
        extract::{QueryParams, TsRequest},
        format::{Element, Reply},
        version::Version,
    },
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site_id}/projects", get(list).post(create))
        .route(
            "/sites/{site_id}/projects/{project_id}",
            axum::routing::put(update).delete(remove),
        )
}

fn parse_id(raw: &str) -> ApiResult<ProjectId> {
    raw.parse()
        .map_err(|_| ApiError::project_not_found(format!("Project '{raw}' could not be found.")))
}

/// Tableau's content permission modes. vizhook does not model permissions, so a valid mode is
/// accepted and every project reports `ManagedByOwner`; an unknown one is refused.
const CONTENT_PERMISSIONS: [&str; 3] = [
    "LockedToProject",
    "ManagedByOwner",
    "LockedToProjectWithoutNested",
];

fn check_content_permissions(element: &Element) -> ApiResult<()> {
    match element.get("contentPermissions") {
        Some(mode)
            if !CONTENT_PERMISSIONS
                .iter()
                .any(|m| m.eq_ignore_ascii_case(mode)) =>
        {
            Err(ApiError::bad_request(format!(
                "contentPermissions must be one of {}, not '{mode}'.",
                CONTENT_PERMISSIONS.join(", ")
            )))
        }
        _ => Ok(()),
    }
}

fn parent(element: &Element) -> ApiResult<Option<ProjectId>> {
    element
        .get("parentProjectId")
        .filter(|raw| !raw.is_empty())
        .map(parse_id)
        .transpose()
}

async fn list(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    query: QueryParams,
) -> ApiResult<Reply> {
    let (projects, pagination) =
        Page::from_query(&query)?.apply(state.store.projects(caller.0.site.id).await?);
    Ok(Reply::ok_many(vec![
        pagination,
        Element::list("projects", projects.iter().map(project_element)),
    ]))
}

async fn create(
    State(state): State<AppState>,
    Version(version): Version,
    SiteAdmin(caller): SiteAdmin,
    request: TsRequest,
) -> ApiResult<Reply> {
    let element = request.required("project")?;
    check_content_permissions(element)?;
    let name = element.get("name").map(str::trim).filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| ApiError::bad_request("A project needs a non-empty name."))?;
    let site = caller.0.site.id;
    let parent_id = parent(element)?;
    if let Some(parent_id) = parent_id {
        load_project(&state, site, parent_id).await?;
    }
    let siblings = state.store.projects(site).await?;
    if siblings
        .iter()
        .any(|p| p.parent_id == parent_id && p.name.eq_ignore_ascii_case(name))
    {
        return Err(name_taken(name));
    }
    let now = OffsetDateTime::now_utc();
    let project = Project {
        id: ProjectId::from_uuid(Uuid::new_v4()),
        site_id: site,
        name: name.to_owned(),
        description: element.get("description").unwrap_or_default().to_owned(),
        parent_id,
        owner_id: caller.0.user.id,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .apply(&[ContentChange::SaveProject(project.clone())], &[])
        .await
        .map_err(ApiError::on_conflict("projects_sibling_name", || {
            name_taken(&project.name)
        }))?;
    let location = format!(
        "/api/{}.{}/sites/{site}/projects/{}",
        version.major, version.minor, project.id
    );
    Ok(Reply::created(project_element(&project), location))
}

async fn update(
    State(state): State<AppState>,
    SiteAdmin(caller): SiteAdmin,
    Path((_, _, raw)): Path<(String, String, String)>,
    request: TsRequest,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let mut project = load_project(&state, site, parse_id(&raw)?).await?;
    let was_default = is_default(&project);
    let element = request.required("project")?;
    check_content_permissions(element)?;
    if let Some(name) = element.get("name").map(str::trim).filter(|n| !n.is_empty()) {
        project.name = name.to_owned();
    }
    if let Some(description) = element.get("description") {
        project.description = description.to_owned();
    }
    if element.get("parentProjectId").is_some() {
        project.parent_id = parent(element)?;
        if let Some(parent_id) = project.parent_id {
            let projects = state.store.projects(site).await?;
            if ancestors(&projects, parent_id).any(|id| id == project.id) {
                return Err(ApiError::bad_request(
                    "A project cannot be moved into itself or one of its own projects.",
                ));
            }
        }
    }
    // The Default project is found by its name at the top level: renamed or moved, the site
    // would lose it (and it could then be deleted).
    if was_default && !is_default(&project) {
        return Err(ApiError::forbidden(
            "The Default project cannot be renamed or moved.",
        ));
    }
    project.updated_at = OffsetDateTime::now_utc();
    state
        .store
        .apply(&[ContentChange::SaveProject(project.clone())], &[])
        .await
        .map_err(ApiError::on_conflict("projects_sibling_name", || {
            name_taken(&project.name)
        }))?;
    Ok(Reply::ok(project_element(&project)))
}

fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(format!("A project named '{name}' already exists there."))
}

/// Whether `project` is its site's Default project (`vizhook_core::content`'s rule).
fn is_default(project: &Project) -> bool {
    vizhook_core::content::is_default_project(&project.name, project.parent_id.is_some())
}

/// `start` and the projects above it, nearest first; stops at a repeat, so a cycle already
/// stored cannot loop.
fn ancestors(projects: &[Project], start: ProjectId) -> impl Iterator<Item = ProjectId> + '_ {
    let mut seen = Vec::new();
    std::iter::successors(Some(start), move |id| {
        seen.push(*id);
        projects
            .iter()
            .find(|p| p.id == *id)
            .and_then(|p| p.parent_id)
            .filter(|parent| !seen.contains(parent))
    })
}

async fn remove(
    State(state): State<AppState>,
    SiteAdmin(caller): SiteAdmin,
    Path((_, _, raw)): Path<(String, String, String)>,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let project = load_project(&state, site, parse_id(&raw)?).await?;
    if is_default(&project) {
        return Err(ApiError::forbidden(
            "The Default project cannot be deleted.",
        ));
    }
    let projects = state.store.projects(site).await?;
    let mut tree = vec![project.id];
    while let Some(more) = projects
        .iter()
        .find(|p| p.parent_id.is_some_and(|id| tree.contains(&id)) && !tree.contains(&p.id))
    {
        tree.push(more.id);
    }
    let mut events = Vec::new();
    for datasource in state
        .store
        .datasources(site)
        .await?
        .iter()
        .filter(|d| tree.contains(&d.project_id))
    {
        events.push(new_event(
            site,
            EventKind::DatasourceDeleted,
            &datasource.name,
            &datasource.id.to_string(),
        ));
    }
    for workbook in state
        .store
        .workbooks(site)
        .await?
        .iter()
        .filter(|w| tree.contains(&w.project_id))
    {
        events.push(new_event(
            site,
            EventKind::WorkbookDeleted,
            &workbook.name,
            &workbook.id.to_string(),
        ));
    }
    let published = state
        .store
        .apply(
            &[ContentChange::DeleteProject {
                site,
                id: project.id,
            }],
            &events,
        )
        .await?;
    state.after_publish(&published);
    Ok(Reply::no_content())
}
