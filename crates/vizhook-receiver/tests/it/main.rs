//! `vizhook receive` driven over HTTP on a random port, as the binary runs it (configuration from
//! TOML, a SQLite inbox in a temporary folder): security checks, refused heads, de-duplication
//! across restarts, actions that fail and are retried, and alert groups. `vizhook serve`
//! delivering to it end to end is the server's test (`crates/vizhook-server/tests/it/receive/e2e.rs`),
//! which shares `harness.rs`.

// The harness is `pub` for the sibling test modules; the crate itself exports nothing.
#![allow(unreachable_pub)]

include!("suite.rs");
