// The receiver suite's modules, shared by the `it` (SQLite) and `postgres` targets through
// `include!`; the targets' `main.rs` hold the crate attributes.

/// The receiver a `Receive::start` call started, or, when the suite runs on PostgreSQL and no
/// server is configured, a return from the test, which `start` has reported as skipped by name.
macro_rules! or_skip {
    ($app:expr) => {
        match $app {
            Some(app) => app,
            None => return,
        }
    };
}

mod dedup;
mod flow;
mod harness;
mod rate_limits;
mod refusals;
mod security;
