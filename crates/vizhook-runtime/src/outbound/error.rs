//! The outbound client's errors: it could not be built, or a request got no HTTP response.

use std::time::Duration;

/// The outbound client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("could not build the outbound HTTP client")]
pub struct ClientError(#[source] pub(super) std::io::Error);

/// Why an outbound request got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the destination {host} resolves only to addresses vizhook may not reach ({detail})")]
    Refused { host: String, detail: String },
    #[error("the destination did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not connect to the destination: {0}")]
    Connect(String),
    #[error("the request failed: {0}")]
    Other(String),
}
