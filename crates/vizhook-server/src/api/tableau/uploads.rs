//! Chunked uploads, as tableauserverclient sends files of 64 MB and more: `POST
//! …/fileUploads` starts a session, `PUT …/fileUploads/{id}` appends one multipart chunk, and
//! a publish with `uploadSessionId` takes the assembled file (`content/publish.rs`).

use std::collections::HashMap;

use axum::{
    Router,
    body::Body,
    extract::{Path, State},
    http::HeaderMap,
    routing::{post, put},
};

use super::content::may_publish;
use crate::{
    api::{
        auth::SiteCaller,
        error::{ApiError, ApiResult},
        format::{Element, Reply},
        version::Version,
    },
    content::publish::{multipart, multipart_error, upload_error},
    state::AppState,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{site_id}/fileUploads", post(initiate))
        .route("/sites/{site_id}/fileUploads/{upload_id}", put(append))
}

/// `<fileUpload uploadSessionId=… fileSize=…/>`; Tableau gives the size in whole megabytes.
fn file_upload(id: &str, size: u64) -> Element {
    Element::new("fileUpload")
        .attr("uploadSessionId", id)
        .attr("fileSize", (size / (1024 * 1024)).to_string())
}

/// `POST /sites/{site}/fileUploads` (Initiate File Upload): 201 with the session's id.
async fn initiate(
    State(state): State<AppState>,
    Version(version): Version,
    SiteCaller(caller): SiteCaller,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let session = &caller.0;
    let limit = state.config.server.max_publish_bytes;
    let id = state
        .uploads
        .start(session.site.id, session.user.id)
        .await
        .map_err(|err| upload_error(err, limit))?;
    tracing::debug!(upload = %id, user = %session.user.name, "chunked upload started");
    let location = format!(
        "/api/{}.{}/sites/{}/fileUploads/{id}",
        version.major, version.minor, session.site.id
    );
    Ok(Reply::created(file_upload(&id, 0), location))
}

/// `PUT /sites/{site}/fileUploads/{id}` (Append to File Upload): a `multipart/mixed` body with
/// an empty `request_payload` part and a `tableau_file` part, the chunk, which is streamed to
/// the session's file.
async fn append(
    State(state): State<AppState>,
    SiteCaller(caller): SiteCaller,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Reply> {
    may_publish(&caller)?;
    let id = params.get("upload_id").cloned().unwrap_or_default();
    let session = &caller.0;
    let config = &state.config.server;
    let limit = config.max_publish_bytes;
    let mut multipart = multipart(
        &headers,
        body,
        limit,
        "Appending to an upload needs a multipart/mixed body with a tableau_file part.",
    )?;
    let mut size = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(multipart_error(err, limit)),
        };
        if field.name() == Some("tableau_file") && size.is_none() {
            let appended = state
                .uploads
                .append(
                    &id,
                    session.site.id,
                    session.user.id,
                    field,
                    config.max_upload_bytes,
                )
                .await
                .map_err(|err| upload_error(err, limit))?;
            size = Some(appended);
        }
    }
    let size = size.ok_or_else(|| {
        ApiError::bad_request("The request has no tableau_file part holding the chunk.")
    })?;
    Ok(Reply::ok(file_upload(&id, size)))
}
