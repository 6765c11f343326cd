//! Data labels on data sources and workbooks: query, apply (create or update), update one,
//! delete. Each label change fires LabelCreated, LabelUpdated or LabelDeleted with the labeled
//! asset as the event's resource (DATASOURCE or WORKBOOK).

use axum::{
    Router,
    extract::{Path, State},
    routing::{get, put},
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{EventKind, LabelId, Resource, parse_bool};
use vizhook_store::{ContentChange, ContentRef, Label, PublishEvent};

use super::{
    content::{datasource_not_found, may_publish, workbook_not_found},
    wire::content::{content_list, label_element},
};
use vizhook_delivery::event_at;

use crate::{
    api::{
        auth::{Caller, SiteCaller},
        error::{ApiError, ApiResult},
        extract::TsRequest,
        format::{Element, Reply},
    },
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/sites/{site_id}/labels",
            put(apply).post(query).delete(remove_many),
        )
        .route(
            "/sites/{site_id}/labels/{label_id}",
            get(fetch).put(update).delete(remove),
        )
}

fn not_found(raw: &str) -> ApiError {
    ApiError::label_not_found(format!("Label '{raw}' could not be found."))
}

fn parse_id(raw: &str) -> ApiResult<LabelId> {
    raw.parse().map_err(|_| not_found(raw))
}

fn label_event(kind: EventKind, label: &Label) -> PublishEvent {
    let resource = match label.target {
        ContentRef::Datasource(_) => Resource::Datasource,
        ContentRef::Workbook(_) => Resource::Workbook,
    };
    event_at(
        label.site_id,
        kind,
        resource,
        &label.target_name,
        &label.target.id_string(),
        OffsetDateTime::now_utc(),
    )
}

/// The name of a labeled asset, which must exist on the site.
async fn asset_name(state: &AppState, caller: &Caller, target: ContentRef) -> ApiResult<String> {
    let site = caller.0.site.id;
    match target {
        ContentRef::Datasource(id) => Ok(state
            .store
            .datasource(site, id)
            .await?
            .ok_or_else(|| datasource_not_found(&id.to_string()))?
            .name),
        ContentRef::Workbook(id) => Ok(state
            .store
            .workbook(site, id)
            .await?
            .ok_or_else(|| workbook_not_found(&id.to_string()))?
            .name),
    }
}

fn flag(element: &Element, key: &str) -> ApiResult<Option<bool>> {
    Ok(element.get(key).map(parse_bool).transpose()?.flatten())
}

/// `PUT …/labels`: puts a label value on every asset in the content list, creating it or
/// updating the one with the same value.
async fn apply(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    request: TsRequest,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let targets = content_list(&request.0)?;
    let input = request.required("label")?;
    let value = input.get("value").map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or_else(|| ApiError::bad_request("A label needs a value attribute."))?;
    let existing = state.store.labels(caller.0.site.id, &targets).await?;
    let now = OffsetDateTime::now_utc();
    let (mut labels, mut events) = (Vec::new(), Vec::new());
    for target in targets {
        let name = asset_name(&state, &caller, target).await?;
        let current = existing
            .iter()
            .find(|l| l.target == target && l.value.eq_ignore_ascii_case(value));
        let label = Label {
            id: current.map_or_else(|| LabelId::from_uuid(Uuid::new_v4()), |l| l.id),
            site_id: caller.0.site.id,
            target,
            target_name: name,
            value: value.to_owned(),
            category: input
                .get("category")
                .map(str::to_owned)
                .or_else(|| current.map(|l| l.category.clone()))
                .unwrap_or_else(|| value.to_ascii_lowercase()),
            message: input
                .get("message")
                .map(str::to_owned)
                .or_else(|| current.map(|l| l.message.clone()))
                .unwrap_or_default(),
            active: flag(input, "active")?
                .or(current.map(|l| l.active))
                .unwrap_or(true),
            elevated: flag(input, "elevated")?
                .or(current.map(|l| l.elevated))
                .unwrap_or(false),
            author_id: caller.0.user.id,
            created_at: current.map_or(now, |l| l.created_at),
            updated_at: now,
        };
        let kind = if current.is_some() {
            EventKind::LabelUpdated
        } else {
            EventKind::LabelCreated
        };
        events.push(label_event(kind, &label));
        labels.push(label);
    }
    let published = state
        .store
        .apply(&[ContentChange::SaveLabels(labels.clone())], &events)
        .await
        .map_err(ApiError::on_conflict("labels.value", || {
            ApiError::conflict(format!(
                "The label '{value}' was put on the same content by another request at the same time; try again."
            ))
        }))?;
    state.after_publish(&published);
    Ok(Reply::ok(Element::list(
        "labelList",
        labels.iter().map(label_element),
    )))
}

/// `POST …/labels`: the labels on the assets in the content list.
async fn query(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    request: TsRequest,
) -> ApiResult<Reply> {
    let targets = content_list(&request.0)?;
    let labels = state.store.labels(caller.0.site.id, &targets).await?;
    Ok(Reply::ok(Element::list(
        "labelList",
        labels.iter().map(label_element),
    )))
}

async fn load(state: &AppState, caller: &Caller, raw: &str) -> ApiResult<Label> {
    let id = parse_id(raw)?;
    state
        .store
        .label(caller.0.site.id, id)
        .await?
        .ok_or_else(|| not_found(raw))
}

async fn fetch(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    Path((_, _, raw)): Path<(String, String, String)>,
) -> ApiResult<Reply> {
    Ok(Reply::ok(label_element(
        &load(&state, &caller, &raw).await?,
    )))
}

async fn update(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    Path((_, _, raw)): Path<(String, String, String)>,
    request: TsRequest,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let mut label = load(&state, &caller, &raw).await?;
    let input = request.required("label")?;
    if let Some(message) = input.get("message") {
        label.message = message.to_owned();
    }
    if let Some(active) = flag(input, "active")? {
        label.active = active;
    }
    if let Some(elevated) = flag(input, "elevated")? {
        label.elevated = elevated;
    }
    label.author_id = caller.0.user.id;
    label.updated_at = OffsetDateTime::now_utc();
    let event = label_event(EventKind::LabelUpdated, &label);
    let published = state
        .store
        .apply(&[ContentChange::SaveLabels(vec![label.clone()])], &[event])
        .await?;
    state.after_publish(&published);
    Ok(Reply::ok(label_element(&label)))
}

async fn remove(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    Path((_, _, raw)): Path<(String, String, String)>,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let label = load(&state, &caller, &raw).await?;
    let event = label_event(EventKind::LabelDeleted, &label);
    let change = ContentChange::DeleteLabels {
        site: label.site_id,
        ids: vec![label.id],
    };
    let published = state.store.apply(&[change], &[event]).await?;
    state.after_publish(&published);
    Ok(Reply::no_content())
}

/// `DELETE …/labels` with a content list: removes those assets' labels (only the given value's,
/// when the request has a `<label value=…>`).
async fn remove_many(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    request: TsRequest,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let targets = content_list(&request.0)?;
    let value = request.0.find("label").and_then(|l| l.get("value"));
    let labels: Vec<Label> = state
        .store
        .labels(caller.0.site.id, &targets)
        .await?
        .into_iter()
        .filter(|l| value.is_none_or(|v| l.value.eq_ignore_ascii_case(v)))
        .collect();
    let events: Vec<_> = labels
        .iter()
        .map(|l| label_event(EventKind::LabelDeleted, l))
        .collect();
    let change = ContentChange::DeleteLabels {
        site: caller.0.site.id,
        ids: labels.iter().map(|l| l.id).collect(),
    };
    let published = state.store.apply(&[change], &events).await?;
    state.after_publish(&published);
    Ok(Reply::no_content())
}
