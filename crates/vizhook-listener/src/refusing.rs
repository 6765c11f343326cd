//! [`RefusingIo`]: a connection's stream that gives hyper's own answers a body. hyper answers a
//! request head it cannot parse (`400`), a URI past its limit (`414`) and a head past its
//! buffer (`431`) by itself, with an empty body, and then closes; it has no hook to change
//! that. This stream follows the responses hyper writes, message by message (`head.rs`), and
//! when a response head begins while no request handed to vizhook is owed one (`accept.rs`),
//! the head is hyper's: if it is one of those refusals, the stream reports hyper's bytes as
//! written and writes the role's document (`pages.rs`) in their place, fully, before it shuts
//! down. Every other byte passes through unchanged, in order: the stream asks hyper for flat
//! writes (`is_write_vectored` is false) and never lets one write cross from one message into
//! the next, so a refusal after a keep-alive exchange, or behind a partial write, is found too.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::Sleep,
};

use super::{
    head::{Framing, Head},
    owed::Owed,
    pages::ErrorPages,
};

/// How long a connection keeps reading (and discarding) what its client still sends after the
/// document of a refusal is written and its sending side closed: closing a socket with unread
/// bytes resets the connection, which can destroy the document before the client reads it
/// (a client sending a head that is too large is usually still sending).
const LINGER: Duration = Duration::from_secs(2);
/// The most a lingering connection discards before it closes anyway.
const LINGER_BYTES: usize = 1 << 20;

/// A connection's stream; see the module documentation.
pub struct RefusingIo<T> {
    inner: T,
    pages: ErrorPages,
    owed: Owed,
    framing: Framing,
    /// The document written in place of hyper's refusal, once one was found.
    refusal: Option<Replacement>,
}

impl<T> std::fmt::Debug for RefusingIo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusingIo")
            .field("framing", &self.framing)
            .field("refused", &self.refusal.is_some())
            .finish_non_exhaustive()
    }
}

struct Replacement {
    message: Vec<u8>,
    written: usize,
    stage: Stage,
}

enum Stage {
    /// The document is being written; the connection is still open.
    Open,
    /// The sending side is shut; reading and discarding until the client closes, `LINGER`
    /// passes or `LINGER_BYTES` were read.
    Lingering {
        deadline: Pin<Box<Sleep>>,
        discarded: usize,
    },
    Closed,
}

impl<T> RefusingIo<T> {
    pub(crate) fn new(inner: T, pages: ErrorPages, owed: Owed) -> Self {
        Self {
            inner,
            pages,
            owed,
            framing: Framing::Boundary,
            refusal: None,
        }
    }

    /// At a message boundary, reads the head `buf` begins with and moves the framing past it;
    /// returns the document to write instead when the head is hyper's own refusal.
    fn begin_message(&mut self, buf: &[u8]) -> Option<Vec<u8>> {
        let Some(head) = Head::parse(buf) else {
            self.framing = Framing::Opaque;
            return None;
        };
        if head.is_interim() {
            self.framing = Framing::Inside(head.len as u64);
            return None;
        }
        if let Some(expect) = self.owed.pop() {
            self.framing = head.framing(expect);
            return None;
        }
        // No request handed to vizhook is waiting for this head: hyper wrote it on its own,
        // and nothing follows a refusal but the end of the connection.
        self.framing = Framing::Opaque;
        let refusal = head.refusal().filter(|_| head.len == buf.len())?;
        tracing::debug!(
            status = head.status,
            "answered a request hyper refused with an error document"
        );
        Some(self.pages.message(refusal, head.version, head.date))
    }
}

impl<T: AsyncWrite + Unpin> RefusingIo<T> {
    /// Writes what is left of the document, if there is one.
    fn poll_document(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = &mut self.refusal else {
            return Poll::Ready(Ok(()));
        };
        while refusal.written < refusal.message.len() {
            let rest = &refusal.message[refusal.written..];
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            refusal.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for RefusingIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RefusingIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            // hyper writes nothing after a refusal; were it to, the document goes first.
            ready!(this.poll_document(cx))?;
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        if this.framing == Framing::Boundary
            && !buf.is_empty()
            && let Some(message) = this.begin_message(buf)
        {
            this.refusal = Some(Replacement {
                message,
                written: 0,
                stage: Stage::Open,
            });
            return Poll::Ready(Ok(buf.len()));
        }
        match this.framing {
            Framing::Inside(left) => {
                // Never past the end of this message, so that the next write starts at a head.
                let cap = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..cap]))?;
                let left = left.saturating_sub(n as u64);
                this.framing = if left == 0 {
                    Framing::Boundary
                } else {
                    Framing::Inside(left)
                };
                Poll::Ready(Ok(n))
            }
            Framing::Boundary | Framing::Opaque => Pin::new(&mut this.inner).poll_write(cx, buf),
        }
    }

    fn is_write_vectored(&self) -> bool {
        false
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_document(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_none() {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        ready!(this.poll_document(cx))?;
        let Self { inner, refusal, .. } = this;
        let Some(refusal) = refusal else {
            return Poll::Ready(Ok(()));
        };
        loop {
            match &mut refusal.stage {
                Stage::Open => {
                    ready!(Pin::new(&mut *inner).poll_flush(cx))?;
                    ready!(Pin::new(&mut *inner).poll_shutdown(cx))?;
                    refusal.stage = Stage::Lingering {
                        deadline: Box::pin(tokio::time::sleep(LINGER)),
                        discarded: 0,
                    };
                }
                Stage::Lingering {
                    deadline,
                    discarded,
                } => {
                    if deadline.as_mut().poll(cx).is_ready() || *discarded >= LINGER_BYTES {
                        refusal.stage = Stage::Closed;
                        continue;
                    }
                    let mut scratch = [0u8; 4096];
                    let mut read = ReadBuf::new(&mut scratch);
                    match ready!(Pin::new(&mut *inner).poll_read(cx, &mut read)) {
                        Ok(()) if !read.filled().is_empty() => *discarded += read.filled().len(),
                        // The client closed, or the connection failed: nothing is left to save.
                        Ok(()) | Err(_) => refusal.stage = Stage::Closed,
                    }
                }
                Stage::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tokio::io::AsyncWriteExt;

    use super::*;
    use crate::{limits::Limits, owed::Expect};

    /// A peer that takes at most `chunk` bytes per write and has nothing more to send.
    struct Wire {
        sent: Vec<u8>,
        chunk: usize,
    }

    impl AsyncWrite for Wire {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.chunk);
            self.get_mut().sent.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncRead for Wire {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    const REFUSAL: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n";
    const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";

    fn stream(chunk: usize) -> (RefusingIo<Wire>, Owed) {
        let pages = ErrorPages::render(Limits::default(), |_, sentence| {
            Ok::<_, Infallible>(("text/plain", sentence.as_bytes().to_vec()))
        })
        .unwrap();
        let owed = Owed::default();
        let wire = Wire {
            sent: Vec::new(),
            chunk,
        };
        (RefusingIo::new(wire, pages, owed.clone()), owed)
    }

    /// Writes `buffers` as hyper does (each until it is all taken), then shuts down.
    async fn hyper_writes(io: &mut RefusingIo<Wire>, buffers: &[&[u8]]) -> String {
        for buffer in buffers {
            io.write_all(buffer).await.unwrap();
        }
        io.shutdown().await.unwrap();
        String::from_utf8(io.inner.sent.clone()).unwrap()
    }

    #[tokio::test]
    async fn a_refusal_behind_an_answer_and_partial_writes_gets_the_document() {
        let (mut io, owed) = stream(7);
        owed.handed(Expect::Body);
        let sent = hyper_writes(&mut io, &[&[HELLO, REFUSAL].concat()]).await;
        let document = sent.strip_prefix("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
        let document = document.unwrap_or_else(|| panic!("{sent}"));
        let sentence = "The request could not be parsed";
        assert!(
            document.starts_with("HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n"),
            "{sent}"
        );
        assert!(document.contains("\r\nconnection: close\r\n"), "{sent}");
        assert!(
            document.contains("\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"),
            "{sent}"
        );
        let (head, body) = document.split_once("\r\n\r\n").unwrap();
        assert!(body.starts_with(sentence), "{sent}");
        assert!(
            head.contains(&format!("content-length: {}\r\n", body.len())),
            "{sent}"
        );
    }

    #[tokio::test]
    async fn what_vizhook_answered_passes_unchanged() {
        let (mut io, owed) = stream(1000);
        owed.handed(Expect::Body);
        owed.handed(Expect::Body);
        // A bare 400 vizhook wrote, then a body that ends like hyper's refusal.
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let tricky = [
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
                REFUSAL.len()
            )
            .as_bytes(),
            REFUSAL,
        ]
        .concat();
        let sent = hyper_writes(&mut io, &[bare, &tricky]).await;
        assert_eq!(sent.as_bytes(), [&bare[..], &tricky].concat());
    }

    #[tokio::test]
    async fn an_answer_to_head_has_no_body_and_an_interim_answer_is_no_answer() {
        let (mut io, owed) = stream(1000);
        owed.handed(Expect::NoBody);
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
        let sent = hyper_writes(&mut io, &[b"HTTP/1.1 100 Continue\r\n\r\n", head, REFUSAL]).await;
        let rest = sent.strip_prefix(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
        );
        assert!(
            rest.is_some_and(|rest| rest.contains("content-type: text/plain")),
            "{sent}"
        );
    }

    #[tokio::test]
    async fn after_an_answer_it_cannot_follow_everything_passes() {
        let (mut io, owed) = stream(1000);
        owed.handed(Expect::Body);
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
        let sent = hyper_writes(&mut io, &[chunked, REFUSAL]).await;
        assert_eq!(sent.as_bytes(), [&chunked[..], REFUSAL].concat());
    }
}
