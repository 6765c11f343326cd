//! Authorization on the Tableau API: gathers from the store the facts that
//! `vizhook_core::authz` decides on (the caller's administered sites, the target account's
//! sites and server administrator flag, the site's admin mode) and turns a refusal into
//! Tableau's `403`. Every handler that reads or changes a user, an account or a site, and
//! sign-in itself, asks here; no handler decides these rules on its own.

use vizhook_core::{
    SiteId, SiteRole,
    authz::{self, Actor, AdminMode, Denied, SiteAction, Subject, UserAction},
};
use vizhook_store::{Account, AccountSites, SiteUser};

use super::{
    auth::Caller,
    error::{ApiError, ApiResult},
};
use crate::state::AppState;

/// The account a user action is about.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A user name without an account yet.
    New,
    /// An account that exists, not (yet) a member of the caller's site.
    Account(&'a Account),
    /// A member of the caller's site.
    Member(&'a SiteUser),
}

/// Allows `action` on `target` for `caller`, or refuses it with Tableau's `403`.
pub async fn user(
    state: &AppState,
    caller: &Caller,
    target: Target<'_>,
    action: UserAction,
) -> ApiResult<()> {
    let session = &caller.0;
    let administered = administered_sites(state, caller).await?;
    let actor = actor(caller, &administered);
    let account = match target {
        Target::New => None,
        Target::Account(account) => Some(account.id),
        Target::Member(member) => Some(member.account_id),
    };
    let facts = match account {
        Some(id) => state.store.account_sites(id).await?,
        None => None,
    };
    let sites = facts.as_ref().map(site_ids).unwrap_or_default();
    let member = match target {
        Target::Member(member) => Some(member),
        Target::New | Target::Account(_) => None,
    };
    let subject = Subject {
        user: member.map(|m| m.id),
        role: member.map(|m| m.site_role),
        server_admin: facts.as_ref().is_some_and(|f| f.account.server_admin),
        sites: &sites,
    };
    let mode = AdminMode::parse(&session.site.admin_mode);
    authz::authorize_user(&actor, mode, &subject, action).map_err(|denied| match action {
        UserAction::Update(_) => ApiError::user_update_forbidden(format!(
            "User '{}' is unauthorized to update user '{}': {denied}.",
            session.user.name,
            member.map(|m| m.id.to_string()).unwrap_or_default()
        )),
        UserAction::Read | UserAction::Add { .. } | UserAction::Remove => forbidden(denied),
    })
}

/// Allows `action` on a site for `caller`, or refuses it with `403004`. Site rules need no
/// stored facts: the caller's role on the site they signed in to, and whether they are a
/// server administrator, decide.
pub fn site(caller: &Caller, action: SiteAction) -> ApiResult<()> {
    let actor = actor(caller, &[]);
    authz::authorize_site(&actor, caller.0.site.id, action).map_err(forbidden)
}

/// Whether a member with `role` may sign in, as a `401001` otherwise.
pub fn sign_in(role: SiteRole) -> ApiResult<()> {
    authz::authorize_sign_in(role).map_err(|denied| {
        ApiError::signin_failed(format!("Error signing in to Tableau Server: {denied}."))
    })
}

fn actor<'a>(caller: &Caller, administered: &'a [SiteId]) -> Actor<'a> {
    Actor {
        user: caller.0.user.id,
        role: caller.0.user.site_role,
        server_admin: caller.is_server_admin(),
        administered_sites: administered,
    }
}

/// The sites on which the caller's account holds an administrator role.
async fn administered_sites(state: &AppState, caller: &Caller) -> ApiResult<Vec<SiteId>> {
    let facts = state.store.account_sites(caller.0.user.account_id).await?;
    Ok(facts
        .map(|facts| {
            facts
                .memberships
                .iter()
                .filter(|m| m.site_role.administers_site())
                .map(|m| m.site_id)
                .collect()
        })
        .unwrap_or_default())
}

fn site_ids(facts: &AccountSites) -> Vec<SiteId> {
    facts.memberships.iter().map(|m| m.site_id).collect()
}

fn forbidden(denied: Denied) -> ApiError {
    ApiError::forbidden(vizhook_tableau::error::sentence(&denied.to_string()))
}
