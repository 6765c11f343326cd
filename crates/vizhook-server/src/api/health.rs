//! `GET /vizhook/v1/health`: whether the server is up and its store answers, for load
//! balancers and supervisors. Not part of the Tableau API.

use axum::{Router, extract::State, routing::get};

use super::{
    error::ApiResult,
    format::{Element, Reply},
};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/vizhook/v1/health", get(health))
}

async fn health(State(state): State<AppState>) -> ApiResult<Reply> {
    state.store.sites().await?;
    Ok(Reply::ok(
        Element::new("health")
            .attr("status", "ok")
            .attr("version", env!("CARGO_PKG_VERSION")),
    ))
}
