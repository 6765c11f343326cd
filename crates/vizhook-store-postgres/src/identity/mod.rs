//! `Identity` on PostgreSQL: accounts, personal access tokens and the first-run seed
//! (`accounts.rs`), and sign-in sessions (`sessions.rs`). Each write is one transaction;
//! reads run on the pool.

mod accounts;
mod sessions;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::AccountId;
use vizhook_store::{
    AccessToken, Account, AccountSites, BootstrapSeed, Identity, NewSession, Session, StoreResult,
    TokenHash,
};

use crate::{PgStore, convert::db_error};

#[async_trait]
impl Identity for PgStore {
    async fn bootstrap(&self, seed: &BootstrapSeed) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let seeded = accounts::bootstrap(&mut tx, seed).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(seeded)
    }

    async fn account_by_name(&self, name: &str) -> StoreResult<Option<Account>> {
        accounts::account_by_name(&self.pool, name).await
    }

    async fn account_sites(&self, id: AccountId) -> StoreResult<Option<AccountSites>> {
        accounts::account_sites(&self.pool, id).await
    }

    async fn access_tokens_named(&self, name: &str) -> StoreResult<Vec<AccessToken>> {
        accounts::access_tokens_named(&self.pool, name).await
    }

    async fn start_session(&self, new: &NewSession) -> StoreResult<Session> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let session = sessions::start_session(&mut tx, new).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(session)
    }

    async fn session(
        &self,
        token: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        sessions::session(&self.pool, token, now).await
    }

    async fn end_session(&self, token: &TokenHash) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let ended = sessions::end_session(&mut tx, token).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(ended)
    }
}
