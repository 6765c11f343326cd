//! Integration tests: the real server on a random port, driven over HTTP.

// Helpers are `pub` for the sibling test modules; the crate itself exports nothing.
#![allow(unreachable_pub)]

mod api_auth;
mod api_errors;
mod api_sites_users;
mod api_webhooks;
mod concurrency;
mod delivery;
mod escalation;
mod events;
mod helpers;
mod permissions;
mod projects;
mod raw;
mod receive;
mod refusals;
mod role_matrix;
mod timeouts;
mod types;
mod xml_golden;
