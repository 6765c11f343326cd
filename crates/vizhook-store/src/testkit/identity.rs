//! Conformance checks for `Identity`: the first-run seed, sessions (start, expiry, end),
//! server administrators joining sites at sign-in, and who may sign in where.

use time::Duration;
use vizhook_core::*;

use super::fixtures::*;
use crate::*;

pub async fn bootstrap_seeds_once(store: &(impl Identity + Sites)) {
    let seed = seed();
    assert!(store.bootstrap(&seed).await.unwrap());
    assert!(
        !store.bootstrap(&super::fixtures::seed()).await.unwrap(),
        "second seed is a no-op"
    );
    let sites = store.sites().await.unwrap();
    assert_eq!(sites, vec![seed.site.clone()]);
    let account = store
        .account_by_name("ADMIN")
        .await
        .unwrap()
        .expect("names are case-insensitive");
    assert_eq!(account, seed.account);
    let tokens = store.access_tokens_named("ci-token").await.unwrap();
    assert_eq!(tokens, vec![seed.access_token.clone().unwrap()]);
    let users = store.users(seed.site.id).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, seed.user_id);
    assert_eq!(users[0].site_role, SiteRole::ServerAdministrator);
}

pub async fn sessions_start_expire_and_end(store: &impl Identity) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let session = store
        .start_session(&new_session(&seed, seed.site.id, 1))
        .await
        .unwrap();
    assert_eq!(
        session.user.id, seed.user_id,
        "an existing membership is reused"
    );
    assert_eq!(session.user.last_login, Some(T0));
    assert_eq!(session.site, seed.site);
    assert!(session.server_admin);

    let live = store
        .session(&token(1), T0 + Duration::hours(3))
        .await
        .unwrap();
    assert_eq!(live.map(|s| s.user.id), Some(seed.user_id));
    let expired = store
        .session(&token(1), T0 + Duration::hours(4))
        .await
        .unwrap();
    assert!(expired.is_none(), "a session is dead at its expiry time");
    assert!(store.session(&token(2), T0).await.unwrap().is_none());

    assert!(store.end_session(&token(1)).await.unwrap());
    assert!(!store.end_session(&token(1)).await.unwrap());
    assert!(store.session(&token(1), T0).await.unwrap().is_none());
}

pub async fn server_admins_join_any_site_at_sign_in(store: &(impl Identity + Sites)) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let other = site("Marketing", "marketing");
    store
        .create_site(&other, &project_for(&other), &[])
        .await
        .unwrap();
    let new = new_session(&seed, other.id, 3);
    let session = store.start_session(&new).await.unwrap();
    assert_eq!(session.user.id, new.new_user_id);
    assert_eq!(session.user.site_role, SiteRole::ServerAdministrator);
    assert_eq!(session.site.id, other.id);
    let again = store
        .start_session(&new_session(&seed, other.id, 4))
        .await
        .unwrap();
    assert_eq!(again.user.id, new.new_user_id, "membership is created once");
}

pub async fn members_only_for_other_accounts(store: &(impl Identity + Sites)) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let other = site("Sales", "sales");
    store
        .create_site(&other, &project_for(&other), &[])
        .await
        .unwrap();
    let viewer = store
        .add_user(&new_user(seed.site.id, "viewer", SiteRole::Viewer))
        .await
        .unwrap();
    let attempt = NewSession {
        account_id: viewer.account_id,
        ..new_session(&seed, other.id, 5)
    };
    assert!(matches!(
        store.start_session(&attempt).await,
        Err(StoreError::NotFound)
    ));
    let home = NewSession {
        account_id: viewer.account_id,
        ..new_session(&seed, seed.site.id, 6)
    };
    assert_eq!(store.start_session(&home).await.unwrap().user.id, viewer.id);
}
