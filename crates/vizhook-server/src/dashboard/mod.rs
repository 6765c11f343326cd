//! The web dashboard of `vizhook serve` at `/dashboard` (`GET /` leads there): pages
//! rendered on the server, no scripts, one vendored stylesheet, usable on a phone. Signing in
//! and the CSRF rule are `auth.rs`, the pages `pages.rs` (their frame `view.rs`), the buttons
//! `actions.rs`, the charts `charts.rs`, templates and errors `render.rs`.

mod actions;
mod auth;
mod charts;
mod pages;
mod render;
mod view;

use axum::{
    Router,
    http::header,
    response::{IntoResponse, Redirect},
    routing::{get, post},
};

use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::state::AppState;

/// The dashboard's routes, with their own panic catching and request tracing (they sit
/// outside the API's Tableau rendering).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(pages::webhooks))
        .route("/dashboard/static/app.css", get(stylesheet))
        .route(
            "/dashboard/signin",
            get(auth::sign_in_page).post(auth::sign_in),
        )
        .route("/dashboard/signout", post(auth::sign_out))
        .route("/dashboard/site", post(auth::switch_site))
        .route("/dashboard/webhooks/{id}", get(pages::webhook))
        .route("/dashboard/webhooks/{id}/enable", post(actions::enable))
        .route("/dashboard/webhooks/{id}/disable", post(actions::disable))
        .route("/dashboard/webhooks/{id}/test", post(actions::test))
        .route("/dashboard/webhooks/{id}/fire", post(actions::fire))
        .route("/dashboard/deliveries", get(pages::deliveries))
        .route("/dashboard/deliveries/{id}", get(pages::delivery))
        .route(
            "/dashboard/deliveries/{id}/redeliver",
            post(actions::redeliver),
        )
        .layer(CatchPanicLayer::custom(|_| {
            render::DashError::BadRequest("This page failed; the server log says why.".to_owned())
                .into_response()
        }))
        .layer(TraceLayer::new_for_http())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        render::STYLESHEET,
    )
}
