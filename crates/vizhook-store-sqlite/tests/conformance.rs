//! Runs the store conformance suite against SQLite, each check on a fresh database file: once
//! without encryption at rest and once with a key, which callers must not be able to tell apart.

use vizhook_store::cipher::{AtRest, Key, KeyRing};
use vizhook_store_sqlite::{Options, SqliteStore};

/// A store on a new file in a temporary directory that lives as long as the test process.
async fn store_with(options: Options) -> SqliteStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("conformance.db");
    // The directory must outlive the store; tests are short, so leak it.
    std::mem::forget(dir);
    SqliteStore::open_with(&format!("sqlite://{}", path.display()), options)
        .await
        .expect("open store")
}

async fn fresh_store() -> SqliteStore {
    store_with(Options::default()).await
}

vizhook_store::conformance_tests!(fresh_store);

/// The same checks with the secret columns encrypted.
mod keyed {
    use super::*;

    async fn fresh_store() -> SqliteStore {
        let key = Key::from_bytes(&[7; 32]).expect("a 32-byte key");
        store_with(Options {
            at_rest: AtRest::keyed(KeyRing::new(key, Vec::new())),
        })
        .await
    }

    vizhook_store::conformance_tests!(fresh_store);
}
