//! Views: query a site's views, get one, delete one (ViewDeleted; deleting a workbook's last
//! view deletes the workbook too, with WorkbookDeleted).

use axum::{
    Router,
    extract::{FromRequestParts, State},
    http::request::Parts,
    routing::get,
};
use vizhook_core::{EventKind, ViewId};
use vizhook_store::ContentChange;

use super::{
    content::{load_workbook, may_modify},
    page::Page,
    wire::content::view_element,
};
use vizhook_delivery::new_event;

use crate::{
    api::{
        auth::SiteCaller,
        error::{ApiError, ApiResult},
        extract::{QueryParams, path_id},
        format::{Element, Reply},
    },
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site_id}/views", get(list))
        .route(
            "/sites/{site_id}/views/{view_id}",
            get(fetch).delete(remove),
        )
}

struct PathView(ViewId);

impl<S: Send + Sync> FromRequestParts<S> for PathView {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, "view_id", not_found).await.map(Self)
    }
}

fn not_found(raw: &str) -> ApiError {
    ApiError::view_not_found(format!("View '{raw}' could not be found."))
}

async fn list(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    query: QueryParams,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let workbooks = state.store.workbooks(site).await?;
    let (views, pagination) = Page::from_query(&query)?.apply(state.store.views(site, None).await?);
    let items = views.iter().filter_map(|v| {
        workbooks
            .iter()
            .find(|w| w.id == v.workbook_id)
            .map(|w| view_element(v, w))
    });
    Ok(Reply::ok_many(vec![
        pagination,
        Element::list("views", items),
    ]))
}

async fn fetch(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathView(id): PathView,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let view = state
        .store
        .view(site, id)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))?;
    let workbook = load_workbook(&state, site, view.workbook_id).await?;
    Ok(Reply::ok(view_element(&view, &workbook)))
}

async fn remove(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathView(id): PathView,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let view = state
        .store
        .view(site, id)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))?;
    let workbook = load_workbook(&state, site, view.workbook_id).await?;
    may_modify(&caller, workbook.owner_id)?;
    let mut changes = vec![ContentChange::DeleteView { site, id }];
    let mut events = vec![new_event(
        site,
        EventKind::ViewDeleted,
        &view.name,
        &id.to_string(),
    )];
    if state.store.views(site, Some(workbook.id)).await?.len() == 1 {
        changes.push(ContentChange::DeleteWorkbook {
            site,
            id: workbook.id,
        });
        events.push(new_event(
            site,
            EventKind::WorkbookDeleted,
            &workbook.name,
            &workbook.id.to_string(),
        ));
    }
    let published = state.store.apply(&changes, &events).await?;
    state.after_publish(&published);
    tracing::info!(view = %id, "view deleted");
    Ok(Reply::no_content())
}
