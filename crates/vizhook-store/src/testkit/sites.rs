//! Conformance checks for `Sites`: users (add, update, remove, shared accounts), sites
//! (conflicts, updates, deletion with everything on them), and a failing write alone in its
//! batch.

use futures_util::future::join_all;
use time::Duration;
use uuid::Uuid;
use vizhook_core::*;

use super::fixtures::*;
use crate::*;

pub async fn users_add_update_remove(store: &(impl Identity + Sites)) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let site_id = seed.site.id;
    let alice = store
        .add_user(&new_user(site_id, "alice", SiteRole::Creator))
        .await
        .unwrap();
    assert_eq!(alice.name, "alice");
    assert!(matches!(
        store
            .add_user(&new_user(site_id, "ALICE", SiteRole::Viewer))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let other = site("Other", "other");
    store
        .create_site(&other, &project_for(&other), &[])
        .await
        .unwrap();
    let elsewhere = store
        .add_user(&new_user(other.id, "alice", SiteRole::Viewer))
        .await
        .unwrap();
    assert_eq!(
        elsewhere.account_id, alice.account_id,
        "one account, two memberships"
    );
    assert_ne!(elsewhere.id, alice.id);
    let sites = store
        .account_sites(alice.account_id)
        .await
        .unwrap()
        .expect("alice's account");
    assert_eq!(sites.account.name, "alice");
    let mut members: Vec<_> = sites
        .memberships
        .iter()
        .map(|m| (m.site_id, m.id))
        .collect();
    members.sort();
    let mut expected = vec![(site_id, alice.id), (other.id, elsewhere.id)];
    expected.sort();
    assert_eq!(members, expected, "every membership of the account");
    assert!(
        store
            .account_sites(AccountId::from_uuid(Uuid::from_u128(9)))
            .await
            .unwrap()
            .is_none()
    );
    let promoted = store
        .add_user(&new_user(other.id, "viewer-made-admin", SiteRole::Viewer))
        .await
        .unwrap();
    assert!(
        !store
            .account_sites(promoted.account_id)
            .await
            .unwrap()
            .unwrap()
            .account
            .server_admin
    );
    let third = site("Third", "third");
    store
        .create_site(&third, &project_for(&third), &[])
        .await
        .unwrap();
    store
        .add_user(&new_user(
            third.id,
            "viewer-made-admin",
            SiteRole::ServerAdministrator,
        ))
        .await
        .unwrap();
    assert!(
        store
            .account_sites(promoted.account_id)
            .await
            .unwrap()
            .unwrap()
            .account
            .server_admin,
        "an existing account added as ServerAdministrator becomes one"
    );

    let update = SiteUserUpdate {
        site_id,
        user_id: alice.id,
        site_role: Some(SiteRole::SiteAdministratorCreator),
        full_name: Some("Alice A".to_owned()),
        email: None,
        auth_setting: None,
        password_hash: Some("$argon2id$new".to_owned()),
    };
    let (updated, _) = store.update_user(&update, &[]).await.unwrap();
    assert_eq!(updated.site_role, SiteRole::SiteAdministratorCreator);
    assert_eq!(updated.full_name.as_deref(), Some("Alice A"));
    let account = store.account_by_name("alice").await.unwrap().unwrap();
    assert_eq!(account.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(store.users(site_id).await.unwrap().len(), 2);

    store.remove_user(site_id, alice.id, &[]).await.unwrap();
    assert!(store.user(site_id, alice.id).await.unwrap().is_none());
    assert!(matches!(
        store.remove_user(site_id, alice.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store.user(other.id, elsewhere.id).await.unwrap().is_some(),
        "other site untouched"
    );
}

pub async fn sites_conflict_update_and_cascade(store: &(impl Identity + Sites + Webhooks)) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let mut marketing = site("Marketing", "marketing");
    store
        .create_site(&marketing, &project_for(&marketing), &[])
        .await
        .unwrap();
    let clash = site("Another", "MARKETING");
    assert!(matches!(
        store.create_site(&clash, &project_for(&clash), &[]).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(
        store
            .site_by_content_url(&ContentUrl::parse("Marketing").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.site_by_name("marketing").await.unwrap().map(|s| s.id),
        Some(marketing.id)
    );

    marketing.name = "Marketing EMEA".to_owned();
    marketing.updated_at = T0 + Duration::minutes(1);
    store.update_site(&marketing, &[]).await.unwrap();
    assert_eq!(
        store.site(marketing.id).await.unwrap(),
        Some(marketing.clone())
    );

    let session = store
        .start_session(&new_session(&seed, marketing.id, 7))
        .await
        .unwrap();
    let hook = webhook(marketing.id, session.user.id, "hook");
    store.create_webhook(&hook).await.unwrap();
    store.delete_site(marketing.id, &[]).await.unwrap();
    assert!(store.site(marketing.id).await.unwrap().is_none());
    assert!(
        store.session(&token(7), T0).await.unwrap().is_none(),
        "sessions go with the site"
    );
    assert!(
        store.webhooks(marketing.id).await.unwrap().is_empty(),
        "webhooks go with the site"
    );
    assert!(matches!(
        store.delete_site(marketing.id, &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.update_site(&marketing, &[]).await,
        Err(StoreError::NotFound)
    ));
}

/// Writes that commit together must not fail together: a conflicting write is rolled back alone.
pub async fn failed_write_does_not_spoil_its_batch(store: &(impl Identity + Sites)) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let sites: Vec<Site> = (0..40)
        .map(|i| {
            if i % 4 == 0 {
                site("Default", "dup")
            } else {
                site(&format!("s{i}"), &format!("s{i}"))
            }
        })
        .collect();
    // Issued concurrently so that they reach the writer together.
    let projects: Vec<Project> = sites.iter().map(project_for).collect();
    let results = join_all(
        sites
            .iter()
            .zip(&projects)
            .map(|(site, project)| store.create_site(site, project, &[])),
    )
    .await;
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
        .count();
    assert_eq!(conflicts, 10, "every write of a duplicate name conflicts");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 30);
    assert_eq!(store.sites().await.unwrap().len(), 31);
}
