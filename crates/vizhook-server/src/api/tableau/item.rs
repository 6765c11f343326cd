//! What data sources and workbooks share, written once: the content-item contract ([`Item`])
//! and the handlers that are the same for both (list, get, delete, refresh, connections and
//! updating a connection), generic over it. Publishing and updating an item differ and stay in
//! `datasources.rs` and `workbooks.rs`.

use std::{fmt::Display, future::Future, marker::PhantomData, str::FromStr};

use axum::{
    extract::{FromRequestParts, State},
    http::request::Parts,
};
use vizhook_core::{ConnectionId, EventKind, SiteId, UserId};
use vizhook_delivery::new_event;
use vizhook_store::{ContentChange, ContentRef};

use super::{
    content::{may_modify, start_refresh, update_connection},
    page::Page,
    wire::content::connection_element,
};
use crate::{
    api::{
        auth::SiteCaller,
        error::{ApiError, ApiResult},
        extract::{QueryParams, TsRequest, path_id},
        format::{Element, Reply},
    },
    state::AppState,
};

/// A kind of published content: a data source or a workbook.
pub(super) trait Item: Sized + Send + Sync + 'static {
    type Id: FromStr + Display + Copy + Send + Sync + 'static;
    /// The id's path parameter (`datasource_id`).
    const PARAM: &'static str;
    /// The list element (`datasources`).
    const LIST: &'static str;
    /// What log lines call it (`data source`).
    const NOUN: &'static str;
    const UPDATED: EventKind;
    const DELETED: EventKind;

    fn not_found(raw: &str) -> ApiError;
    fn content_ref(id: Self::Id) -> ContentRef;
    fn delete(site: SiteId, id: Self::Id) -> ContentChange;
    fn name(&self) -> &str;
    fn owner(&self) -> UserId;

    /// The item with this id on `site`, or its not-found error.
    fn load(
        state: &AppState,
        site: SiteId,
        id: Self::Id,
    ) -> impl Future<Output = ApiResult<Self>> + Send;
    /// Every item of `site`.
    fn all(state: &AppState, site: SiteId) -> impl Future<Output = ApiResult<Vec<Self>>> + Send;
    /// The item's element, with what it shows of its project (and views).
    fn element(&self, state: &AppState) -> impl Future<Output = ApiResult<Element>> + Send;
    /// The elements of a page of items, read as cheaply as the kind allows.
    fn elements(
        items: &[Self],
        state: &AppState,
        site: SiteId,
    ) -> impl Future<Output = ApiResult<Vec<Element>>> + Send;
}

/// The item id in the path.
pub(super) struct PathItem<I: Item>(pub(super) I::Id, pub(super) PhantomData<I>);

impl<I: Item, S: Send + Sync> FromRequestParts<S> for PathItem<I> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let id = path_id(parts, I::PARAM, I::not_found).await?;
        Ok(Self(id, PhantomData))
    }
}

/// The `{connection_id}` in the path.
pub(super) struct ConnectionPath(pub(super) ConnectionId);

impl<S: Send + Sync> FromRequestParts<S> for ConnectionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, "connection_id", connection_not_found)
            .await
            .map(Self)
    }
}

pub(super) fn connection_not_found(raw: &str) -> ApiError {
    ApiError::connection_not_found(format!("Connection '{raw}' could not be found."))
}

/// `GET …/{items}`: a page of the site's items.
pub(super) async fn list<I: Item>(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    query: QueryParams,
) -> ApiResult<Reply> {
    let page = Page::from_query(&query)?;
    let site = caller.0.site.id;
    let (items, pagination) = page.apply(I::all(&state, site).await?);
    let elements = I::elements(&items, &state, site).await?;
    Ok(Reply::ok_many(vec![
        pagination,
        Element::list(I::LIST, elements),
    ]))
}

/// `GET …/{items}/{id}`.
pub(super) async fn fetch<I: Item>(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<I>,
) -> ApiResult<Reply> {
    let item = I::load(&state, caller.0.site.id, id).await?;
    Ok(Reply::ok(item.element(&state).await?))
}

/// `DELETE …/{items}/{id}`: fires its Deleted event.
pub(super) async fn remove<I: Item>(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<I>,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let item = I::load(&state, site, id).await?;
    may_modify(&caller, item.owner())?;
    let event = new_event(site, I::DELETED, item.name(), &id.to_string());
    let published = state.store.apply(&[I::delete(site, id)], &[event]).await?;
    state.after_publish(&published);
    tracing::info!(id = %id, "{} deleted", I::NOUN);
    Ok(Reply::no_content())
}

/// `POST …/{items}/{id}/refresh` ("Update Now"): 202 with the job; the refresh runs in the
/// background.
pub(super) async fn refresh<I: Item>(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<I>,
    _request: TsRequest,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let item = I::load(&state, site, id).await?;
    may_modify(&caller, item.owner())?;
    start_refresh(&state, site, I::content_ref(id), item.name()).await
}

/// `GET …/{items}/{id}/connections`.
pub(super) async fn connections<I: Item>(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<I>,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let item = I::load(&state, site, id).await?;
    let connections = state.store.connections(site, I::content_ref(id)).await?;
    let elements = connections
        .iter()
        .map(|c| connection_element(c, item.name()));
    Ok(Reply::ok(Element::list("connections", elements)))
}

/// `PUT …/{items}/{id}/connections/{connection_id}`: changes a connection's server, port,
/// user name or embedded password; fires the item's Updated event.
pub(super) async fn set_connection<I: Item>(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathItem(id, _): PathItem<I>,
    ConnectionPath(connection_id): ConnectionPath,
    request: TsRequest,
) -> ApiResult<Reply> {
    let site = caller.0.site.id;
    let item = I::load(&state, site, id).await?;
    may_modify(&caller, item.owner())?;
    let mut connection = state
        .store
        .connections(site, I::content_ref(id))
        .await?
        .into_iter()
        .find(|c| c.id == connection_id)
        .ok_or_else(|| connection_not_found(&connection_id.to_string()))?;
    update_connection(&mut connection, request.required("connection")?)?;
    let event = new_event(site, I::UPDATED, item.name(), &id.to_string());
    let published = state
        .store
        .apply(
            &[ContentChange::SaveConnection(connection.clone())],
            &[event],
        )
        .await?;
    state.after_publish(&published);
    Ok(Reply::ok(connection_element(&connection, item.name())))
}
