//! A typed client of Tableau's REST API, in JSON, over vizhook's guarded outbound client: any
//! Tableau server, real or vizhook. The session and its calls are `session.rs`; the resources it
//! covers, each read into a typed summary, are `resources.rs`; vizhook's own API (event
//! injection and the delivery log), against vizhook only, is `vizhook.rs`; `server_info.rs`
//! asks a server its API version.

mod resources;
mod server_info;
mod session;
mod vizhook;

pub use self::{
    resources::{ContentKind, ContentSummary, SiteSummary, UserSummary, WebhookSummary},
    server_info::{ServerInfo, server_info},
    session::{Client, ClientError, Credentials, Hidden, Session},
    vizhook::DeliveryQuery,
};
