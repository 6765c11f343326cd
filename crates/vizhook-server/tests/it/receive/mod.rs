//! `vizhook serve` delivering to `vizhook receive` end to end (`e2e.rs`). The receiver's own
//! tests are `crates/vizhook-receiver/tests/it/`, whose harness (a running `vizhook receive`) this
//! test shares.

mod e2e;
// Shared with the receiver's tests, which use all of it.
#[allow(dead_code)]
#[path = "../../../../vizhook-receiver/tests/it/harness.rs"]
mod harness;
