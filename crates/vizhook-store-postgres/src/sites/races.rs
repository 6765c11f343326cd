//! Concurrent writes of identity and sites that a single writer would have serialized: on
//! PostgreSQL they race, and must end as if they had not (against the server named by
//! `VIZHOOK_TEST_POSTGRES_URL`; skipped, by name, when it is unset).

use futures_util::future::join_all;
use uuid::Uuid;
use vizhook_core::{AccountId, SiteId, SiteRole, UserId};
use vizhook_store::{
    Identity, NewSession, NewSiteUser, Sites, StoreError,
    testkit::{T0, project_for, seed, site},
};

use crate::{PgStore, testing};

async fn store(test: &str) -> Option<PgStore> {
    let url = testing::fresh_url(test).await?;
    Some(PgStore::open(&url).await.expect("open store"))
}

fn new_user(site_id: SiteId, name: &str) -> NewSiteUser {
    NewSiteUser {
        account_id: AccountId::from_uuid(Uuid::new_v4()),
        user_id: UserId::from_uuid(Uuid::new_v4()),
        site_id,
        name: name.to_owned(),
        site_role: SiteRole::Viewer,
        auth_setting: "ServerDefault".to_owned(),
        now: T0,
    }
}

#[tokio::test]
async fn concurrent_adds_of_one_new_name_conflict_once() {
    let Some(store) = store("concurrent_adds_of_one_new_name_conflict_once").await else {
        return;
    };
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    for round in 0..10 {
        let name = format!("racer{round}");
        let adds = [
            new_user(seed.site.id, &name),
            new_user(seed.site.id, &name.to_uppercase()),
        ];
        let results = join_all(adds.iter().map(|new| store.add_user(new))).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict { .. })))
            .count();
        assert_eq!((ok, conflicts), (1, 1), "{results:?}");
    }
}

#[tokio::test]
async fn concurrent_adds_of_one_new_name_to_two_sites_share_an_account() {
    let Some(store) = store("concurrent_adds_of_one_new_name_to_two_sites_share_an_account").await
    else {
        return;
    };
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let other = site("Other", "other");
    store
        .create_site(&other, &project_for(&other), &[])
        .await
        .unwrap();
    for round in 0..10 {
        let name = format!("shared{round}");
        let adds = [new_user(seed.site.id, &name), new_user(other.id, &name)];
        let results = join_all(adds.iter().map(|new| store.add_user(new))).await;
        let users: Vec<_> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(users[0].account_id, users[1].account_id);
    }
}

#[tokio::test]
async fn concurrent_sign_ins_of_an_administrator_join_a_site_once() {
    let Some(store) = store("concurrent_sign_ins_of_an_administrator_join_a_site_once").await
    else {
        return;
    };
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    for round in 0..10u8 {
        let other = site(&format!("Site {round}"), &format!("site{round}"));
        store
            .create_site(&other, &project_for(&other), &[])
            .await
            .unwrap();
        let sign_ins: Vec<NewSession> = (0..4u8)
            .map(|i| NewSession {
                token: vizhook_store::TokenHash([round * 4 + i; 32]),
                account_id: seed.account.id,
                site_id: other.id,
                new_user_id: UserId::from_uuid(Uuid::new_v4()),
                now: T0,
                expires_at: T0 + time::Duration::hours(1),
            })
            .collect();
        let sessions = join_all(sign_ins.iter().map(|new| store.start_session(new))).await;
        let users: Vec<UserId> = sessions.into_iter().map(|s| s.unwrap().user.id).collect();
        assert!(users.iter().all(|id| *id == users[0]), "{users:?}");
        assert_eq!(store.users(other.id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn concurrent_bootstraps_seed_once() {
    let Some(store) = store("concurrent_bootstraps_seed_once").await else {
        return;
    };
    let seeds: Vec<_> = (0..4).map(|_| seed()).collect();
    let results = join_all(seeds.iter().map(|s| store.bootstrap(s))).await;
    let seeded: Vec<bool> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(seeded.iter().filter(|s| **s).count(), 1, "{seeded:?}");
    assert_eq!(store.sites().await.unwrap().len(), 1);
}
