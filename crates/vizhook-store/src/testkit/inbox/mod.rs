//! Conformance checks for `Inbox`, the receiver's inbox: receiving (`receive.rs`) and the
//! action tasks (`tasks.rs`), on the fixtures of `fixtures.rs`.

mod fixtures;
mod receive;
mod tasks;

pub use receive::*;
pub use tasks::*;
