//! Integration tests: the real server on a random port, driven over HTTP, on SQLite (the
//! `postgres` target runs the same suite, `suite.rs`, on PostgreSQL).

// Helpers are `pub` for the sibling test modules; the crate itself exports nothing.
#![allow(unreachable_pub)]

include!("suite.rs");
