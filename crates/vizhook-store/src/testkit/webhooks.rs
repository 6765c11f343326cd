//! Conformance checks for `Webhooks`: create, read, update and delete, signing secrets, and a
//! webhook that outlives its owner's membership.

use time::Duration;
use vizhook_core::*;

use super::fixtures::*;
use crate::*;

pub async fn webhooks_round_trip(store: &(impl Identity + Sites + Webhooks)) {
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
