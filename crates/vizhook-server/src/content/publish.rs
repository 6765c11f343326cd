//! Reading a publish request: `multipart/mixed` (or `multipart/form-data`) with a
//! `request_payload` part holding the `tsRequest` and a file part (`tableau_datasource`,
//! `tableau_workbook`) holding the published file.

use axum::{body::Body, http::HeaderMap};
use bytes::Bytes;

use crate::api::{error::ApiError, extract::TsRequest};

/// The two parts of a publish request.
#[derive(Debug)]
pub struct PublishRequest {
    pub request: TsRequest,
    pub file_name: String,
    pub file: Bytes,
}

/// Reads a multipart publish body of at most `limit` bytes.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<PublishRequest, ApiError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let boundary = boundary(content_type).ok_or_else(|| {
        ApiError::bad_request(
            "Publishing needs a multipart/mixed body with a request_payload part and a file part.",
        )
    })?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit as u64));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
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
    let (file_name, file) = file.ok_or_else(|| {
        ApiError::bad_request(
            "The publish request has no file part. Chunked uploads (uploadSessionId) are not supported by vizhook.",
        )
    })?;
    Ok(PublishRequest {
        request,
        file_name,
        file,
    })
}

fn multipart_error(err: multer::Error, limit: usize) -> ApiError {
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
