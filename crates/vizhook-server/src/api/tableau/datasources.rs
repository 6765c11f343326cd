//! Data sources: publish (new, overwrite, append), query, get, update, delete, refresh, and
//! their connections. Each change fires its DatasourceCreated, Updated or Deleted event in the
//! same transaction; refreshes fire Started and then Succeeded or Failed.

use axum::{
    Router,
    body::Body,
    extract::State,
    http::HeaderMap,
    routing::{get, post, put},
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{DatasourceId, EventKind, SiteId, UserId, parse_bool};
use vizhook_store::{ContentChange, ContentRef, Datasource};

use super::{
    content::{
        build_connections, datasource_not_found, load_datasource, load_project, may_modify,
        may_publish, similar_meanwhile, target_project,
    },
    item::{self, Item, PathItem},
    wire::content::{datasource_element, project_id},
};
use vizhook_delivery::new_event;

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
            "/sites/{site_id}/datasources",
            get(item::list::<Datasource>).post(publish_datasource),
        )
        .route(
            "/sites/{site_id}/datasources/{datasource_id}",
            get(item::fetch::<Datasource>)
                .put(update)
                .delete(item::remove::<Datasource>),
        )
        .route(
            "/sites/{site_id}/datasources/{datasource_id}/refresh",
            post(item::refresh::<Datasource>),
        )
        .route(
            "/sites/{site_id}/datasources/{datasource_id}/connections",
            get(item::connections::<Datasource>),
        )
        .route(
            "/sites/{site_id}/datasources/{datasource_id}/connections/{connection_id}",
            put(item::set_connection::<Datasource>),
        )
}

impl Item for Datasource {
    type Id = DatasourceId;
    const PARAM: &'static str = "datasource_id";
    const LIST: &'static str = "datasources";
    const NOUN: &'static str = "data source";
    const UPDATED: EventKind = EventKind::DatasourceUpdated;
    const DELETED: EventKind = EventKind::DatasourceDeleted;

    fn not_found(raw: &str) -> ApiError {
        datasource_not_found(raw)
    }

    fn content_ref(id: DatasourceId) -> ContentRef {
        ContentRef::Datasource(id)
    }

    fn delete(site: SiteId, id: DatasourceId) -> ContentChange {
        ContentChange::DeleteDatasource { site, id }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn owner(&self) -> UserId {
        self.owner_id
    }

    async fn load(state: &AppState, site: SiteId, id: DatasourceId) -> ApiResult<Self> {
        load_datasource(state, site, id).await
    }

    async fn all(state: &AppState, site: SiteId) -> ApiResult<Vec<Self>> {
        Ok(state.store.datasources(site).await?)
    }

    async fn element(&self, state: &AppState) -> ApiResult<Element> {
        element(state, self).await
    }

    /// One read of the site's projects for the whole page.
    async fn elements(items: &[Self], state: &AppState, site: SiteId) -> ApiResult<Vec<Element>> {
        let projects = state.store.projects(site).await?;
        Ok(items
            .iter()
            .filter_map(|d| {
                projects
                    .iter()
                    .find(|p| p.id == d.project_id)
                    .map(|p| datasource_element(d, p))
            })
            .collect())
    }
}

async fn element(state: &AppState, datasource: &Datasource) -> ApiResult<Element> {
    let project = load_project(state, datasource.site_id, datasource.project_id).await?;
    Ok(datasource_element(datasource, &project))
}

/// `POST …/datasources?datasourceType=tdsx[&overwrite=true|&append=true]`, multipart.
async fn publish_datasource(
    State(state): State<AppState>,
    Version(version): Version,
    SiteCaller(caller): SiteCaller,
    query: QueryParams,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let upload = publish::read(&state, &caller, &query, &headers, body).await?;
    let request = upload.request.required("datasource")?;
    let name = request.get("name").map(str::trim).filter(|n| !n.is_empty());
    let name = name
        .ok_or_else(|| ApiError::bad_request("A data source needs a name attribute."))?
        .to_owned();
    let kind = query
        .get("datasourceType")
        .and_then(FileKind::parse)
        .or_else(|| FileKind::from_file_name(&upload.file.name))
        .filter(|kind| matches!(kind, FileKind::Tds | FileKind::Tdsx | FileKind::Extract))
        .ok_or_else(|| {
            ApiError::bad_request("datasourceType must be tds, tdsx, tde, hyper or parquet.")
        })?;
    let inspected = upload.file.inspect(kind).await.map_err(|err| {
        ApiError::bad_request(format!(
            "The published data source file could not be read: {err}."
        ))
    })?;
    let site = caller.0.site.id;
    let project = target_project(&state, site, project_id(request)?).await?;
    let flag = |key: &str| {
        query
            .get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    let all = state.store.datasources(site).await?;
    let existing = all
        .iter()
        .find(|d| d.project_id == project.id && d.name.eq_ignore_ascii_case(&name));
    let now = OffsetDateTime::now_utc();
    let (datasource, kind_of_event) = match existing {
        Some(_) if !flag("overwrite") && !flag("append") => {
            return Err(name_taken(&name, &project.name));
        }
        Some(existing) => {
            may_modify(&caller, existing.owner_id)?;
            let updated = Datasource {
                file_type: file_type(kind, &upload.file.name, query.get("datasourceType")),
                description: request
                    .get("description")
                    .map_or_else(|| existing.description.clone(), str::to_owned),
                has_extracts: inspected.has_extract,
                size: upload.file.size,
                updated_at: now,
                ..existing.clone()
            };
            (updated, EventKind::DatasourceUpdated)
        }
        None => {
            let taken: Vec<&str> = all.iter().map(|d| d.content_url.as_str()).collect();
            let created = Datasource {
                id: DatasourceId::from_uuid(Uuid::new_v4()),
                site_id: site,
                project_id: project.id,
                owner_id: caller.0.user.id,
                content_url: vizhook_core::content::content_url(&name, &taken),
                name,
                file_type: file_type(kind, &upload.file.name, query.get("datasourceType")),
                description: request.get("description").unwrap_or_default().to_owned(),
                is_certified: request
                    .get("isCertified")
                    .map(parse_bool)
                    .transpose()?
                    .flatten()
                    .unwrap_or(false),
                certification_note: request
                    .get("certificationNote")
                    .unwrap_or_default()
                    .to_owned(),
                has_extracts: inspected.has_extract,
                size: upload.file.size,
                created_at: now,
                updated_at: now,
            };
            (created, EventKind::DatasourceCreated)
        }
    };
    let target = ContentRef::Datasource(datasource.id);
    let previous = state.store.connections(site, target).await?;
    let connections = build_connections(
        site,
        target,
        &inspected.contents.connections,
        request,
        &previous,
    );
    let event = new_event(
        site,
        kind_of_event,
        &datasource.name,
        &datasource.id.to_string(),
    );
    let change = ContentChange::SaveDatasource {
        datasource: datasource.clone(),
        connections: Some(connections),
    };
    let published = state
        .store
        .apply(&[change], &[event])
        .await
        .map_err(|err| {
            let on_name = err.is_conflict_on("datasources.name");
            // The content URL comes from the name, so either index may report a race of one name.
            if (on_name || err.is_conflict_on("datasources.content_url"))
                && (flag("overwrite") || flag("append"))
            {
                published_meanwhile(&datasource.name)
            } else if on_name {
                name_taken(&datasource.name, &project.name)
            } else if err.is_conflict_on("datasources.content_url") {
                similar_meanwhile("data source")
            } else {
                err.into()
            }
        })?;
    state.after_publish(&published);
    tracing::info!(datasource = %datasource.id, event = %kind_of_event, "data source published");
    let location = format!(
        "/api/{}.{}/sites/{site}/datasources/{}",
        version.major, version.minor, datasource.id
    );
    Ok(Reply::created(
        datasource_element(&datasource, &project),
        location,
    ))
}

/// The file's type: its kind, or for an extract its extension, or (a chunked upload has no
/// file name) the `datasourceType` asked for.
fn file_type(kind: FileKind, file_name: &str, asked: Option<&str>) -> String {
    match kind {
        FileKind::Tds => "tds".to_owned(),
        FileKind::Tdsx => "tdsx".to_owned(),
        _ => file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext)
            .or(asked)
            .unwrap_or("hyper")
            .to_ascii_lowercase(),
    }
}

/// An overwrite of a new name that another request published first, between this one's
/// check and its write.
fn published_meanwhile(name: &str) -> ApiError {
    ApiError::conflict(format!(
        "A data source named '{name}' was published by another request at the same time; try again to overwrite it."
    ))
}

/// A publish without `overwrite=true` of a name that its project already has.
fn name_taken(name: &str, project: &str) -> ApiError {
    ApiError::conflict(format!(
        "A data source named '{name}' already exists in project '{project}'; publish with overwrite=true to replace it."
    ))
}

async fn update(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<Datasource>,
    request: TsRequest,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let mut datasource = load_datasource(&state, site, id).await?;
    may_modify(&caller, datasource.owner_id)?;
    let input = request.required("datasource")?;
    if let Some(name) = input.get("name").map(str::trim).filter(|n| !n.is_empty()) {
        datasource.name = name.to_owned();
    }
    if let Some(description) = input.get("description") {
        datasource.description = description.to_owned();
    }
    if let Some(certified) = input
        .get("isCertified")
        .map(parse_bool)
        .transpose()?
        .flatten()
    {
        datasource.is_certified = certified;
    }
    if let Some(note) = input.get("certificationNote") {
        datasource.certification_note = note.to_owned();
    }
    if let Some(project) = project_id(input)? {
        datasource.project_id = load_project(&state, site, project).await?.id;
    }
    if let Some(owner) = input.find("owner").and_then(|o| o.get("id")) {
        let owner = owner
            .parse()
            .map_err(|_| ApiError::user_not_found(format!("User '{owner}' could not be found.")))?;
        state.store.user(site, owner).await?.ok_or_else(|| {
            ApiError::user_not_found(format!("User '{owner}' could not be found."))
        })?;
        datasource.owner_id = owner;
    }
    datasource.updated_at = OffsetDateTime::now_utc();
    let event = new_event(
        site,
        EventKind::DatasourceUpdated,
        &datasource.name,
        &id.to_string(),
    );
    let change = ContentChange::SaveDatasource {
        datasource: datasource.clone(),
        connections: None,
    };
    let published = state
        .store
        .apply(&[change], &[event])
        .await
        .map_err(ApiError::on_conflict("datasources.name", || {
            ApiError::conflict(format!(
                "A data source named '{}' already exists in that project.",
                datasource.name
            ))
        }))?;
    state.after_publish(&published);
    Ok(Reply::ok(element(&state, &datasource).await?))
}
