//! Runs the store conformance suite against SQLite, each check on a fresh database file.

use vizhook_store_sqlite::SqliteStore;

/// A store on a new file in a temporary directory that lives as long as the test process.
async fn fresh_store() -> SqliteStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("conformance.db");
    // The directory must outlive the store; tests are short, so leak it.
    std::mem::forget(dir);
    SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open store")
}

vizhook_store::conformance_tests!(fresh_store);
