//! A typed client of Tableau's REST API, in JSON, over vizhook's guarded outbound client: any
//! Tableau server, real or vizhook. The session and its calls are `session.rs`; the resources it
//! covers, each read into a typed summary, are `resources.rs`.

mod resources;
mod session;

pub use self::{
    resources::{ContentKind, ContentSummary, SiteSummary, UserSummary, WebhookSummary},
    session::{Client, ClientError, Credentials, Hidden, Session},
};
