//! The authorization rules, one case at a time.

use uuid::Uuid;

use super::*;

fn site(n: u128) -> SiteId {
    SiteId::from_uuid(Uuid::from_u128(n))
}

fn user(n: u128) -> UserId {
    UserId::from_uuid(Uuid::from_u128(n))
}

const SITE_A: u128 = 1;
const SITE_B: u128 = 2;

fn actor(role: SiteRole, administered: &[SiteId]) -> Actor<'_> {
    Actor {
        user: user(100),
        role,
        server_admin: role == SiteRole::ServerAdministrator,
        administered_sites: administered,
    }
}

fn member(role: SiteRole, sites: &[SiteId]) -> Subject<'_> {
    Subject {
        user: Some(user(200)),
        role: Some(role),
        server_admin: role == SiteRole::ServerAdministrator,
        sites,
    }
}

fn update(change: UserChange) -> UserAction {
    UserAction::Update(change)
}

fn role(role: SiteRole) -> UserAction {
    update(UserChange {
        site_role: Some(role),
        ..UserChange::default()
    })
}

const PASSWORD: UserAction = UserAction::Update(UserChange {
    site_role: None,
    account_settings: true,
    auth_setting: false,
});

#[test]
fn a_site_administrator_cannot_make_anyone_server_administrator() {
    let b = [site(SITE_B)];
    let admin = actor(SiteRole::SiteAdministratorCreator, &b);
    let mode = AdminMode::ContentAndUsers;
    let myself = Subject {
        user: Some(admin.user),
        ..member(SiteRole::SiteAdministratorCreator, &b)
    };
    assert_eq!(
        authorize_user(&admin, mode, &myself, role(SiteRole::ServerAdministrator)),
        Err(Denied::OwnSiteRole)
    );
    let other = member(SiteRole::Viewer, &b);
    assert_eq!(
        authorize_user(&admin, mode, &other, role(SiteRole::ServerAdministrator)),
        Err(Denied::ServerAdministratorsOnly)
    );
    assert_eq!(
        authorize_user(
            &admin,
            mode,
            &Subject::NEW,
            UserAction::Add {
                role: SiteRole::ServerAdministrator
            }
        ),
        Err(Denied::ServerAdministratorsOnly)
    );
    assert_eq!(
        authorize_user(&admin, mode, &other, role(SiteRole::Creator)),
        Ok(())
    );
}

#[test]
fn a_site_administrator_changes_only_accounts_confined_to_their_sites() {
    let b = [site(SITE_B)];
    let admin = actor(SiteRole::SiteAdministratorExplorer, &b);
    let mode = AdminMode::ContentAndUsers;
    let shared = [site(SITE_A), site(SITE_B)];
    let victim = member(SiteRole::Viewer, &shared);
    assert_eq!(
        authorize_user(&admin, mode, &victim, PASSWORD),
        Err(Denied::SharedAccount)
    );
    let auth = update(UserChange {
        auth_setting: true,
        ..UserChange::default()
    });
    assert_eq!(
        authorize_user(&admin, mode, &victim, auth),
        Err(Denied::SharedAccount)
    );
    // Joining the site and getting a role there is fine: it changes nothing elsewhere.
    let existing = Subject {
        user: None,
        role: None,
        ..victim
    };
    assert_eq!(
        authorize_user(
            &admin,
            mode,
            &existing,
            UserAction::Add {
                role: SiteRole::Viewer
            }
        ),
        Ok(())
    );
    assert_eq!(
        authorize_user(&admin, mode, &victim, role(SiteRole::Explorer)),
        Ok(())
    );
    let confined = member(SiteRole::Viewer, &b);
    assert_eq!(authorize_user(&admin, mode, &confined, PASSWORD), Ok(()));
    // An administrator of both sites may change the shared account.
    let both = actor(SiteRole::SiteAdministratorCreator, &shared);
    assert_eq!(authorize_user(&both, mode, &victim, PASSWORD), Ok(()));
}

#[test]
fn server_administrators_are_managed_by_server_administrators_only() {
    let b = [site(SITE_B)];
    let admin = actor(SiteRole::SiteAdministratorCreator, &b);
    let mode = AdminMode::ContentAndUsers;
    let server_admin = member(SiteRole::ServerAdministrator, &b);
    for action in [
        PASSWORD,
        role(SiteRole::Viewer),
        UserAction::Remove,
        UserAction::Add {
            role: SiteRole::Viewer,
        },
    ] {
        assert_eq!(
            authorize_user(&admin, mode, &server_admin, action),
            Err(Denied::ServerAdministratorsOnly),
            "{action:?}"
        );
    }
    let top = actor(SiteRole::ServerAdministrator, &[]);
    for action in [PASSWORD, role(SiteRole::Viewer), UserAction::Remove] {
        assert_eq!(authorize_user(&top, mode, &server_admin, action), Ok(()));
    }
}

#[test]
fn nobody_changes_their_own_role_or_removes_themselves() {
    let b = [site(SITE_B)];
    for own in [
        SiteRole::ServerAdministrator,
        SiteRole::SiteAdministratorCreator,
        SiteRole::Viewer,
    ] {
        let me = actor(own, &b);
        let myself = Subject {
            user: Some(me.user),
            ..member(own, &b)
        };
        let mode = AdminMode::ContentAndUsers;
        assert_eq!(
            authorize_user(&me, mode, &myself, role(SiteRole::Creator)),
            Err(Denied::OwnSiteRole)
        );
        // Sending the role one already has (tableauserverclient always does) is no change.
        let same = update(UserChange {
            site_role: Some(own),
            account_settings: true,
            auth_setting: false,
        });
        assert_eq!(authorize_user(&me, mode, &myself, same), Ok(()));
        let expected = if own.administers_site() {
            Err(Denied::RemoveSelf)
        } else {
            Err(Denied::NotAdministrator)
        };
        assert_eq!(
            authorize_user(&me, mode, &myself, UserAction::Remove),
            expected
        );
    }
}

#[test]
fn users_who_are_not_administrators_touch_only_their_own_settings() {
    let b = [site(SITE_B)];
    let viewer = actor(SiteRole::Viewer, &[]);
    let mode = AdminMode::ContentAndUsers;
    let other = member(SiteRole::Viewer, &b);
    assert_eq!(
        authorize_user(&viewer, mode, &other, UserAction::Read),
        Err(Denied::NotAdministrator)
    );
    assert_eq!(
        authorize_user(&viewer, mode, &other, PASSWORD),
        Err(Denied::NotAdministrator)
    );
    let myself = Subject {
        user: Some(viewer.user),
        ..other
    };
    assert_eq!(authorize_user(&viewer, mode, &myself, PASSWORD), Ok(()));
    assert_eq!(
        authorize_user(&viewer, mode, &myself, UserAction::Read),
        Ok(())
    );
    let auth = update(UserChange {
        auth_setting: true,
        ..UserChange::default()
    });
    assert_eq!(
        authorize_user(&viewer, mode, &myself, auth),
        Err(Denied::NotAdministrator)
    );
}

#[test]
fn content_only_sites_keep_their_users_from_site_administrators() {
    let b = [site(SITE_B)];
    let admin = actor(SiteRole::SiteAdministratorCreator, &b);
    let other = member(SiteRole::Viewer, &b);
    let mode = AdminMode::ContentOnly;
    for action in [
        role(SiteRole::Creator),
        UserAction::Remove,
        UserAction::Add {
            role: SiteRole::Viewer,
        },
    ] {
        assert_eq!(
            authorize_user(&admin, mode, &other, action),
            Err(Denied::ContentOnly),
            "{action:?}"
        );
    }
    assert_eq!(authorize_user(&admin, mode, &other, PASSWORD), Ok(()));
    let top = actor(SiteRole::ServerAdministrator, &[]);
    assert_eq!(
        authorize_user(&top, mode, &other, UserAction::Remove),
        Ok(())
    );
}

#[test]
fn sites_are_managed_by_server_administrators_and_read_by_their_own_administrators() {
    let b = site(SITE_B);
    let a = site(SITE_A);
    let admin = actor(SiteRole::SiteAdministratorCreator, &[]);
    assert_eq!(
        authorize_site(&admin, b, SiteAction::ManageAll),
        Err(Denied::ServerAdministratorOnly)
    );
    assert_eq!(
        authorize_site(&admin, b, SiteAction::Read { site: b }),
        Ok(())
    );
    assert_eq!(
        authorize_site(&admin, b, SiteAction::Read { site: a }),
        Err(Denied::NotSiteAdministrator)
    );
    let rename = SiteAction::Update {
        site: b,
        settings: false,
    };
    assert_eq!(authorize_site(&admin, b, rename), Ok(()));
    let settings = SiteAction::Update {
        site: b,
        settings: true,
    };
    assert_eq!(
        authorize_site(&admin, b, settings),
        Err(Denied::SiteSettings)
    );
    let creator = actor(SiteRole::Creator, &[]);
    assert_eq!(
        authorize_site(&creator, b, SiteAction::Read { site: b }),
        Err(Denied::NotSiteAdministrator)
    );
    let top = actor(SiteRole::ServerAdministrator, &[]);
    assert_eq!(authorize_site(&top, b, settings), Ok(()));
    assert_eq!(authorize_site(&top, b, SiteAction::ManageAll), Ok(()));
}

#[test]
fn unlicensed_users_cannot_sign_in() {
    assert_eq!(
        authorize_sign_in(SiteRole::Unlicensed),
        Err(Denied::Unlicensed)
    );
    assert_eq!(authorize_sign_in(SiteRole::Viewer), Ok(()));
}
