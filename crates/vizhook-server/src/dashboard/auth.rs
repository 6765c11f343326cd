//! Who is using the dashboard: the session cookie (a Tableau session's token, `HttpOnly`,
//! `SameSite=Strict`, `Secure` outside `--dev`), the CSRF token every form carries (derived
//! from the session token, so it needs no storage), signing in with a user name and password,
//! signing out, and switching site for server administrators. Only server and site
//! administrators get in, the rule of vizhook's own API.

use axum::{
    Form,
    extract::{FromRequestParts, State},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use vizhook_store::Session;

use super::render::{DashError, DashResult, render};
use crate::{
    api::tableau::session::{open_session, verify_password},
    secrets,
    state::AppState,
};

const SESSION_COOKIE: &str = "vizhook_session";
/// The sign-in form's own CSRF token, before there is a session (double submit).
const SIGNIN_COOKIE: &str = "vizhook_signin";

/// A signed-in server or site administrator, with the token their forms must carry.
#[derive(Debug, Clone)]
pub(super) struct Admin {
    pub(super) session: Session,
    pub(super) csrf: String,
    token: String,
}

impl Admin {
    /// Checks a submitted form's token.
    pub(super) fn check(&self, submitted: &str) -> DashResult<()> {
        if same(&self.csrf, submitted) {
            Ok(())
        } else {
            tracing::warn!(user = %self.session.user.name, "dashboard form refused: bad CSRF token");
            Err(DashError::Csrf)
        }
    }

    pub(super) fn is_server_admin(&self) -> bool {
        self.session.server_admin
            && self.session.user.site_role == vizhook_core::SiteRole::ServerAdministrator
    }
}

fn same(expected: &str, submitted: &str) -> bool {
    !submitted.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// The CSRF token of a session: a hash of its token, which only the session's holder knows.
fn csrf_for(token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("vizhook-dashboard-csrf\0{token}").as_bytes(),
    ))
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = DashError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie_value(&parts.headers, SESSION_COOKIE)
            .filter(|token| !token.is_empty())
            .ok_or(DashError::SignIn)?;
        let session = state
            .store
            .session(&secrets::token_hash(&token), OffsetDateTime::now_utc())
            .await?
            .ok_or(DashError::SignIn)?;
        admitted(&session)?;
        Ok(Self {
            csrf: csrf_for(&token),
            session,
            token,
        })
    }
}

/// The dashboard's rule, the same as for `/vizhook/v1`: licensed server and site
/// administrators only.
fn admitted(session: &Session) -> DashResult<()> {
    vizhook_core::authz::authorize_sign_in(session.user.site_role).map_err(|denied| {
        DashError::Forbidden(format!("This account cannot sign in: {denied}."))
    })?;
    if !session.user.site_role.administers_site() {
        return Err(DashError::Forbidden(format!(
            "Only server and site administrators can use the dashboard; {} is a {} on this site.",
            session.user.name,
            session.user.site_role.as_str()
        )));
    }
    Ok(())
}

fn set_cookie(response: &mut Response, state: &AppState, name: &str, value: String, remove: bool) {
    let mut cookie = Cookie::build((name.to_owned(), value))
        .path("/dashboard")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!state.config.server.dev)
        .build();
    if remove {
        cookie.make_removal();
    }
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    site: String,
}

/// `GET /dashboard/signin`: the form, with a fresh sign-in CSRF cookie.
pub(super) async fn sign_in_page(State(state): State<AppState>) -> DashResult<Response> {
    sign_in_form(&state, None, "", "")
}

fn sign_in_form(
    state: &AppState,
    error: Option<String>,
    username: &str,
    site: &str,
) -> DashResult<Response> {
    let csrf = secrets::random_secret().map_err(|err| {
        DashError::Api(crate::api::error::ApiError::internal(
            "random token failed",
            err,
        ))
    })?;
    let page = render(
        "signin.html",
        minijinja::context! { csrf => csrf.clone(), error => error.clone(), username, site },
    )?;
    let mut response = page.into_response();
    if error.is_some() {
        *response.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
    }
    set_cookie(&mut response, state, SIGNIN_COOKIE, csrf, false);
    Ok(response)
}

/// `POST /dashboard/signin`.
pub(super) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> DashResult<Response> {
    let expected = cookie_value(&headers, SIGNIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&expected, &form.csrf) {
        return Err(DashError::Csrf);
    }
    let refused =
        |message: &str| sign_in_form(&state, Some(message.to_owned()), &form.username, &form.site);
    let account = match verify_password(&state, form.username.trim(), &form.password).await {
        Ok(account) => account,
        Err(crate::api::error::ApiError::Tableau(_)) => {
            return refused("The user name or password is wrong, or the account has no password.");
        }
        Err(other) => return Err(other.into()),
    };
    let (token, session) = match open_session(&state, account, form.site.trim()).await {
        Ok(opened) => opened,
        Err(crate::api::error::ApiError::Tableau(err)) => {
            return refused(&format!(
                "Signing in to that site failed: {} ({}).",
                err.detail.trim_end_matches('.'),
                err.code
            ));
        }
        Err(other) => return Err(other.into()),
    };
    if let Err(denied) = admitted(&session) {
        state
            .store
            .end_session(&secrets::token_hash(&token))
            .await?;
        return refused(&denied.to_string());
    }
    tracing::info!(user = %session.user.name, site = %session.site.content_url, "signed in to the dashboard");
    let mut response = Redirect::to("/dashboard").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, token, false);
    set_cookie(&mut response, &state, SIGNIN_COOKIE, String::new(), true);
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

/// `POST /dashboard/signout`: ends the session.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<CsrfForm>,
) -> DashResult<Response> {
    admin.check(&form.csrf)?;
    state
        .store
        .end_session(&secrets::token_hash(&admin.token))
        .await?;
    let mut response = Redirect::to("/dashboard/signin").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, String::new(), true);
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(super) struct SiteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    content_url: String,
}

/// `POST /dashboard/site`: a server administrator moves to another site, as Tableau's
/// `switchSite` does: a new session there, and the old one ended.
pub(super) async fn switch_site(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<SiteForm>,
) -> DashResult<Response> {
    admin.check(&form.csrf)?;
    if !admin.is_server_admin() {
        return Err(DashError::Forbidden(
            "Only server administrators switch between sites.".to_owned(),
        ));
    }
    let (token, session) = open_session(
        &state,
        admin.session.user.account_id,
        form.content_url.trim(),
    )
    .await?;
    admitted(&session)?;
    state
        .store
        .end_session(&secrets::token_hash(&admin.token))
        .await?;
    let mut response = Redirect::to("/dashboard").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, token, false);
    Ok(response)
}
