//! Request bodies with a deadline: a body fails when no part of it arrives for the read
//! timeout, or when, once the read timeout has passed since it began, it has arrived more
//! slowly on average than [`MIN_RATE`]. A client that trickles a byte just inside every gap
//! can therefore not hold a connection for ever, while a large upload on a slow link still
//! succeeds.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::body::{Body, Bytes, HttpBody};
use bytes::Buf;
use tokio::time::{Instant, Sleep};

/// The slowest average a body may arrive at once the read timeout has passed: far below any
/// real link (a 64 MiB workbook at this rate takes 18 hours), far above a trickle.
pub const MIN_RATE: u64 = 1024;

/// Why a body was cut off.
#[derive(Debug, thiserror::Error)]
#[error("the request body stopped arriving, or arrived too slowly, before it was complete")]
pub struct BodyTimeout;

/// A request body under a deadline; the clock starts when it is first read, so time a handler
/// spends before reading does not count against the client.
pub(crate) struct DeadlineBody {
    inner: Body,
    timeout: Duration,
    /// When reading began, and the timer; `None` until the first read.
    clock: Option<(Instant, Pin<Box<Sleep>>)>,
    received: u64,
}

impl DeadlineBody {
    pub(crate) fn new(inner: Body, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            clock: None,
            received: 0,
        }
    }
}

/// The deadline after `received` bytes by `now`, for a body that began at `started`: the
/// earlier of a gap of `timeout` from now and the time by which the average rate would fall
/// below [`MIN_RATE`] (never before `timeout` has passed).
fn deadline(started: Instant, now: Instant, received: u64, timeout: Duration) -> Instant {
    let earned = Duration::from_secs_f64(received as f64 / MIN_RATE as f64);
    let gap = now + timeout;
    // Past what an `Instant` can hold (an absurd body), only the gap applies.
    started
        .checked_add(timeout.max(earned))
        .map_or(gap, |average| gap.min(average))
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let timeout = this.timeout;
        let (started, sleep) = this.clock.get_or_insert_with(|| {
            let now = Instant::now();
            (now, Box::pin(tokio::time::sleep_until(now + timeout)))
        });
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.remaining() as u64;
                }
                let next = deadline(*started, Instant::now(), this.received, timeout);
                sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trickle_gets_the_timeout_and_a_steady_body_gets_more() {
        let start = Instant::now();
        let timeout = Duration::from_secs(30);
        // A byte just now: the next gap may last the timeout, but not past the first timeout.
        let later = start + Duration::from_secs(29);
        assert_eq!(deadline(start, later, 1, timeout), start + timeout);
        // Exactly at MIN_RATE after 60 s: no slack left, the next byte is due now.
        let at = start + Duration::from_secs(60);
        assert_eq!(deadline(start, at, 60 * MIN_RATE, timeout), at);
        // Ahead of MIN_RATE: the gap timeout bounds it.
        assert_eq!(deadline(start, at, 1_000 * MIN_RATE, timeout), at + timeout);
    }
}
