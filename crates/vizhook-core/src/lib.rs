//! The pure domain model of vizhook: ids, the 22 Tableau events, webhooks, sites and roles, the
//! rules of site content (content URLs, the Default project), and the delivery policy. It does no I/O and knows no wire format; the server and the stores
//! translate to and from these types at their edges.

#![forbid(unsafe_code)]

pub mod authz;
pub mod content;
pub mod error;
pub mod event;
pub mod ids;
pub mod notify;
pub mod retry;
pub mod site;
pub mod webhook;

pub use error::DomainError;
pub use event::{Event, EventKind, Resource};
pub use ids::*;
pub use retry::{DeliveryPolicy, Next, RateLimitPolicy, RetrySchedule, is_success};
pub use site::{ContentUrl, SiteRole};
pub use webhook::{
    DEFAULT_DISABLE_REASON, DestinationUrl, NewWebhookContext, StatusPatch, UrlPolicy, Webhook,
    WebhookName, WebhookPatch, parse_bool,
};
