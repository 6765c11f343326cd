//! `vizhook receive`: the receiving end of Tableau webhooks. Sources verify requests, the inbox
//! stores each event (de-duplicated) before answering, a routing tree picks receivers, and
//! actions (Slack, Teams, email, HTTP, X, commands, files) run afterwards through the same
//! durable engine that delivers `vizhook serve`'s webhooks.

pub mod actions;
pub mod config;
pub mod enrich;
pub mod http;
pub mod ingest;
pub mod routing;
pub mod service;
pub mod source;
mod tasks;

/// Secret references, shared with `serve`'s configuration (the runtime's).
pub use vizhook_runtime::secret;
