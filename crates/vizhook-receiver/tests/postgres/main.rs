//! The receiver's integration tests again, on PostgreSQL: each test on a fresh schema of the
//! server named by `VIZHOOK_TEST_POSTGRES_URL`, and, when it is unset, each test reports by name
//! that it was skipped. The modules are `tests/it`'s (`suite.rs`); `harness::ON_POSTGRES` tells
//! the targets apart.

// The harness is `pub` for the sibling test modules; the crate itself exports nothing.
#![allow(unreachable_pub)]

include!("../it/suite.rs");
