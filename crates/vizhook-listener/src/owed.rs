//! [`Owed`]: the requests of one connection that hyper handed to vizhook and whose response
//! heads are not written yet, shared by the connection's service (which counts them) and its
//! stream (which pays them off as it sees response heads), with what each tells of its
//! response's framing ([`Expect`]).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

/// What a request handed to vizhook tells of its response's framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A response whose body follows its head.
    Body,
    /// The response to a `HEAD`: never a body, whatever its `content-length`.
    NoBody,
    /// The response to a `CONNECT`: a 2xx turns the connection into a tunnel.
    Tunnel,
}

/// The requests of one connection handed to vizhook whose response heads are not written yet,
/// oldest first (HTTP/1.1 answers in order).
#[derive(Debug, Clone, Default)]
pub(crate) struct Owed(Arc<Mutex<VecDeque<Expect>>>);

impl Owed {
    pub(crate) fn push(&self, expect: Expect) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(expect);
    }

    /// The oldest request still owed a response head, which is the one being written.
    pub(crate) fn pop(&self) -> Option<Expect> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

#[cfg(test)]
impl Owed {
    /// Records a request handed over, as [`Counting`] does.
    pub(crate) fn handed(&self, expect: Expect) {
        self.push(expect);
    }
}
