//! Errors raised when raw input does not make a valid domain value.

/// A value that the domain refuses, with enough context for a precise client error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("'{value}' is not a valid {kind} id")]
    InvalidId { kind: &'static str, value: String },
    #[error("'{0}' is not a supported webhook event")]
    UnknownEvent(String),
    #[error("the webhook name must not be empty")]
    EmptyName,
    #[error("the name is longer than {max} characters")]
    NameTooLong { max: usize },
    #[error("'{url}' is not a valid destination url: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("the destination url must use https: '{0}'")]
    InsecureUrl(String),
    #[error("statusChangeReason can only be set when the webhook is disabled (isEnabled=false)")]
    ReasonWhileEnabled,
    #[error("'{0}' is not a valid site content url: use letters, digits, '-' and '_' only")]
    InvalidContentUrl(String),
    #[error("'{0}' is not a known site role")]
    UnknownSiteRole(String),
    #[error("'{0}' is not a valid boolean: use true or false")]
    InvalidBool(String),
}
