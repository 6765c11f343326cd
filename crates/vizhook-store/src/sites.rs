//! The `Sites` aggregate: sites and their users (an account's membership of a site), with the
//! trait a backend implements for them. Every write that fires events takes them as an
//! argument and writes them in its own transaction.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;
use vizhook_core::{AccountId, ContentUrl, SiteId, SiteRole, UserId};

use crate::{
    content::Project,
    error::StoreResult,
    outbox::{PublishEvent, Published},
};

/// Sites and site users.
#[async_trait]
pub trait Sites: Send + Sync {
    /// Creates a site with its Default project, and writes `events`. `Conflict` when the name
    /// or content URL is taken.
    async fn create_site(
        &self,
        site: &Site,
        default_project: &Project,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;
    async fn sites(&self) -> StoreResult<Vec<Site>>;
    async fn site(&self, id: SiteId) -> StoreResult<Option<Site>>;
    async fn site_by_content_url(&self, content_url: &ContentUrl) -> StoreResult<Option<Site>>;
    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>>;
    /// `NotFound` when the site is gone, `Conflict` when the new content URL is taken.
    async fn update_site(
        &self,
        site: &Site,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;
    /// Deletes the site with everything on it (users, sessions, webhooks, content), and writes
    /// `events` (for webhooks on other sites). `NotFound` if absent.
    async fn delete_site(&self, id: SiteId, events: &[PublishEvent])
    -> StoreResult<Vec<Published>>;

    /// Adds a user to a site, creating the account when the name is new (an existing account
    /// added as `ServerAdministrator` becomes a server administrator). `Conflict` when the name
    /// is already a member of the site.
    async fn add_user(&self, new: &NewSiteUser) -> StoreResult<SiteUser>;
    async fn users(&self, site: SiteId) -> StoreResult<Vec<SiteUser>>;
    async fn user(&self, site: SiteId, id: UserId) -> StoreResult<Option<SiteUser>>;
    /// Applies an update to a membership and, for the password, to its account.
    async fn update_user(
        &self,
        update: &SiteUserUpdate,
        events: &[PublishEvent],
    ) -> StoreResult<(SiteUser, Vec<Published>)>;
    /// Removes a user from a site, ending their sessions there. `NotFound` if absent.
    async fn remove_user(
        &self,
        site: SiteId,
        id: UserId,
        events: &[PublishEvent],
    ) -> StoreResult<Vec<Published>>;
}

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
