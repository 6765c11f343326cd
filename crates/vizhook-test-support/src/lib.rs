//! What vizhook's tests share, so that each is written once: an in-process SMTP server that
//! keeps what it is sent ([`SmtpSink`]), a local HTTP destination that records requests and
//! answers as told ([`Recorder`]), [`eventually`] for polling, and the Tableau files tests publish
//! ([`fixture`]), and a raw HTTP/1.1 client for what client libraries refuse to send (`raw`). Dev-only: no crate depends on it outside its tests (ARCHITECTURE.md's crate map).
//!
//! The SMTP sink and the recorder run on threads of their own, not on the test's runtime, so
//! they serve synchronous tests, `#[tokio::test]`s and tests that drive the binary alike.

mod fixtures;
pub mod raw;
mod recorder;
mod smtp;

use std::time::{Duration, Instant};

pub use self::{
    fixtures::{fixture, multipart},
    recorder::{Received, Recorder},
    smtp::{Mail, SmtpSink},
};

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`; panics naming `what`
/// when the time is up.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`eventually`] for synchronous tests: polls `check` every 20 ms for at most `limit`.
pub fn eventually_blocking<T>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
