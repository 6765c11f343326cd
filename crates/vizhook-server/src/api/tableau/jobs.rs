//! Jobs: `GET …/jobs/{id}` reports a refresh's progress, as tableauserverclient's
//! `wait_for_job` polls it.

use axum::{
    Router,
    extract::{Path, State},
    routing::get,
};
use vizhook_core::JobId;

use super::wire::content::job_element;
use crate::{
    api::{
        auth::SiteCaller,
        error::{ApiError, ApiResult},
        format::Reply,
    },
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/sites/{site_id}/jobs/{job_id}", get(fetch))
}

async fn fetch(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    Path((_, _, raw)): Path<(String, String, String)>,
) -> ApiResult<Reply> {
    let not_found = || ApiError::job_not_found(format!("Job '{raw}' could not be found."));
    let id: JobId = raw.parse().map_err(|_| not_found())?;
    let job = state
        .store
        .job(caller.0.site.id, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Reply::ok(job_element(&job)))
}
