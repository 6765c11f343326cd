//! The conformance suite every backend must pass. A backend's `tests/conformance.rs` invokes
//! [`conformance_tests!`](crate::conformance_tests) with a function that opens a fresh, empty
//! store; each check then runs as its own test.

use futures_util::future::join_all;
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;
use vizhook_core::*;

use crate::*;

mod content;
mod inbox;
mod outbox;
pub use content::*;
pub use inbox::*;
pub use outbox::*;

/// Generates one `#[tokio::test]` per conformance check, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make,
            bootstrap_seeds_once,
            sessions_start_expire_and_end,
            server_admins_join_any_site_at_sign_in,
            members_only_for_other_accounts,
            users_add_update_remove,
            sites_conflict_update_and_cascade,
            webhooks_round_trip,
            failed_write_does_not_spoil_its_batch,
            publish_fans_out_to_enabled_subscribers,
            leases_expire_and_claims_exclude_busy_webhooks,
            concurrent_claims_never_share_a_delivery,
            publishing_can_lease_new_deliveries,
            signing_secrets_reach_their_deliveries,
            attempts_move_deliveries_and_count_failures,
            four_failed_deliveries_disable_with_a_notice,
            disabled_webhooks_pause_and_resume,
            delivery_log_redeliver_and_prune,
            content_round_trips_with_connections_and_views,
            a_failing_change_publishes_nothing,
            projects_cascade_and_labels_are_unique_per_value,
            jobs_finish_and_site_and_user_changes_fire_events,
            names_are_unique_and_one_job_runs_per_target,
            inbox_dedups_within_window,
            inbox_groups_repeat_and_resolve,
            recovery_supersedes_unsent_failures,
            tasks_lease_retry_and_finish,
            receiving_can_lease_new_tasks,
            concurrent_task_claims_never_share,
            failed_receive_does_not_spoil_its_batch,
            prune_inbox_keeps_pending_work,
        );
    };
    (@each $make:path, $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let store = $make().await;
                $crate::testkit::$check(&store).await;
            }
        )*
    };
}

pub const T0: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

/// Makes a fresh random id of any id type.
macro_rules! new_id {
    () => {
        from_uuid(Uuid::new_v4())
    };
}

/// Lets `new_id!()` produce whichever id type the context asks for.
pub(crate) trait FromUuid {
    fn make(uuid: Uuid) -> Self;
}

macro_rules! impl_from_uuid {
    ($($ty:ty),*) => { $(impl FromUuid for $ty { fn make(uuid: Uuid) -> Self { <$ty>::from_uuid(uuid) } })* };
}
impl_from_uuid!(
    SiteId,
    UserId,
    AccountId,
    WebhookId,
    AccessTokenId,
    EventId,
    ProjectId,
    DatasourceId,
    WorkbookId,
    ViewId,
    ConnectionId,
    JobId,
    LabelId
);

pub(crate) fn from_uuid<T: FromUuid>(uuid: Uuid) -> T {
    T::make(uuid)
}

/// A fresh random id of any id type.
pub(crate) fn fresh<T: FromUuid>() -> T {
    from_uuid(Uuid::new_v4())
}

pub fn site(name: &str, content_url: &str) -> Site {
    Site {
        id: new_id!(),
        name: name.to_owned(),
        content_url: ContentUrl::parse(content_url).unwrap(),
        admin_mode: "ContentAndUsers".to_owned(),
        state: "Active".to_owned(),
        created_at: T0,
        updated_at: T0,
    }
}

/// A site's Default project.
pub fn project_for(site: &Site) -> Project {
    Project {
        id: new_id!(),
        site_id: site.id,
        name: "Default".to_owned(),
        description: String::new(),
        parent_id: None,
        owner_id: new_id!(),
        created_at: T0,
        updated_at: T0,
    }
}

pub fn seed() -> BootstrapSeed {
    let account = Account {
        id: new_id!(),
        name: "admin".to_owned(),
        password_hash: Some("$argon2id$fake".to_owned()),
        server_admin: true,
    };
    let access_token = AccessToken {
        id: new_id!(),
        account_id: account.id,
        name: "ci-token".to_owned(),
        secret_hash: "$argon2id$fake-secret".to_owned(),
        created_at: T0,
    };
    let site = Site {
        name: "Default".to_owned(),
        ..site("Default", "")
    };
    BootstrapSeed {
        default_project: project_for(&site),
        site,
        account,
        user_id: new_id!(),
        access_token: Some(access_token),
        now: T0,
    }
}

pub(crate) fn token(byte: u8) -> TokenHash {
    TokenHash([byte; 32])
}

fn new_session(seed: &BootstrapSeed, site: SiteId, byte: u8) -> NewSession {
    NewSession {
        token: token(byte),
        account_id: seed.account.id,
        site_id: site,
        new_user_id: new_id!(),
        now: T0,
        expires_at: T0 + Duration::hours(4),
    }
}

fn new_user(site: SiteId, name: &str, role: SiteRole) -> NewSiteUser {
    NewSiteUser {
        account_id: new_id!(),
        user_id: new_id!(),
        site_id: site,
        name: name.to_owned(),
        site_role: role,
        auth_setting: "ServerDefault".to_owned(),
        now: T0,
    }
}

pub(crate) fn webhook(site: SiteId, owner: UserId, name: &str) -> Webhook {
    Webhook::create(
        NewWebhookContext {
            id: new_id!(),
            site_id: site,
            owner_id: owner,
            now: T0,
        },
        WebhookName::parse(name).unwrap(),
        EventKind::DatasourceRefreshFailed,
        DestinationUrl::parse("https://example.com/hook?key=secret", UrlPolicy::default()).unwrap(),
        StatusPatch::default(),
    )
    .unwrap()
}

pub async fn bootstrap_seeds_once(store: &impl Store) {
    let seed = seed();
    assert!(store.bootstrap(&seed).await.unwrap());
    assert!(
        !store.bootstrap(&crate::testkit::seed()).await.unwrap(),
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

pub async fn sessions_start_expire_and_end(store: &impl Store) {
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

pub async fn server_admins_join_any_site_at_sign_in(store: &impl Store) {
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

pub async fn members_only_for_other_accounts(store: &impl Store) {
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

pub async fn users_add_update_remove(store: &impl Store) {
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

pub async fn sites_conflict_update_and_cascade(store: &impl Store) {
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

pub async fn webhooks_round_trip(store: &impl Store) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let site_id = seed.site.id;
    let mut hook = webhook(site_id, seed.user_id, "first");
    store.create_webhook(&hook).await.unwrap();
    let second = Webhook {
        created_at: T0 + Duration::seconds(1),
        ..webhook(site_id, seed.user_id, "second")
    };
    store.create_webhook(&second).await.unwrap();

    let stored = store.webhook(site_id, hook.id).await.unwrap().unwrap();
    assert_eq!(stored.webhook, hook);
    assert_eq!(stored.owner_name, "admin");
    let all = store.webhooks(site_id).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|w| w.webhook.name.as_str())
            .collect::<Vec<_>>(),
        ["first", "second"]
    );

    hook.disable_with_reason("paused", T0 + Duration::minutes(5));
    store.update_webhook(&hook).await.unwrap();
    assert_eq!(
        store
            .webhook(site_id, hook.id)
            .await
            .unwrap()
            .unwrap()
            .webhook,
        hook
    );

    let other = site("Elsewhere", "elsewhere");
    store
        .create_site(&other, &project_for(&other), &[])
        .await
        .unwrap();
    assert!(
        store.webhook(other.id, hook.id).await.unwrap().is_none(),
        "webhooks are per site"
    );
    assert!(matches!(
        store.delete_webhook(other.id, hook.id).await,
        Err(StoreError::NotFound)
    ));

    store.delete_webhook(site_id, hook.id).await.unwrap();
    assert!(store.webhook(site_id, hook.id).await.unwrap().is_none());
    assert!(matches!(
        store.update_webhook(&hook).await,
        Err(StoreError::NotFound)
    ));

    store.remove_user(site_id, seed.user_id, &[]).await.unwrap();
    let orphan = store.webhook(site_id, second.id).await.unwrap().unwrap();
    assert_eq!(
        orphan.owner_name, "",
        "a webhook outlives its owner's membership"
    );
}

/// Writes that commit together must not fail together: a conflicting write is rolled back alone.
pub async fn failed_write_does_not_spoil_its_batch(store: &impl Store) {
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
