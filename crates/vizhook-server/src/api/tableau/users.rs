//! The users resource of a site: add, list, get, update (including the site role) and remove.
//! Who may do which is decided by `api::authz` (Tableau's rules, in `vizhook_core::authz`):
//! every handler here that reads or changes one user asks it before touching the store.

use axum::{
    Router,
    extract::{FromRequestParts, State},
    http::request::Parts,
    routing::get,
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{
    AccountId, EventKind, SiteRole, UserId,
    authz::{UserAction, UserChange},
};
use vizhook_store::{NewSiteUser, SiteUser, SiteUserUpdate, StoreError};

use super::{page::Page, wire::user_element};
use vizhook_delivery::new_event;

use crate::{
    api::{
        auth::{Caller, SiteAdmin, SiteCaller},
        authz::{self, Target},
        error::{ApiError, ApiResult},
        extract::{QueryParams, TsRequest, path_id},
        format::{Element, Reply},
        version::Version,
    },
    secrets,
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site_id}/users", get(list).post(add))
        .route(
            "/sites/{site_id}/users/{user_id}",
            get(fetch).put(update).delete(remove),
        )
}

struct PathUserId(UserId);

impl<S: Send + Sync> FromRequestParts<S> for PathUserId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, "user_id", not_found).await.map(Self)
    }
}

/// AdminPromoted when a role change enters the site administrator roles, AdminDemoted when it
/// leaves them. Server administrators are not site administrators, as in Tableau.
fn admin_transition(from: SiteRole, to: SiteRole) -> Option<EventKind> {
    match (from.is_site_admin(), to.is_site_admin()) {
        (false, true) => Some(EventKind::AdminPromoted),
        (true, false) => Some(EventKind::AdminDemoted),
        _ => None,
    }
}

fn not_found(raw: &str) -> ApiError {
    ApiError::user_not_found(format!("User '{raw}' could not be found."))
}

fn parse_role(raw: &str) -> ApiResult<SiteRole> {
    raw.parse().map_err(|_| {
        let roles: Vec<&str> = SiteRole::ALL.iter().map(|role| role.as_str()).collect();
        ApiError::bad_request(format!(
            "'{raw}' is not a site role; use one of {}.",
            roles.join(", ")
        ))
    })
}

async fn load(state: &AppState, caller: &Caller, id: UserId) -> ApiResult<SiteUser> {
    state
        .store
        .user(caller.0.site.id, id)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))
}

async fn add(
    State(state): State<AppState>,
    Version(version): Version,
    SiteCaller(caller): SiteCaller,
    request: TsRequest,
) -> ApiResult<Reply> {
    let element = request.required("user")?;
    let name = element
        .get("name")
        .map(str::trim)
        .filter(|name| !name.is_empty());
    let name =
        name.ok_or_else(|| ApiError::bad_request("A user needs a non-empty name attribute."))?;
    let role = parse_role(element.get("siteRole").unwrap_or("Unlicensed"))?;
    let existing = state.store.account_by_name(name).await?;
    let target = existing.as_ref().map_or(Target::New, Target::Account);
    authz::user(&state, &caller, target, UserAction::Add { role }).await?;
    let new = NewSiteUser {
        account_id: AccountId::from_uuid(Uuid::new_v4()),
        user_id: UserId::from_uuid(Uuid::new_v4()),
        site_id: caller.0.site.id,
        name: name.to_owned(),
        site_role: role,
        auth_setting: element
            .get("authSetting")
            .unwrap_or("ServerDefault")
            .to_owned(),
        now: OffsetDateTime::now_utc(),
    };
    let user = state.store.add_user(&new).await.map_err(|err| match err {
        StoreError::Conflict { .. } => {
            ApiError::user_conflict(format!("User '{name}' is already a member of this site."))
        }
        other => other.into(),
    })?;
    tracing::info!(user = %user.id, role = %user.site_role, "user added to site");
    let location = format!(
        "/api/{}.{}/sites/{}/users/{}",
        version.major, version.minor, user.site_id, user.id
    );
    Ok(Reply::created(user_element(&user), location))
}

/// `filter=name:eq:alice,siteRole:eq:Viewer`: the filters tableauserverclient sends for users.
fn matches_filter(user: &SiteUser, filter: &str) -> ApiResult<bool> {
    for clause in filter.split(',').filter(|clause| !clause.is_empty()) {
        let mut parts = clause.splitn(3, ':');
        let (field, operator, value) = (parts.next(), parts.next(), parts.next());
        let actual = match field {
            Some("name") => user.name.as_str(),
            Some("siteRole") => user.site_role.as_str(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Filtering users by '{clause}' is not supported."
                )));
            }
        };
        match (operator, value) {
            (Some("eq"), Some(value)) if actual.eq_ignore_ascii_case(value) => {}
            (Some("eq"), Some(_)) => return Ok(false),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Filtering users by '{clause}' is not supported."
                )));
            }
        }
    }
    Ok(true)
}

async fn list(
    State(state): State<AppState>,
    SiteAdmin(caller): SiteAdmin,
    query: QueryParams,
) -> ApiResult<Reply> {
    let page = Page::from_query(&query)?;
    let mut users = state.store.users(caller.0.site.id).await?;
    if let Some(filter) = query.get("filter") {
        let mut kept = Vec::with_capacity(users.len());
        for user in users {
            if matches_filter(&user, filter)? {
                kept.push(user);
            }
        }
        users = kept;
    }
    let (users, pagination) = page.apply(users);
    Ok(Reply::ok_many(vec![
        pagination,
        Element::list("users", users.iter().map(user_element)),
    ]))
}

async fn fetch(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathUserId(id): PathUserId,
) -> ApiResult<Reply> {
    let user = load(&state, &caller, id).await?;
    authz::user(&state, &caller, Target::Member(&user), UserAction::Read).await?;
    Ok(Reply::ok(user_element(&user)))
}

async fn update(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathUserId(id): PathUserId,
    request: TsRequest,
) -> ApiResult<Reply> {
    let element = request.required("user")?;
    let user = load(&state, &caller, id).await?;
    let role = element.get("siteRole").map(parse_role).transpose()?;
    let auth_setting = element.get("authSetting").map(str::to_owned);
    // Sending a value the user already has (tableauserverclient sends every field it holds)
    // changes nothing, so it needs no permission.
    let differs = |key: &str, current: Option<&str>| {
        element.get(key).is_some_and(|value| Some(value) != current)
    };
    let change = UserChange {
        site_role: role,
        account_settings: element.get("password").is_some()
            || differs("fullName", user.full_name.as_deref())
            || differs("email", user.email.as_deref()),
        auth_setting: differs("authSetting", Some(&user.auth_setting)),
    };
    authz::user(
        &state,
        &caller,
        Target::Member(&user),
        UserAction::Update(change),
    )
    .await?;
    let password_hash = match element.get("password") {
        Some("") => {
            return Err(ApiError::bad_request("The password must not be empty."));
        }
        Some(password) => {
            let password = password.to_owned();
            let hash = tokio::task::spawn_blocking(move || secrets::hash_secret(&password))
                .await
                .map_err(|err| ApiError::internal("password hashing stopped", err))?
                .map_err(|err| ApiError::internal("password hashing failed", err))?;
            Some(hash)
        }
        None => None,
    };
    let update = SiteUserUpdate {
        site_id: caller.0.site.id,
        user_id: user.id,
        site_role: role,
        full_name: element.get("fullName").map(str::to_owned),
        email: element.get("email").map(str::to_owned),
        auth_setting,
        password_hash,
    };
    let events: Vec<_> = admin_transition(user.site_role, role.unwrap_or(user.site_role))
        .map(|kind| new_event(user.site_id, kind, &user.name, &user.id.to_string()))
        .into_iter()
        .collect();
    let (updated, published) = state
        .store
        .update_user(&update, &events)
        .await
        .map_err(|err| match err {
            StoreError::NotFound => not_found(&id.to_string()),
            other => other.into(),
        })?;
    state.after_publish(&published);
    tracing::info!(user = %id, role = %updated.site_role, "user updated");
    Ok(Reply::ok(user_element(&updated)))
}

async fn remove(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    PathUserId(id): PathUserId,
) -> ApiResult<Reply> {
    let user = load(&state, &caller, id).await?;
    authz::user(&state, &caller, Target::Member(&user), UserAction::Remove).await?;
    let event = new_event(
        user.site_id,
        EventKind::UserDeleted,
        &user.name,
        &user.id.to_string(),
    );
    let published = state
        .store
        .remove_user(caller.0.site.id, id, &[event])
        .await
        .map_err(|err| match err {
            StoreError::NotFound => not_found(&id.to_string()),
            other => other.into(),
        })?;
    state.after_publish(&published);
    tracing::info!(user = %id, "user removed from site");
    Ok(Reply::no_content())
}
