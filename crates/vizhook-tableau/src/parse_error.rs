//! [`ParseError`]: why a body could not be read as a document, in either format.

/// Why a request body could not be read as a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    message: String,
}

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub(crate) fn xml(reader: &quick_xml::Reader<&[u8]>, err: quick_xml::Error) -> Self {
        Self::new(format!("{err} (at byte {})", reader.error_position()))
    }
}
