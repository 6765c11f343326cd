//! The `Identity` aggregate: server-wide accounts, their personal access tokens, sign-in
//! sessions, and the first-run seed, with the trait a backend implements for them.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{AccessTokenId, AccountId, SiteId, UserId};

use crate::{
    content::Project,
    error::StoreResult,
    sites::{Site, SiteUser},
};

/// Accounts, tokens and sessions: what authentication reads and writes.
#[async_trait]
pub trait Identity: Send + Sync {
    /// Seeds an empty database: the Default site, the first server administrator and their
    /// personal access token, in one transaction. Returns `false` (and changes nothing) when
    /// the database already holds a site.
    async fn bootstrap(&self, seed: &BootstrapSeed) -> StoreResult<bool>;
    /// The account with this user name (case-insensitive), if any.
    async fn account_by_name(&self, name: &str) -> StoreResult<Option<Account>>;
    /// The account with this id and every site membership it has (for authorization).
    async fn account_sites(&self, id: AccountId) -> StoreResult<Option<AccountSites>>;
    /// Every personal access token with this name; secrets are checked by the caller.
    async fn access_tokens_named(&self, name: &str) -> StoreResult<Vec<AccessToken>>;
    /// Signs an account in to a site: server administrators become members of any site they
    /// sign in to; the sign-in time is recorded. `NotFound` when the account is not a member.
    async fn start_session(&self, new: &NewSession) -> StoreResult<Session>;
    /// The live session for a token hash at `now`, if any.
    async fn session(&self, token: &TokenHash, now: OffsetDateTime)
    -> StoreResult<Option<Session>>;
    /// Ends a session. Returns whether one existed.
    async fn end_session(&self, token: &TokenHash) -> StoreResult<bool>;
}

/// A server-wide account: a user name and its credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// An argon2 PHC string; `None` when the account cannot sign in with a password.
    pub password_hash: Option<String>,
    pub server_admin: bool,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("name", &self.name)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .field("server_admin", &self.server_admin)
            .finish()
    }
}

/// An account with every site membership it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSites {
    pub account: Account,
    pub memberships: Vec<SiteUser>,
}

/// A personal access token. Only a hash of its secret is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: AccessTokenId,
    pub account_id: AccountId,
    pub name: String,
    /// An argon2 PHC string.
    pub secret_hash: String,
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of a session token; the token itself is never stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// A sign-in to record.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: TokenHash,
    pub account_id: AccountId,
    pub site_id: SiteId,
    /// The membership id to use if a server administrator has none on this site yet.
    pub new_user_id: UserId,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A signed-in user on one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: SiteUser,
    pub site: Site,
    pub server_admin: bool,
    pub expires_at: OffsetDateTime,
}

/// What an empty database is seeded with.
#[derive(Debug, Clone)]
pub struct BootstrapSeed {
    pub site: Site,
    pub default_project: Project,
    pub account: Account,
    pub user_id: UserId,
    pub access_token: Option<AccessToken>,
    pub now: OffsetDateTime,
}
