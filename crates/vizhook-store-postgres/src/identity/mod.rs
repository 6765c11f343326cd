//! `Identity` on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{AccessTokenId, AccountId, SiteId, UserId};
use vizhook_store::*;

use crate::PgStore;

#[async_trait]
impl Identity for PgStore {
    async fn bootstrap(&self, _seed: &BootstrapSeed) -> StoreResult<bool> {
        Err(crate::unimplemented("bootstrap"))
    }

    async fn account_by_name(&self, _name: &str) -> StoreResult<Option<Account>> {
        Err(crate::unimplemented("account_by_name"))
    }

    async fn account_sites(&self, _id: AccountId) -> StoreResult<Option<AccountSites>> {
        Err(crate::unimplemented("account_sites"))
    }

    async fn access_tokens_named(&self, _name: &str) -> StoreResult<Vec<AccessToken>> {
        Err(crate::unimplemented("access_tokens_named"))
    }

    async fn start_session(&self, _new: &NewSession) -> StoreResult<Session> {
        Err(crate::unimplemented("start_session"))
    }

    async fn session(
        &self,
        _token: &TokenHash,
        _now: OffsetDateTime,
    ) -> StoreResult<Option<Session>> {
        Err(crate::unimplemented("session"))
    }

    async fn end_session(&self, _token: &TokenHash) -> StoreResult<bool> {
        Err(crate::unimplemented("end_session"))
    }
}
