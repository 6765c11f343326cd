//! `vizhook receive` driven over HTTP on a random port: security checks, refused heads, de-duplication across
//! restarts, actions that fail and are retried, alert groups, and `vizhook serve` end to end.

mod dedup;
mod e2e;
mod flow;
mod harness;
mod refusals;
mod security;
