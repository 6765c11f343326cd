//! Records the store reads and writes besides the domain types themselves.

use std::fmt;

use time::OffsetDateTime;
use vizhook_core::{AccessTokenId, AccountId, ContentUrl, SiteId, SiteRole, UserId, Webhook};

/// A site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: SiteId,
    pub name: String,
    pub content_url: ContentUrl,
    /// `ContentAndUsers` or `ContentOnly`.
    pub admin_mode: String,
    /// `Active` or `Suspended`.
    pub state: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
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

/// An account's membership of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteUser {
    pub id: UserId,
    pub site_id: SiteId,
    pub account_id: AccountId,
    pub name: String,
    pub site_role: SiteRole,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub auth_setting: String,
    pub last_login: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// A request to add an account (new or existing) to a site.
#[derive(Debug, Clone)]
pub struct NewSiteUser {
    /// Used when the name has no account yet.
    pub account_id: AccountId,
    pub user_id: UserId,
    pub site_id: SiteId,
    pub name: String,
    pub site_role: SiteRole,
    pub auth_setting: String,
    pub now: OffsetDateTime,
}

/// Changes to a membership; `None` keeps the current value.
#[derive(Clone)]
pub struct SiteUserUpdate {
    pub site_id: SiteId,
    pub user_id: UserId,
    pub site_role: Option<SiteRole>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub auth_setting: Option<String>,
    /// A new argon2 PHC string for the account's password.
    pub password_hash: Option<String>,
}

impl fmt::Debug for SiteUserUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteUserUpdate")
            .field("site_id", &self.site_id)
            .field("user_id", &self.user_id)
            .field("site_role", &self.site_role)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
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
    pub default_project: crate::Project,
    pub account: Account,
    pub user_id: UserId,
    pub access_token: Option<AccessToken>,
    pub now: OffsetDateTime,
}

/// A webhook with its owner's name, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedWebhook {
    pub webhook: Webhook,
    /// Empty when the owner has been removed from the site.
    pub owner_name: String,
}
