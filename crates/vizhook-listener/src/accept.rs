//! [`ErrorBodies`], the acceptor that gives each connection a [`RefusingIo`] stream and a
//! [`Counting`] service sharing one [`Owed`] count (`owed.rs`). A response head written when
//! none is owed is hyper's own.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
};

use axum::http::{Method, Request};
use axum_server::accept::Accept;
use tower::Service;

use super::{
    owed::{Expect, Owed},
    pages::ErrorPages,
    refusing::RefusingIo,
};

/// Wraps another acceptor (plain TCP, or TLS beneath it) so that the answers hyper writes on
/// its own carry `pages`' documents.
#[derive(Debug, Clone)]
pub struct ErrorBodies<A> {
    inner: A,
    pages: ErrorPages,
}

impl<A> ErrorBodies<A> {
    pub fn new(inner: A, pages: ErrorPages) -> Self {
        Self { inner, pages }
    }
}

impl<A, I, S> Accept<I, S> for ErrorBodies<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = RefusingIo<A::Stream>;
    type Service = Counting<A::Service>;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepting = self.inner.accept(stream, service);
        let pages = self.pages.clone();
        Box::pin(async move {
            let (stream, service) = accepting.await?;
            let owed = Owed::default();
            let service = Counting {
                inner: service,
                owed: owed.clone(),
            };
            Ok((RefusingIo::new(stream, pages, owed), service))
        })
    }
}

/// A connection's service that records each request hyper hands it in [`Owed`].
#[derive(Debug, Clone)]
pub struct Counting<S> {
    inner: S,
    owed: Owed,
}

impl<S, B> Service<Request<B>> for Counting<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> S::Future {
        let expect = match *request.method() {
            Method::HEAD => Expect::NoBody,
            Method::CONNECT => Expect::Tunnel,
            _ => Expect::Body,
        };
        self.owed.push(expect);
        self.inner.call(request)
    }
}
