//! `vizhook receive`: the receiving end of Tableau webhooks. Sources verify requests, the inbox
//! stores each event (de-duplicated) before answering, a routing tree picks receivers, and
//! actions (Slack, Teams, email, HTTP, X, commands, files) run afterwards through the same
//! durable dispatcher that delivers `vizhook serve`'s webhooks.

pub mod event;
pub mod routing;
pub mod secret;
pub mod source;
pub mod actions;
