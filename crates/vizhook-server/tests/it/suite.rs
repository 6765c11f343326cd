// The integration suite's modules, shared by the `it` (SQLite) and `postgres` targets through
// `include!`; the targets' `main.rs` hold the crate attributes.

/// The app a `TestApp::spawn…` call started, or, when the suite runs on PostgreSQL and no
/// server is configured, a return from the test, which `spawn` has reported as skipped by name.
macro_rules! or_skip {
    ($app:expr) => {
        match $app {
            Some(app) => app,
            None => return,
        }
    };
}

mod api_auth;
mod api_errors;
mod api_sites_users;
mod api_webhooks;
mod concurrency;
mod dashboard;
mod delivery;
mod escalation;
mod events;
mod metrics;
mod helpers;
mod permissions;
mod projects;
mod raw;
mod rate_limits;
mod receive;
mod refusals;
mod retry_timing;
mod role_matrix;
mod timeouts;
mod types;
mod uploads;
mod xml_golden;
