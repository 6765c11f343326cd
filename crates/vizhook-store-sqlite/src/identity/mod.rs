//! `Identity` in SQLite: accounts, personal access tokens and the first-run seed
//! (`accounts.rs`), and sign-in sessions (`sessions.rs`). Reads use the read pool; writes go
//! through the writer.

mod accounts;
mod sessions;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::AccountId;
use vizhook_store::{
    AccessToken, Account, AccountSites, BootstrapSeed, Identity, NewSession, Session, StoreResult,
    TokenHash,
};

use crate::SqliteStore;

#[async_trait]
impl Identity for SqliteStore {
    async fn bootstrap(&self, seed: &BootstrapSeed) -> StoreResult<bool> {
        let seed = seed.clone();
        self.writer
            .run(move |conn| Box::pin(accounts::bootstrap(conn, seed)))
            .await
    }

    async fn account_by_name(&self, name: &str) -> StoreResult<Option<Account>> {
        accounts::account_by_name(&self.reader, name).await
    }

    async fn account_sites(&self, id: AccountId) -> StoreResult<Option<AccountSites>> {
        accounts::account_sites(&self.reader, id).await
    }

    async fn access_tokens_named(&self, name: &str) -> StoreResult<Vec<AccessToken>> {
        accounts::access_tokens_named(&self.reader, name).await
    }

    async fn start_session(&self, new: &NewSession) -> StoreResult<Session> {
        let new = new.clone();
        self.writer
            .run(move |conn| Box::pin(sessions::start_session(conn, new)))
            .await
    }

    async fn session(
        &self,
        token: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        sessions::session(&self.reader, token, now).await
    }

    async fn end_session(&self, token: &TokenHash) -> StoreResult<bool> {
        let token = *token;
        self.writer
            .run(move |conn| Box::pin(sessions::end_session(conn, token)))
            .await
    }
}
