//! Workbooks: publish (new or overwrite), query, get, update, delete, refresh, connections and
//! views. Changes fire WorkbookCreated, Updated or Deleted; an overwrite that drops sheets fires
//! ViewDeleted for each; refreshes fire Started and then Succeeded or Failed.

use axum::{
    Router,
    body::Body,
    extract::State,
    http::HeaderMap,
    routing::{get, post, put},
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{EventKind, SiteId, UserId, ViewId, WorkbookId, parse_bool};
use vizhook_store::{ContentChange, ContentRef, View, Workbook};

use super::{
    content::{
        build_connections, load_project, load_workbook, may_modify, may_publish, similar_meanwhile,
        target_project, workbook_not_found,
    },
    item::{self, Item, PathItem},
    wire::content::{project_id, view_element, workbook_element},
};
use vizhook_delivery::{event_at, new_event};

use crate::{
    api::{
        auth::SiteCaller,
        error::{ApiError, ApiResult},
        extract::{QueryParams, TsRequest},
        format::{Element, Reply},
        version::Version,
    },
    content::{files::FileKind, publish},
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/sites/{site_id}/workbooks",
            get(item::list::<Workbook>).post(publish_workbook),
        )
        .route(
            "/sites/{site_id}/workbooks/{workbook_id}",
            get(item::fetch::<Workbook>)
                .put(update)
                .delete(item::remove::<Workbook>),
        )
        .route(
            "/sites/{site_id}/workbooks/{workbook_id}/refresh",
            post(item::refresh::<Workbook>),
        )
        .route("/sites/{site_id}/workbooks/{workbook_id}/views", get(views))
        .route(
            "/sites/{site_id}/workbooks/{workbook_id}/connections",
            get(item::connections::<Workbook>),
        )
        .route(
            "/sites/{site_id}/workbooks/{workbook_id}/connections/{connection_id}",
            put(item::set_connection::<Workbook>),
        )
}

impl Item for Workbook {
    type Id = WorkbookId;
    const PARAM: &'static str = "workbook_id";
    const LIST: &'static str = "workbooks";
    const NOUN: &'static str = "workbook";
    const UPDATED: EventKind = EventKind::WorkbookUpdated;
    const DELETED: EventKind = EventKind::WorkbookDeleted;

    fn not_found(raw: &str) -> ApiError {
        workbook_not_found(raw)
    }

    fn content_ref(id: WorkbookId) -> ContentRef {
        ContentRef::Workbook(id)
    }

    fn delete(site: SiteId, id: WorkbookId) -> ContentChange {
        ContentChange::DeleteWorkbook { site, id }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn owner(&self) -> UserId {
        self.owner_id
    }

    async fn load(state: &AppState, site: SiteId, id: WorkbookId) -> ApiResult<Self> {
        load_workbook(state, site, id).await
    }

    async fn all(state: &AppState, site: SiteId) -> ApiResult<Vec<Self>> {
        Ok(state.store.workbooks(site).await?)
    }

    async fn element(&self, state: &AppState) -> ApiResult<Element> {
        element(state, self).await
    }

    /// Each workbook with its project and views.
    async fn elements(items: &[Self], state: &AppState, _site: SiteId) -> ApiResult<Vec<Element>> {
        let mut elements = Vec::with_capacity(items.len());
        for workbook in items {
            elements.push(element(state, workbook).await?);
        }
        Ok(elements)
    }
}

pub(super) async fn element(state: &AppState, workbook: &Workbook) -> ApiResult<Element> {
    let project = load_project(state, workbook.site_id, workbook.project_id).await?;
    let views = state
        .store
        .views(workbook.site_id, Some(workbook.id))
        .await?;
    Ok(workbook_element(workbook, &project, &views))
}

/// The views a published workbook has: its sheets, reusing the ids of sheets that existed.
fn views_for(workbook: &Workbook, names: &[String], previous: &[View]) -> Vec<View> {
    let names: Vec<String> = if names.is_empty() {
        vec!["Sheet 1".to_owned()]
    } else {
        names.to_vec()
    };
    names
        .iter()
        .map(|name| {
            let sheet: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
            previous
                .iter()
                .find(|v| &v.name == name)
                .cloned()
                .unwrap_or_else(|| View {
                    id: ViewId::from_uuid(Uuid::new_v4()),
                    site_id: workbook.site_id,
                    workbook_id: workbook.id,
                    name: name.clone(),
                    content_url: format!("{}/sheets/{sheet}", workbook.content_url),
                    created_at: workbook.updated_at,
                })
        })
        .collect()
}

/// `POST …/workbooks?workbookType=twbx[&overwrite=true]`, multipart.
async fn publish_workbook(
    State(state): State<AppState>,
    Version(version): Version,
    SiteCaller(caller): SiteCaller,
    query: QueryParams,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let upload = publish::read(&state, &caller, &query, &headers, body).await?;
    let request = upload.request.required("workbook")?;
    let name = request.get("name").map(str::trim).filter(|n| !n.is_empty());
    let name = name
        .ok_or_else(|| ApiError::bad_request("A workbook needs a name attribute."))?
        .to_owned();
    let kind = query
        .get("workbookType")
        .and_then(FileKind::parse)
        .or_else(|| FileKind::from_file_name(&upload.file.name))
        .filter(|kind| matches!(kind, FileKind::Twb | FileKind::Twbx))
        .ok_or_else(|| ApiError::bad_request("workbookType must be twb or twbx."))?;
    let contents = upload
        .file
        .inspect(kind)
        .await
        .map(|i| i.contents)
        .map_err(|err| {
            ApiError::bad_request(format!(
                "The published workbook file could not be read: {err}."
            ))
        })?;
    let site = caller.0.site.id;
    let project = target_project(&state, site, project_id(request)?).await?;
    let all = state.store.workbooks(site).await?;
    let existing = all
        .iter()
        .find(|w| w.project_id == project.id && w.name.eq_ignore_ascii_case(&name));
    let now = OffsetDateTime::now_utc();
    let show_tabs = request
        .get("showTabs")
        .map(parse_bool)
        .transpose()?
        .flatten();
    let overwrite = query
        .get("overwrite")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (workbook, kind_of_event) = match existing {
        Some(_) if !overwrite => return Err(name_taken(&name, &project.name)),
        Some(existing) => {
            may_modify(&caller, existing.owner_id)?;
            let updated = Workbook {
                show_tabs: show_tabs.unwrap_or(existing.show_tabs),
                size: upload.file.size,
                updated_at: now,
                ..existing.clone()
            };
            (updated, EventKind::WorkbookUpdated)
        }
        None => {
            let taken: Vec<&str> = all.iter().map(|w| w.content_url.as_str()).collect();
            let created = Workbook {
                id: WorkbookId::from_uuid(Uuid::new_v4()),
                site_id: site,
                project_id: project.id,
                owner_id: caller.0.user.id,
                content_url: vizhook_core::content::content_url(&name, &taken),
                name,
                description: request.get("description").unwrap_or_default().to_owned(),
                show_tabs: show_tabs.unwrap_or(false),
                size: upload.file.size,
                created_at: now,
                updated_at: now,
            };
            (created, EventKind::WorkbookCreated)
        }
    };
    let target = ContentRef::Workbook(workbook.id);
    let previous_views = state.store.views(site, Some(workbook.id)).await?;
    let views = views_for(&workbook, &contents.views, &previous_views);
    let previous_connections = state.store.connections(site, target).await?;
    let connections = build_connections(
        site,
        target,
        &contents.connections,
        request,
        &previous_connections,
    );
    let mut events = vec![new_event(
        site,
        kind_of_event,
        &workbook.name,
        &workbook.id.to_string(),
    )];
    for dropped in previous_views
        .iter()
        .filter(|old| !views.iter().any(|v| v.id == old.id))
    {
        events.push(event_at(
            site,
            EventKind::ViewDeleted,
            EventKind::ViewDeleted.default_resource(),
            &dropped.name,
            &dropped.id.to_string(),
            now,
        ));
    }
    let change = ContentChange::SaveWorkbook {
        workbook: workbook.clone(),
        views: Some(views.clone()),
        connections: Some(connections),
    };
    let published = state
        .store
        .apply(&[change], &events)
        .await
        .map_err(|err| {
            let on_name = err.is_conflict_on("workbooks.name");
            // The content URL comes from the name, so either index may report a race of one name.
            if (on_name || err.is_conflict_on("workbooks.content_url")) && overwrite {
                ApiError::conflict(format!(
                    "A workbook named '{}' was published by another request at the same time; try again to overwrite it.",
                    workbook.name
                ))
            } else if on_name {
                name_taken(&workbook.name, &project.name)
            } else if err.is_conflict_on("workbooks.content_url") {
                similar_meanwhile("workbook")
            } else {
                err.into()
            }
        })?;
    state.after_publish(&published);
    tracing::info!(workbook = %workbook.id, event = %kind_of_event, "workbook published");
    let location = format!(
        "/api/{}.{}/sites/{site}/workbooks/{}",
        version.major, version.minor, workbook.id
    );
    Ok(Reply::created(
        workbook_element(&workbook, &project, &views),
        location,
    ))
}

/// A publish without `overwrite=true` of a name that its project already has.
fn name_taken(name: &str, project: &str) -> ApiError {
    ApiError::conflict(format!(
        "A workbook named '{name}' already exists in project '{project}'; publish with overwrite=true to replace it."
    ))
}

async fn update(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<Workbook>,
    request: TsRequest,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let mut workbook = load_workbook(&state, site, id).await?;
    may_modify(&caller, workbook.owner_id)?;
    let input = request.required("workbook")?;
    if let Some(name) = input.get("name").map(str::trim).filter(|n| !n.is_empty()) {
        workbook.name = name.to_owned();
    }
    if let Some(description) = input.get("description") {
        workbook.description = description.to_owned();
    }
    if let Some(show_tabs) = input.get("showTabs").map(parse_bool).transpose()?.flatten() {
        workbook.show_tabs = show_tabs;
    }
    if let Some(project) = project_id(input)? {
        workbook.project_id = load_project(&state, site, project).await?.id;
    }
    if let Some(owner) = input.find("owner").and_then(|o| o.get("id")) {
        let owner = owner
            .parse()
            .map_err(|_| ApiError::user_not_found(format!("User '{owner}' could not be found.")))?;
        state.store.user(site, owner).await?.ok_or_else(|| {
            ApiError::user_not_found(format!("User '{owner}' could not be found."))
        })?;
        workbook.owner_id = owner;
    }
    workbook.updated_at = OffsetDateTime::now_utc();
    let event = new_event(
        site,
        EventKind::WorkbookUpdated,
        &workbook.name,
        &id.to_string(),
    );
    let change = ContentChange::SaveWorkbook {
        workbook: workbook.clone(),
        views: None,
        connections: None,
    };
    let published = state
        .store
        .apply(&[change], &[event])
        .await
        .map_err(ApiError::on_conflict("workbooks.name", || {
            ApiError::conflict(format!(
                "A workbook named '{}' already exists in that project.",
                workbook.name
            ))
        }))?;
    state.after_publish(&published);
    Ok(Reply::ok(element(&state, &workbook).await?))
}

async fn views(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<Workbook>,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let workbook = load_workbook(&state, site, id).await?;
    let views = state.store.views(site, Some(id)).await?;
    Ok(Reply::ok(Element::list(
        "views",
        views.iter().map(|v| view_element(v, &workbook)),
    )))
}
