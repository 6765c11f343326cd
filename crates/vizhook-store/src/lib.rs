//! The storage boundary of vizhook: one use-case trait per aggregate (`Identity`, `Sites`,
//! `Webhooks`, `Content`, `Outbox`, `Inbox`), each in its module beside the records it trades
//! in; `Store`, every one of them at once, which callers hold as `Arc<dyn Store>`; the error
//! type; and (feature `testkit`) the conformance suite every backend runs.
//!
//! Methods are use cases, not CRUD: anything that must be atomic is one method, so transactions
//! never cross these traits. Time is always an argument so tests control it.

#![forbid(unsafe_code)]

pub mod cipher;
mod content;
mod error;
mod identity;
mod inbox;
mod outbox;
mod retention;
mod sites;
#[cfg(feature = "testkit")]
pub mod testkit;
mod wake;
mod webhooks;

use std::fmt::Debug;

pub use content::*;
pub use error::{StoreError, StoreResult};
pub use identity::*;
pub use inbox::*;
pub use outbox::*;
pub use retention::{InboxPruned, PruneStats};
pub use sites::*;
pub use wake::Wake;
pub use webhooks::*;

/// Everything vizhook keeps: every aggregate's trait. Implemented by `vizhook-store-sqlite`
/// (embedded, the default) and designed so that a PostgreSQL backend can implement it without
/// touching callers, one aggregate at a time. Nothing implements `Store` itself: a type that
/// implements every aggregate is a `Store`.
///
/// A method of an aggregate is called on `dyn Store` (or a type bound by `Store`) without
/// importing its trait; on a concrete backend (`SqliteStore`) the trait must be in scope, which
/// `use vizhook_store::prelude::*` brings.
pub trait Store:
    Identity + Sites + Webhooks + Content + Outbox + Inbox + Send + Sync + Debug + 'static
{
}

impl<T> Store for T where
    T: Identity + Sites + Webhooks + Content + Outbox + Inbox + Send + Sync + Debug + 'static
{
}

/// Every aggregate's trait and `Store`, for callers of store methods.
pub mod prelude {
    pub use crate::{
        Store, content::Content, identity::Identity, inbox::Inbox, outbox::Outbox, sites::Sites,
        webhooks::Webhooks,
    };
}
