//! Reading a publish request: `multipart/mixed` (or `multipart/form-data`) with a
//! `request_payload` part holding the `tsRequest` and a file part (`tableau_datasource`,
//! `tableau_workbook`) holding the published file, or, for a chunked upload, no file part and
//! the `uploadSessionId` of a finished upload in the query.

use std::io::Cursor;

use axum::{body::Body, http::HeaderMap};
use bytes::Bytes;
use vizhook_tableau::error::sentence;

use super::{
    files::{self, FileContents, FileError, FileKind},
    uploads::{UploadError, Uploaded},
};
use crate::{
    api::{
        auth::Caller,
        error::ApiError,
        extract::{QueryParams, TsRequest},
    },
    state::AppState,
};

/// The two parts of a publish request.
#[derive(Debug)]
pub struct PublishRequest {
    pub request: TsRequest,
    pub file: PublishedFile,
}

/// The published file: in memory from the request, or on disk from a chunked upload (deleted
/// when this is dropped).
#[derive(Debug)]
pub struct PublishedFile {
    /// The file part's file name; empty for a chunked upload.
    pub name: String,
    pub size: u64,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Memory(Bytes),
    Disk(Uploaded),
}

/// What vizhook reads from a published file.
#[derive(Debug)]
pub struct Inspected {
    pub contents: FileContents,
    /// A packaged file that carries an extract (`.hyper`, `.tde`), or an extract itself.
    pub has_extract: bool,
}

impl PublishedFile {
    /// Reads the file's connections and views (on a blocking thread for a file on disk).
    pub async fn inspect(&self, kind: FileKind) -> Result<Inspected, FileError> {
        let packaged = matches!(kind, FileKind::Tdsx | FileKind::Twbx);
        match &self.source {
            Source::Memory(bytes) => Ok(Inspected {
                contents: files::read(kind, bytes)?,
                has_extract: kind == FileKind::Extract
                    || (packaged && files::archive_has_extract(Cursor::new(&bytes[..]))),
            }),
            Source::Disk(uploaded) => {
                let path = uploaded.path.to_path_buf();
                let read = move || {
                    let open = || {
                        std::fs::File::open(&path)
                            .map(std::io::BufReader::new)
                            .map_err(|err| FileError::Unreadable(err.to_string()))
                    };
                    Ok(Inspected {
                        contents: files::read_from(kind, open()?)?,
                        has_extract: kind == FileKind::Extract
                            || (packaged && files::archive_has_extract(open()?)),
                    })
                };
                tokio::task::spawn_blocking(read)
                    .await
                    .map_err(|err| FileError::Unreadable(err.to_string()))?
            }
        }
    }
}

/// Reads a multipart publish body of at most `[server] max_publish_bytes`, taking the chunked
/// upload that `uploadSessionId` names when there is no file part.
pub async fn read(
    state: &AppState,
    caller: &Caller,
    query: &QueryParams,
    headers: &HeaderMap,
    body: Body,
) -> Result<PublishRequest, ApiError> {
    let limit = state.config.server.max_publish_bytes;
    let mut multipart = multipart(
        headers,
        body,
        limit,
        "Publishing needs a multipart/mixed body with a request_payload part and a file part.",
    )?;
    let mut request = None;
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(multipart_error(err, limit)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let part_headers = field.headers().clone();
        let bytes = field
            .bytes()
            .await
            .map_err(|err| multipart_error(err, limit))?;
        match name.as_str() {
            "request_payload" => request = Some(TsRequest::from_bytes(&part_headers, &bytes)?),
            "tableau_datasource" | "tableau_workbook" | "tableau_flow" => {
                file = Some((file_name.unwrap_or_default(), bytes));
            }
            _ => {}
        }
    }
    let request = request
        .ok_or_else(|| ApiError::bad_request("The publish request has no request_payload part."))?;
    let upload = query.get("uploadSessionId").filter(|id| !id.is_empty());
    let file = match (file, upload) {
        (Some((name, bytes)), None) => PublishedFile {
            name,
            size: bytes.len() as u64,
            source: Source::Memory(bytes),
        },
        (None, Some(id)) => {
            let session = &caller.0;
            let uploaded = state
                .uploads
                .take(id, session.site.id, session.user.id)
                .await
                .map_err(|err| upload_error(err, limit))?;
            PublishedFile {
                name: String::new(),
                size: uploaded.size,
                source: Source::Disk(uploaded),
            }
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "The publish request has both a file part and an uploadSessionId; send one of them.",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "The publish request has no file part and no uploadSessionId of a chunked upload.",
            ));
        }
    };
    Ok(PublishRequest { request, file })
}

/// An upload call's failure, in Tableau's terms; `limit` is the request's own body limit.
pub(crate) fn upload_error(err: UploadError, limit: usize) -> ApiError {
    match err {
        UploadError::NotFound(_) => ApiError::upload_not_found(sentence(&err.to_string())),
        UploadError::TooMany => ApiError::bad_request(sentence(&err.to_string())),
        UploadError::TooLarge(limit) => ApiError::payload_too_large(format!(
            "The uploaded file would be larger than {limit} bytes ([server] max_upload_bytes)."
        )),
        UploadError::Body(source) => multipart_error(source, limit),
        UploadError::Disk(source) => {
            ApiError::internal("a chunked upload could not be written", source)
        }
    }
}

/// A request's `multipart/*` body of at most `limit` bytes, read part by part; `missing` is
/// the error's detail when the request has no multipart body.
pub(crate) fn multipart(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    missing: &str,
) -> Result<multer::Multipart<'static>, ApiError> {
    let boundary = boundary_of(headers).ok_or_else(|| ApiError::bad_request(missing))?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit as u64));
    Ok(multer::Multipart::with_constraints(
        body.into_data_stream(),
        boundary,
        constraints,
    ))
}

/// The boundary of a request's `multipart/*` body.
fn boundary_of(headers: &HeaderMap) -> Option<String> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    boundary(content_type)
}

pub(crate) fn multipart_error(err: multer::Error, limit: usize) -> ApiError {
    match err {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ApiError::payload_too_large(format!("The published file is larger than {limit} bytes."))
        }
        other if vizhook_listener::is_body_timeout(&other) => ApiError::body_timeout(
            "The request body stopped arriving, or arrived too slowly, before it was complete.",
        ),
        other => ApiError::bad_request(format!("The multipart body could not be read: {other}.")),
    }
}

/// The `boundary` parameter of a `multipart/*` content type.
fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn boundaries() {
        assert_eq!(
            super::boundary("multipart/mixed; boundary=abc123").as_deref(),
            Some("abc123")
        );
        assert_eq!(
            super::boundary("multipart/form-data;boundary=\"q q\"").as_deref(),
            Some("q q")
        );
        assert_eq!(super::boundary("text/xml; boundary=abc"), None);
        assert_eq!(super::boundary("multipart/mixed"), None);
    }
}
