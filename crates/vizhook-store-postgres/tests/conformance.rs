//! Runs the store conformance suite against PostgreSQL, each check in a fresh schema of the
//! server named by `VIZHOOK_TEST_POSTGRES_URL` (skipped, by name, when it is unset): once
//! without encryption at rest and once with a key.

use vizhook_store::cipher::{AtRest, Key, KeyRing};
use vizhook_store_postgres::{Options, PgStore, testing};

async fn store_with(test: &str, at_rest: AtRest) -> Option<PgStore> {
    let url = testing::fresh_url(test).await?;
    let options = Options {
        at_rest,
        pool_size: 4,
        ..Options::default()
    };
    Some(PgStore::open_with(&url, options).await.expect("open store"))
}

async fn fresh_store(test: &str) -> Option<PgStore> {
    store_with(test, AtRest::default()).await
}

vizhook_store::conformance_tests!(skippable fresh_store);

/// The same checks with the secret columns encrypted.
mod keyed {
    use super::*;

    async fn fresh_store(test: &str) -> Option<PgStore> {
        let key = Key::from_bytes(&[7; 32]).expect("a 32-byte key");
        store_with(test, AtRest::keyed(KeyRing::new(key, Vec::new()))).await
    }

    vizhook_store::conformance_tests!(skippable fresh_store);
}
