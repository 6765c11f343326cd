//! [`HeadLimitLayer`]: answers a request whose URI or head is over [`Limits`] with the role's
//! error document, for every request hyper parsed.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{extract::Request, response::Response};
use tower::{Layer, Service};

#[cfg(doc)]
use super::limits::Limits;
use super::pages::ErrorPages;

/// Answers a request whose URI or head is over [`Limits`] with the role's error document.
#[derive(Debug, Clone)]
pub struct HeadLimitLayer {
    pages: ErrorPages,
}

impl HeadLimitLayer {
    pub fn new(pages: ErrorPages) -> Self {
        Self { pages }
    }
}

impl<S> Layer<S> for HeadLimitLayer {
    type Service = HeadLimit<S>;

    fn layer(&self, inner: S) -> HeadLimit<S> {
        HeadLimit {
            inner,
            pages: self.pages.clone(),
        }
    }
}

/// The service of [`HeadLimitLayer`].
#[derive(Debug, Clone)]
pub struct HeadLimit<S> {
    inner: S,
    pages: ErrorPages,
}

impl<S, B> Service<Request<B>> for HeadLimit<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let limits = self.pages.limits();
        match limits.refusal(request.method(), request.uri(), request.headers()) {
            Some(refusal) => {
                tracing::debug!(
                    status = refusal.status().as_u16(),
                    "refused an oversized request head"
                );
                let response = self.pages.response(refusal);
                Box::pin(std::future::ready(Ok(response)))
            }
            None => Box::pin(self.inner.call(request)),
        }
    }
}
