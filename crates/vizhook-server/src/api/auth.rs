//! Who is calling: extractors that turn `X-Tableau-Auth` into a session and check the site in
//! the path and the caller's role. A handler's signature states the permission it needs.

use axum::{extract::FromRequestParts, http::request::Parts};
use time::OffsetDateTime;
use vizhook_core::{SiteId, SiteRole};
use vizhook_store::Session;

use super::{error::ApiError, extract::path_id};
use crate::{secrets, state::AppState};

pub const AUTH_HEADER: &str = "x-tableau-auth";

/// A signed-in caller: the session behind a valid `X-Tableau-Auth` token.
#[derive(Debug, Clone)]
pub struct Caller(pub Session);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTH_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::missing_credentials("No authentication credentials were provided.")
            })?;
        let session = state
            .store
            .session(&secrets::token_hash(token), OffsetDateTime::now_utc())
            .await?
            .ok_or_else(|| {
                ApiError::invalid_token(
                    "Invalid authentication credentials were provided: the token is unknown, expired or signed out.",
                )
            })?;
        // A member who became unlicensed keeps no access (the rule is authz's, as at sign-in).
        vizhook_core::authz::authorize_sign_in(session.user.site_role).map_err(|denied| {
            ApiError::invalid_token(format!(
                "The authentication token can no longer be used: {denied}."
            ))
        })?;
        Ok(Self(session))
    }
}

impl Caller {
    pub fn is_server_admin(&self) -> bool {
        self.0.server_admin && self.0.user.site_role == SiteRole::ServerAdministrator
    }

    pub fn administers_site(&self) -> bool {
        self.0.user.site_role.administers_site()
    }
}

/// A caller acting on the `{site_id}` in the path, which must be the site they signed in to.
#[derive(Debug, Clone)]
pub struct SiteCaller(pub Caller);

impl FromRequestParts<AppState> for SiteCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let site_id: SiteId = path_id(parts, "site_id", site_not_found).await?;
        if caller.0.site.id != site_id {
            if state.store.site(site_id).await?.is_none() {
                return Err(site_not_found(&site_id.to_string()));
            }
            return Err(ApiError::wrong_site(format!(
                "The authentication token was issued for site '{}'; sign in to site '{site_id}' to use it.",
                caller.0.site.id
            )));
        }
        Ok(Self(caller))
    }
}

pub fn site_not_found(raw: &str) -> ApiError {
    ApiError::site_not_found(format!("Site '{raw}' could not be found."))
}

/// A server or site administrator of the site in the path.
#[derive(Debug, Clone)]
pub struct SiteAdmin(pub Caller);

impl FromRequestParts<AppState> for SiteAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SiteCaller(caller) = SiteCaller::from_request_parts(parts, state).await?;
        if !caller.administers_site() {
            return Err(ApiError::forbidden(
                "This method can only be called by server administrators and site administrators.",
            ));
        }
        Ok(Self(caller))
    }
}
