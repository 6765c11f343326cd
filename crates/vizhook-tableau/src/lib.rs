//! Tableau's wire, with no server in it: the format-neutral element tree and its XML and JSON
//! codecs (`element`, `xml`, `json`, `format`), Tableau's error documents and codes (`error`),
//! REST API versions (`version`), timestamps (`time`), the types of request attributes
//! (`schema`), the six-field webhook payload with strict encode and lenient decode
//! (`payload`), Standard Webhooks signing and verification (`signing`), and a typed client of
//! Tableau's REST API (`client`) that the receiver's enrichment and the command line use.
//!
//! Tableau's JSON is a mechanical view of its XML (attributes become properties, children
//! become keys, list containers become `{"item": [...]}`), so requests parse into one
//! [`Element`] tree and responses are built as one, which the two codecs translate; XML and
//! JSON therefore always agree.

#![forbid(unsafe_code)]

pub mod client;
pub mod element;
pub mod error;
pub mod format;
pub mod json;
mod parse_error;
pub mod payload;
pub mod schema;
pub mod signing;
pub mod time;
pub mod version;
pub mod xml;

pub use element::{Attr, Element};
pub use error::TsError;
pub use format::{Format, ParseError};
pub use version::ApiVersion;
