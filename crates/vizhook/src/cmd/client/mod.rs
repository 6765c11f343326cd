//! The client commands: `webhooks` against any Tableau server, `events` and `deliveries`
//! against vizhook's own API, all through vizhook-tableau's client. `connect.rs` signs in and
//! turns the client's errors into sentences, `output.rs` prints tables or JSON.

mod connect;
mod deliveries;
mod output;
mod webhooks;

pub(crate) use self::{
    deliveries::{run_deliveries, run_events},
    webhooks::run as run_webhooks,
};
