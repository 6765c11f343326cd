//! The sites resource: create, query, get, update and delete. Who may do which is decided by
//! `api::authz`: creating, listing and deleting sites is for server administrators; a site
//! administrator may read their own site and rename it, but not change its admin mode or state.

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{ContentUrl, EventKind, ProjectId, SiteId, UserId, authz::SiteAction};
use vizhook_store::{Project, Site, StoreError};

use super::{page::Page, wire::site_element};
use vizhook_delivery::new_event;

use crate::{
    api::{
        auth::{Caller, site_not_found},
        authz,
        error::{ApiError, ApiResult},
        extract::{QueryParams, TsRequest},
        format::{Element, Reply},
        version::Version,
    },
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites", get(list).post(create))
        .route("/sites/{site_id}", get(fetch).put(update).delete(remove))
}

/// The project every new site starts with.
pub(crate) fn default_project(site: &Site, owner: UserId) -> Project {
    Project {
        id: ProjectId::from_uuid(Uuid::new_v4()),
        site_id: site.id,
        name: vizhook_core::content::DEFAULT_PROJECT.to_owned(),
        description: vizhook_core::content::DEFAULT_PROJECT_DESCRIPTION.to_owned(),
        parent_id: None,
        owner_id: owner,
        created_at: site.created_at,
        updated_at: site.created_at,
    }
}

const ADMIN_MODES: [&str; 2] = ["ContentAndUsers", "ContentOnly"];
const STATES: [&str; 2] = ["Active", "Suspended"];

fn one_of(field: &str, value: &str, allowed: &[&str]) -> ApiResult<String> {
    allowed
        .iter()
        .find(|candidate| candidate.eq_ignore_ascii_case(value))
        .map(|found| (*found).to_owned())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field} must be one of {}, not '{value}'.",
                allowed.join(", ")
            ))
        })
}

fn site_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("A site needs a non-empty name."));
    }
    Ok(name.to_owned())
}

/// Refuses a name or content URL that another site already uses.
async fn check_unique(state: &AppState, site: &Site) -> ApiResult<()> {
    if let Some(other) = state.store.site_by_name(&site.name).await?
        && other.id != site.id
    {
        return Err(name_taken(site));
    }
    if let Some(other) = state.store.site_by_content_url(&site.content_url).await?
        && other.id != site.id
    {
        return Err(content_url_taken(site));
    }
    Ok(())
}

fn name_taken(site: &Site) -> ApiError {
    ApiError::site_name_conflict(format!("A site named '{}' already exists.", site.name))
}

fn content_url_taken(site: &Site) -> ApiError {
    ApiError::site_url_conflict(format!(
        "A site with the content URL '{}' already exists.",
        site.content_url
    ))
}

/// The store's answer when a concurrent request took the name or content URL after
/// [`check_unique`] passed.
fn taken_meanwhile(site: &Site, error: StoreError) -> ApiError {
    if error.is_conflict_on("sites.name") {
        name_taken(site)
    } else if error.is_conflict_on("sites.content_url") {
        content_url_taken(site)
    } else {
        error.into()
    }
}

async fn create(
    State(state): State<AppState>,
    Version(version): Version,
    caller: Caller,
    request: TsRequest,
) -> ApiResult<Reply> {
    authz::site(&caller, SiteAction::ManageAll)?;
    let element = request.required("site")?;
    let name = site_name(element.get("name").unwrap_or_default())?;
    let content_url = element
        .get("contentUrl")
        .ok_or_else(|| ApiError::bad_request("A site needs a contentUrl attribute."))?;
    let content_url = ContentUrl::parse(content_url)?;
    let now = OffsetDateTime::now_utc();
    let site = Site {
        id: SiteId::from_uuid(Uuid::new_v4()),
        name,
        content_url,
        admin_mode: one_of(
            "adminMode",
            element.get("adminMode").unwrap_or("ContentAndUsers"),
            &ADMIN_MODES,
        )?,
        state: one_of("state", element.get("state").unwrap_or("Active"), &STATES)?,
        created_at: now,
        updated_at: now,
    };
    check_unique(&state, &site).await?;
    let caller = &caller.0;
    let project = default_project(&site, caller.user.id);
    // The new site has no webhooks yet: SiteCreated goes to the webhooks of the caller's site.
    let event = new_event(
        caller.site.id,
        EventKind::SiteCreated,
        &site.name,
        &site.id.to_string(),
    );
    let published = state
        .store
        .create_site(&site, &project, &[event])
        .await
        .map_err(|err| taken_meanwhile(&site, err))?;
    state.after_publish(&published);
    tracing::info!(site = %site.id, content_url = %site.content_url, "site created");
    let location = format!("/api/{}.{}/sites/{}", version.major, version.minor, site.id);
    Ok(Reply::created(site_element(&site), location))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryParams,
) -> ApiResult<Reply> {
    // tableauserverclient's `get_by_content_url("")` asks for `sites/?key=contentUrl`, whose
    // trailing slash is trimmed before routing: a query for the Default site, not a listing.
    if query.get("key").is_some() {
        let site = resolve(&state, "", &query).await?;
        authz::site(&caller, SiteAction::Read { site: site.id })?;
        return Ok(Reply::ok(site_element(&site)));
    }
    authz::site(&caller, SiteAction::ManageAll)?;
    let (sites, pagination) = Page::from_query(&query)?.apply(state.store.sites().await?);
    Ok(Reply::ok_many(vec![
        pagination,
        Element::list("sites", sites.iter().map(site_element)),
    ]))
}

/// Finds the site named by the path: by id, or by name or content URL with `?key=`.
async fn resolve(state: &AppState, raw: &str, query: &QueryParams) -> ApiResult<Site> {
    let found = match query.get("key").map(str::to_ascii_lowercase).as_deref() {
        None | Some("id") => match raw.parse::<SiteId>() {
            Ok(id) => state.store.site(id).await?,
            Err(_) => None,
        },
        Some("name") => state.store.site_by_name(raw).await?,
        Some("contenturl") => match ContentUrl::parse(raw) {
            Ok(url) => state.store.site_by_content_url(&url).await?,
            Err(_) => None,
        },
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "key must be id, name or contentUrl, not '{other}'."
            )));
        }
    };
    found.ok_or_else(|| site_not_found(raw))
}

async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    query: QueryParams,
) -> ApiResult<Reply> {
    let site = resolve(&state, &raw, &query).await?;
    authz::site(&caller, SiteAction::Read { site: site.id })?;
    Ok(Reply::ok(site_element(&site)))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    request: TsRequest,
) -> ApiResult<Reply> {
    let mut site = resolve(&state, &raw, &QueryParams::default()).await?;
    authz::site(
        &caller,
        SiteAction::Update {
            site: site.id,
            settings: false,
        },
    )?;
    let element = request.required("site")?;
    let (mode, state_before) = (site.admin_mode.clone(), site.state.clone());
    if let Some(name) = element.get("name") {
        site.name = site_name(name)?;
    }
    if let Some(content_url) = element.get("contentUrl") {
        let content_url = ContentUrl::parse(content_url)?;
        if content_url.as_str().is_empty() != site.content_url.as_str().is_empty() {
            return Err(ApiError::bad_request(
                "Only the Default site has an empty content URL.",
            ));
        }
        site.content_url = content_url;
    }
    if let Some(mode) = element.get("adminMode") {
        site.admin_mode = one_of("adminMode", mode, &ADMIN_MODES)?;
    }
    if let Some(value) = element.get("state") {
        site.state = one_of("state", value, &STATES)?;
    }
    if site.admin_mode != mode || site.state != state_before {
        authz::site(
            &caller,
            SiteAction::Update {
                site: site.id,
                settings: true,
            },
        )?;
    }
    site.updated_at = OffsetDateTime::now_utc();
    check_unique(&state, &site).await?;
    let event = new_event(
        site.id,
        EventKind::SiteUpdated,
        &site.name,
        &site.id.to_string(),
    );
    let published = state
        .store
        .update_site(&site, &[event])
        .await
        .map_err(|err| match err {
            StoreError::NotFound => site_not_found(&raw),
            other => taken_meanwhile(&site, other),
        })?;
    state.after_publish(&published);
    tracing::info!(site = %site.id, "site updated");
    Ok(Reply::ok(site_element(&site)))
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
    query: QueryParams,
) -> ApiResult<Reply> {
    authz::site(&caller, SiteAction::ManageAll)?;
    let site = resolve(&state, &raw, &query).await?;
    if site.content_url.as_str().is_empty() {
        return Err(ApiError::forbidden("The Default site cannot be deleted."));
    }
    // The deleted site's webhooks go with it: SiteDeleted goes to the caller's site, or to
    // the Default site when the caller deletes the site they are signed in to.
    let caller_site = caller.0.site.id;
    let audience = if caller_site == site.id {
        state
            .store
            .site_by_content_url(&ContentUrl::default_site())
            .await?
            .map_or(caller_site, |s| s.id)
    } else {
        caller_site
    };
    let event = new_event(
        audience,
        EventKind::SiteDeleted,
        &site.name,
        &site.id.to_string(),
    );
    let published = state
        .store
        .delete_site(site.id, &[event])
        .await
        .map_err(|err| match err {
            StoreError::NotFound => site_not_found(&raw),
            other => taken_meanwhile(&site, other),
        })?;
    state.after_publish(&published);
    tracing::info!(site = %site.id, "site deleted");
    Ok(Reply::no_content())
}
