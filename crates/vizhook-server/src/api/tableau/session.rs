//! Sign-in, sign-out, the current session and server info.

use axum::{
    Router,
    extract::State,
    routing::{get, post},
};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{AccountId, ContentUrl, UserId};
use vizhook_store::{NewSession, Session, StoreError};

use super::wire::site_element;
use crate::{
    api::{
        auth::{AUTH_HEADER, Caller},
        authz,
        error::{ApiError, ApiResult},
        extract::TsRequest,
        format::{Element, Reply},
    },
    secrets,
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signin", post(sign_in))
        .route("/auth/signout", post(sign_out))
        .route("/serverinfo", get(server_info))
        .route("/serverInfo", get(server_info))
        .route("/sessions/current", get(current_session))
}

async fn server_info(State(state): State<AppState>) -> Reply {
    let tableau = &state.config.tableau;
    Reply::ok(
        Element::new("serverInfo")
            .child(
                Element::new("productVersion")
                    .attr("build", &tableau.build)
                    .text(&tableau.product_version),
            )
            .child(Element::new("restApiVersion").text(&tableau.rest_api_version)),
    )
}

fn signin_failed() -> ApiError {
    ApiError::signin_failed("Error signing in to Tableau Server")
}

async fn sign_in(State(state): State<AppState>, request: TsRequest) -> ApiResult<Reply> {
    let credentials = request.required("credentials")?;
    if credentials.get("jwt").is_some() {
        return Err(ApiError::signin_failed(
            "Sign-in with a connected app JWT is not supported by vizhook.",
        ));
    }
    // Clients that do not impersonate may still send `"user": {"id": null}` (or an empty
    // id); Tableau reads that as no impersonation, and so does vizhook.
    let impersonates = credentials
        .find("user")
        .and_then(|user| user.get("id"))
        .is_some_and(|id| !id.trim().is_empty());
    if impersonates {
        return Err(ApiError::signin_failed(
            "Impersonation is not supported by vizhook.",
        ));
    }
    let content_url = credentials
        .find("site")
        .and_then(|site| site.get("contentUrl"))
        .unwrap_or("");
    let account_id = if let Some(token_name) = credentials.get("personalAccessTokenName") {
        let secret = credentials
            .get("personalAccessTokenSecret")
            .unwrap_or_default();
        verify_access_token(&state, token_name, secret).await?
    } else if let Some(name) = credentials.get("name") {
        let password = credentials.get("password").unwrap_or_default();
        verify_password(&state, name, password).await?
    } else {
        return Err(ApiError::bad_request(
            "The credentials element needs name and password, or personalAccessTokenName and personalAccessTokenSecret.",
        ));
    };
    let (token, session) = open_session(&state, account_id, content_url).await?;
    let site = &session.site;
    let ttl = state.config.auth.session_ttl;
    tracing::info!(user = %session.user.name, site = %site.content_url, "signed in");
    Ok(Reply::ok(
        Element::new("credentials")
            .child(
                Element::new("site")
                    .attr("id", site.id.to_string())
                    .attr("contentUrl", site.content_url.as_str()),
            )
            .child(Element::new("user").attr("id", session.user.id.to_string()))
            .attr("token", token)
            .attr("estimatedTimeToExpiration", format_duration(ttl)),
    ))
}

/// Starts a session on the site with `content_url` for an account whose credentials were
/// verified, with the rules of Tableau's sign-in; returns the token (shown once) and the
/// session. The API's sign-in and the dashboard's both come here.
pub(crate) async fn open_session(
    state: &AppState,
    account_id: AccountId,
    content_url: &str,
) -> ApiResult<(String, Session)> {
    let site = match ContentUrl::parse(content_url) {
        Ok(url) => state.store.site_by_content_url(&url).await?,
        Err(_) => None,
    }
    .ok_or_else(signin_failed)?;
    let membership = state
        .store
        .account_sites(account_id)
        .await?
        .and_then(|facts| {
            facts
                .memberships
                .into_iter()
                .find(|member| member.site_id == site.id)
        });
    if let Some(member) = membership {
        authz::sign_in(member.site_role)?;
    }

    let token = secrets::session_token(site.id)
        .map_err(|err| ApiError::internal("token generation failed", err))?;
    let now = OffsetDateTime::now_utc();
    let ttl = state.config.auth.session_ttl;
    let new = NewSession {
        token: secrets::token_hash(&token),
        account_id,
        site_id: site.id,
        new_user_id: UserId::from_uuid(Uuid::new_v4()),
        now,
        expires_at: now + ttl,
    };
    let session = match state.store.start_session(&new).await {
        Err(StoreError::NotFound) => return Err(signin_failed()),
        other => other?,
    };
    Ok((token, session))
}

async fn verify_access_token(state: &AppState, name: &str, secret: &str) -> ApiResult<AccountId> {
    let tokens = state.store.access_tokens_named(name).await?;
    if tokens.is_empty() {
        secrets::verify_secret_blocking(None, secret.to_owned()).await;
    }
    for token in tokens {
        if secrets::verify_secret_blocking(Some(token.secret_hash), secret.to_owned()).await {
            return Ok(token.account_id);
        }
    }
    Err(signin_failed())
}

pub(crate) async fn verify_password(
    state: &AppState,
    name: &str,
    password: &str,
) -> ApiResult<AccountId> {
    let account = state.store.account_by_name(name).await?;
    let hash = account
        .as_ref()
        .and_then(|account| account.password_hash.clone());
    let valid = secrets::verify_secret_blocking(hash, password.to_owned()).await;
    match account {
        Some(account) if valid => Ok(account.id),
        _ => Err(signin_failed()),
    }
}

/// `H:MM:SS`, the shape of Tableau's `estimatedTimeToExpiration`.
fn format_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Signing out ends the session. Signing out twice, or with an expired token, still succeeds:
/// the token is dead either way. Only a missing header is an error.
async fn sign_out(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Reply> {
    let token = headers
        .get(AUTH_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::missing_credentials("No authentication credentials were provided.")
        })?;
    state.store.end_session(&secrets::token_hash(token)).await?;
    Ok(Reply::no_content())
}

async fn current_session(Caller(session): Caller) -> Reply {
    Reply::ok(
        Element::new("session")
            .child(site_element(&session.site))
            .child(
                Element::new("user")
                    .attr("id", session.user.id.to_string())
                    .attr("name", &session.user.name)
                    .attr("siteRole", session.user.site_role.as_str()),
            ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_look_like_tableau() {
        assert_eq!(
            super::format_duration(std::time::Duration::from_secs(240 * 60)),
            "4:00:00"
        );
        assert_eq!(
            super::format_duration(std::time::Duration::from_secs(364 * 3600 + 42)),
            "364:00:42"
        );
    }
}
