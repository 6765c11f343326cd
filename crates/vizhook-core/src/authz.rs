//! Who may manage which user and which site: Tableau's rules for site roles, account settings,
//! sign-in and site settings, decided from facts the caller gathers, with no I/O. Every
//! handler that changes an account, a membership or a site asks here first.
//!
//! The rules (Tableau Server help, "View, Manage, or Remove Users", and the REST API reference
//! for Update User and Update Site):
//! - only server administrators manage server administrators: nobody else grants or removes
//!   that role, adds such an account to a site, or changes such an account;
//! - a site administrator changes an account's settings (display name, email, password,
//!   authentication) only when every site the account belongs to is one they administer;
//! - nobody changes their own site role, and nobody removes themselves;
//! - on a site whose admin mode is `ContentOnly`, site administrators do not add or remove
//!   users or change site roles, and only server administrators change a site's admin mode or
//!   state;
//! - an unlicensed user cannot sign in.

use crate::{SiteId, SiteRole, UserId};

/// The signed-in caller, as a member of the site a request is about.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The caller's membership on the site.
    pub user: UserId,
    /// The caller's role on the site.
    pub role: SiteRole,
    /// Whether the caller is a server administrator (their account, and their role here).
    pub server_admin: bool,
    /// Every site on which the caller's account has an administrator role.
    pub administered_sites: &'a [SiteId],
}

impl Actor<'_> {
    /// Server and site administrators administer the site they are signed in to.
    pub fn administers_site(&self) -> bool {
        self.server_admin || self.role.administers_site()
    }
}

/// The account a user action is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Its membership on the site, if it has one (none when it is being added).
    pub user: Option<UserId>,
    /// Its current role on the site, if it is a member.
    pub role: Option<SiteRole>,
    /// Whether the account is a server administrator.
    pub server_admin: bool,
    /// Every site the account belongs to.
    pub sites: &'a [SiteId],
}

impl Subject<'_> {
    /// A subject without an account yet: a new user name.
    pub const NEW: Subject<'static> = Subject {
        user: None,
        role: None,
        server_admin: false,
        sites: &[],
    };

    fn is_server_admin(&self) -> bool {
        self.server_admin || self.role == Some(SiteRole::ServerAdministrator)
    }
}

/// What an update of a user asks to change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChange {
    /// The requested site role, when one is given (the current role counts as no change).
    pub site_role: Option<SiteRole>,
    /// Display name, email or password: settings of the account, not of one membership.
    pub account_settings: bool,
    /// The authentication setting, an account setting that only administrators change.
    pub auth_setting: bool,
}

/// Something a caller does to a user of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Read a user's details.
    Read,
    /// Add an account (new, or existing on other sites) to the site with a role.
    Add { role: SiteRole },
    /// Change a membership or its account.
    Update(UserChange),
    /// Remove a membership from the site.
    Remove,
}

/// Whether site administrators manage the site's users (`ContentAndUsers`) or only its
/// content (`ContentOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminMode {
    ContentAndUsers,
    ContentOnly,
}

impl AdminMode {
    /// Tableau's spelling, case-insensitively; anything else manages users, as Tableau's
    /// default `ContentAndUsers` does.
    pub fn parse(raw: &str) -> Self {
        if raw.eq_ignore_ascii_case("ContentOnly") {
            Self::ContentOnly
        } else {
            Self::ContentAndUsers
        }
    }
}

/// Something a caller does to a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteAction {
    /// Create a site, list every site, or delete one.
    ManageAll,
    /// Read a site.
    Read { site: SiteId },
    /// Change a site; `settings` when it changes its admin mode or state.
    Update { site: SiteId, settings: bool },
}

/// Why an action is refused. Each is a `403` on the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("only server administrators and site administrators may manage other users")]
    NotAdministrator,
    #[error(
        "only server administrators may grant or remove the server administrator role, or add or change a server administrator"
    )]
    ServerAdministratorsOnly,
    #[error("nobody may change their own site role")]
    OwnSiteRole,
    #[error("you cannot remove yourself from the site")]
    RemoveSelf,
    #[error(
        "the user also belongs to a site you do not administer, so only a server administrator may change their account settings"
    )]
    SharedAccount,
    #[error(
        "the site's admin mode is ContentOnly: only server administrators add or remove its users or change their site roles"
    )]
    ContentOnly,
    #[error("only server administrators may do this")]
    ServerAdministratorOnly,
    #[error("only server administrators, or administrators of this site, may do this")]
    NotSiteAdministrator,
    #[error("only server administrators may change a site's admin mode or state")]
    SiteSettings,
    #[error("the user is unlicensed on this site")]
    Unlicensed,
}

/// Decides a user action on the site `actor` is signed in to, whose admin mode is `mode`.
pub fn authorize_user(
    actor: &Actor<'_>,
    mode: AdminMode,
    subject: &Subject<'_>,
    action: UserAction,
) -> Result<(), Denied> {
    let is_self = subject.user == Some(actor.user);
    match action {
        UserAction::Read if is_self => Ok(()),
        UserAction::Read => administrator(actor),
        UserAction::Add { role } => {
            manages_users(actor, mode)?;
            if role == SiteRole::ServerAdministrator || subject.is_server_admin() {
                server_admin_only(actor)?;
            }
            Ok(())
        }
        UserAction::Remove => {
            administrator(actor)?;
            if is_self {
                return Err(Denied::RemoveSelf);
            }
            manages_users(actor, mode)?;
            if subject.is_server_admin() {
                server_admin_only(actor)?;
            }
            Ok(())
        }
        UserAction::Update(change) => {
            let new_role = change.site_role.filter(|role| Some(*role) != subject.role);
            if let Some(role) = new_role {
                if is_self {
                    return Err(Denied::OwnSiteRole);
                }
                manages_users(actor, mode)?;
                if role == SiteRole::ServerAdministrator || subject.is_server_admin() {
                    server_admin_only(actor)?;
                }
            }
            if change.auth_setting {
                administrator(actor)?;
            }
            let others_settings = change.auth_setting || change.account_settings;
            if others_settings && !is_self {
                administrator(actor)?;
                if subject.is_server_admin() {
                    server_admin_only(actor)?;
                }
                owns_every_site(actor, subject)?;
            }
            Ok(())
        }
    }
}

/// Decides a site action by `actor`, signed in to site `signed_in`.
pub fn authorize_site(
    actor: &Actor<'_>,
    signed_in: SiteId,
    action: SiteAction,
) -> Result<(), Denied> {
    if actor.server_admin {
        return Ok(());
    }
    match action {
        SiteAction::ManageAll => Err(Denied::ServerAdministratorOnly),
        SiteAction::Read { site }
        | SiteAction::Update {
            site,
            settings: false,
        } => {
            if site == signed_in && actor.role.administers_site() {
                Ok(())
            } else {
                Err(Denied::NotSiteAdministrator)
            }
        }
        SiteAction::Update {
            site,
            settings: true,
        } => {
            if site == signed_in && actor.role.administers_site() {
                Err(Denied::SiteSettings)
            } else {
                Err(Denied::NotSiteAdministrator)
            }
        }
    }
}

/// Whether a member with `role` may sign in, or keep using a session.
pub fn authorize_sign_in(role: SiteRole) -> Result<(), Denied> {
    if role == SiteRole::Unlicensed {
        Err(Denied::Unlicensed)
    } else {
        Ok(())
    }
}

fn administrator(actor: &Actor<'_>) -> Result<(), Denied> {
    if actor.administers_site() {
        Ok(())
    } else {
        Err(Denied::NotAdministrator)
    }
}

fn server_admin_only(actor: &Actor<'_>) -> Result<(), Denied> {
    if actor.server_admin {
        Ok(())
    } else {
        Err(Denied::ServerAdministratorsOnly)
    }
}

/// Site administrators manage users only where the admin mode lets them.
fn manages_users(actor: &Actor<'_>, mode: AdminMode) -> Result<(), Denied> {
    administrator(actor)?;
    if mode == AdminMode::ContentOnly && !actor.server_admin {
        return Err(Denied::ContentOnly);
    }
    Ok(())
}

/// A site administrator changes an account only when they administer all of its sites.
fn owns_every_site(actor: &Actor<'_>, subject: &Subject<'_>) -> Result<(), Denied> {
    let owned = subject
        .sites
        .iter()
        .all(|site| actor.administered_sites.contains(site));
    if actor.server_admin || owned {
        Ok(())
    } else {
        Err(Denied::SharedAccount)
    }
}

#[cfg(test)]
mod tests;
