//! Conformance checks for the outbox: publishing, leasing, attempts, failure accounting,
//! pausing, the delivery log (its filters, the site-wide log and per-minute counts) and
//! retention.

use futures_util::future::join_all;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use vizhook_core::*;

use super::fixtures::{T0, seed, webhook};
use crate::*;

fn event(site: SiteId, kind: EventKind, name: &str) -> PublishEvent {
    let event = Event {
        id: EventId::from_uuid(Uuid::new_v4()),
        kind,
        resource: kind.default_resource(),
        resource_name: name.to_owned(),
        site_id: site,
        resource_luid: Uuid::new_v4().to_string(),
        created_at: T0,
    };
    let payload = format!(r#"{{"event_type":"{kind}","resource_name":"{name}"}}"#).into_bytes();
    PublishEvent { event, payload }
}

fn claim_at(now: OffsetDateTime, limit: u32) -> ClaimRequest {
    ClaimRequest {
        now,
        lease_until: now + Duration::seconds(30),
        limit,
        exclude: Vec::new(),
    }
}

fn attempt(claimed: &ClaimedDelivery, status: Option<u16>, next: AttemptNext) -> AttemptRecord {
    AttemptRecord {
        delivery_id: claimed.id,
        webhook_id: claimed.webhook_id,
        number: claimed.attempt,
        started_at: T0,
        latency_ms: 12,
        status,
        error: status.is_none().then(|| "connection refused".to_owned()),
        response_excerpt: status.map(|s| format!("answer {s}")),
        next,
    }
}

fn policy(disable_after: u32) -> FailurePolicy {
    FailurePolicy {
        disable_after,
        reason: "disabled after failures".to_owned(),
        now: T0,
    }
}

/// A seeded store with one webhook per given (event, enabled) on the Default site.
async fn with_webhooks(
    store: &(impl Identity + Webhooks),
    hooks: &[(EventKind, bool)],
) -> (BootstrapSeed, Vec<Webhook>) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    let mut created = Vec::new();
    for (i, (kind, enabled)) in hooks.iter().enumerate() {
        let mut hook = webhook(seed.site.id, seed.user_id, &format!("hook-{i}"));
        hook.event = *kind;
        hook.enabled = *enabled;
        hook.created_at = T0 + Duration::seconds(i as i64);
        store.create_webhook(&hook).await.unwrap();
        created.push(hook);
    }
    (seed, created)
}

pub async fn publish_fans_out_to_enabled_subscribers(
    store: &(impl Identity + Sites + Webhooks + Outbox),
) {
    use EventKind::*;
    let hooks = [
        (DatasourceCreated, true),
        (DatasourceCreated, true),
        (DatasourceCreated, false),
        (WorkbookCreated, true),
    ];
    let (seed, hooks) = with_webhooks(store, &hooks).await;
    let other = super::fixtures::site("Other", "other");
    store
        .create_site(&other, &super::fixtures::project_for(&other), &[])
        .await
        .unwrap();
    let published = store
        .publish_events(&[
            event(seed.site.id, DatasourceCreated, "sales"),
            event(other.id, DatasourceCreated, "x"),
        ])
        .await
        .unwrap();
    assert_eq!(
        published.iter().map(|p| p.deliveries).collect::<Vec<_>>(),
        [2, 0]
    );

    let claimed = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    let mut webhooks: Vec<WebhookId> = claimed.iter().map(|c| c.webhook_id).collect();
    webhooks.sort();
    let mut expected = vec![hooks[0].id, hooks[1].id];
    expected.sort();
    assert_eq!(
        webhooks, expected,
        "only enabled subscribers of that event on that site"
    );
    for c in &claimed {
        assert_eq!(c.event_id, published[0].event_id);
        assert_eq!(
            c.payload,
            br#"{"event_type":"DatasourceCreated","resource_name":"sales"}"#
        );
        assert_eq!(c.url, "https://example.com/hook?key=secret");
        assert_eq!((c.attempt, c.round_attempt), (1, 1));
    }
    assert_ne!(claimed[0].id, claimed[1].id);
}

pub async fn leases_expire_and_claims_exclude_busy_webhooks(
    store: &(impl Identity + Webhooks + Outbox),
) {
    use EventKind::*;
    let (seed, hooks) = with_webhooks(
        store,
        &[(DatasourceCreated, true), (DatasourceCreated, true)],
    )
    .await;
    store
        .publish_events(&[event(seed.site.id, DatasourceCreated, "a")])
        .await
        .unwrap();
    let early = store
        .claim_deliveries(&claim_at(T0 - Duration::seconds(1), 10))
        .await
        .unwrap();
    assert!(early.is_empty(), "not due before its time");

    let busy = ClaimRequest {
        exclude: vec![hooks[0].id],
        ..claim_at(T0, 10)
    };
    let first = store.claim_deliveries(&busy).await.unwrap();
    assert_eq!(
        first.iter().map(|c| c.webhook_id).collect::<Vec<_>>(),
        [hooks[1].id]
    );
    let second = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.webhook_id).collect::<Vec<_>>(),
        [hooks[0].id],
        "leased ones are skipped"
    );
    assert!(
        store
            .claim_deliveries(&claim_at(T0 + Duration::seconds(29), 10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(T0 + Duration::seconds(30)),
        "due again when the leases end"
    );
    let retaken = store
        .claim_deliveries(&claim_at(T0 + Duration::seconds(30), 10))
        .await
        .unwrap();
    assert_eq!(retaken.len(), 2, "a claimer that died loses its leases");
    assert_eq!(
        retaken[0].attempt, 1,
        "an attempt that was never recorded does not count"
    );
}

pub async fn concurrent_claims_never_share_a_delivery(store: &(impl Identity + Webhooks + Outbox)) {
    let (seed, _) = with_webhooks(store, &[(EventKind::ViewDeleted, true)]).await;
    let events: Vec<PublishEvent> = (0..200)
        .map(|i| event(seed.site.id, EventKind::ViewDeleted, &format!("v{i}")))
        .collect();
    store.publish_events(&events).await.unwrap();
    let request = claim_at(T0, 40);
    let claims = join_all((0..8).map(|_| store.claim_deliveries(&request))).await;
    let mut ids: Vec<DeliveryId> = claims
        .into_iter()
        .flat_map(Result::unwrap)
        .map(|c| c.id)
        .collect();
    assert_eq!(ids.len(), 200);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no delivery was claimed twice");
}

pub async fn publishing_can_lease_new_deliveries(store: &(impl Identity + Webhooks + Outbox)) {
    use EventKind::*;
    let (seed, hooks) = with_webhooks(
        store,
        &[
            (DatasourceCreated, true),
            (DatasourceCreated, true),
            (DatasourceCreated, true),
        ],
    )
    .await;
    let events = [
        event(seed.site.id, DatasourceCreated, "a"),
        event(seed.site.id, DatasourceCreated, "b"),
    ];
    let lease = ClaimRequest {
        exclude: vec![hooks[1].id],
        ..claim_at(T0, 3)
    };
    let publication = store.publish_leasing(&events, &lease).await.unwrap();
    assert_eq!(
        publication
            .published
            .iter()
            .map(|p| p.deliveries)
            .collect::<Vec<_>>(),
        [3, 3]
    );
    let leased = &publication.leased;
    assert_eq!(leased.len(), 3, "as many as the lease's limit");
    assert!(
        leased.iter().all(|d| d.webhook_id != hooks[1].id),
        "none of an excluded webhook"
    );
    for d in leased {
        let event = events.iter().find(|e| e.event.id == d.event_id).unwrap();
        assert_eq!(d.payload, event.payload);
        assert_eq!(d.url, "https://example.com/hook?key=secret");
        assert_eq!(
            (d.attempt, d.round_attempt, d.site_id),
            (1, 1, seed.site.id)
        );
    }

    let longer = ClaimRequest {
        lease_until: T0 + Duration::seconds(60),
        ..claim_at(T0, 10)
    };
    let claimed = store.claim_deliveries(&longer).await.unwrap();
    assert_eq!(claimed.len(), 3, "the others are due at once");
    assert!(claimed.iter().all(|c| leased.iter().all(|d| d.id != c.id)));
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(T0 + Duration::seconds(30)),
        "the leased ones are due when their lease ends"
    );
    let retaken = store
        .claim_deliveries(&claim_at(T0 + Duration::seconds(30), 10))
        .await
        .unwrap();
    let mut retaken: Vec<DeliveryId> = retaken.iter().map(|c| c.id).collect();
    let mut leased: Vec<DeliveryId> = leased.iter().map(|d| d.id).collect();
    retaken.sort();
    leased.sort();
    assert_eq!(retaken, leased, "a caller that died loses its leases");

    let none = store
        .publish_leasing(&[event(seed.site.id, WorkbookCreated, "w")], &lease)
        .await
        .unwrap();
    assert_eq!(none.published[0].deliveries, 0);
    assert!(none.leased.is_empty());

    let mut later = event(seed.site.id, DatasourceCreated, "later");
    later.event.created_at = T0 + Duration::seconds(90);
    let not_due = store.publish_leasing(&[later], &lease).await.unwrap();
    assert_eq!(not_due.published[0].deliveries, 3);
    assert!(
        not_due.leased.is_empty(),
        "only deliveries due now are leased"
    );
}

/// A webhook's own signing secret reaches the deliveries a publication leases and the ones a
/// claim leases; removing it leaves them unsigned; a missing webhook is `NotFound`.
pub async fn signing_secrets_reach_their_deliveries(store: &(impl Identity + Webhooks + Outbox)) {
    use EventKind::*;
    let (seed, hooks) =
        with_webhooks(store, &[(WorkbookCreated, true), (WorkbookCreated, true)]).await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    store
        .set_signing_secret(seed.site.id, hooks[0].id, Some(secret.to_owned()))
        .await
        .unwrap();
    let secret_of = |deliveries: &[ClaimedDelivery], hook: WebhookId| {
        let found = deliveries.iter().find(|d| d.webhook_id == hook).unwrap();
        found.signing_secret.clone()
    };
    let events = [event(seed.site.id, WorkbookCreated, "a")];
    let leased = store
        .publish_leasing(&events, &claim_at(T0, 10))
        .await
        .unwrap()
        .leased;
    assert_eq!(secret_of(&leased, hooks[0].id).as_deref(), Some(secret));
    assert_eq!(secret_of(&leased, hooks[1].id), None);

    store
        .publish_events(&[event(seed.site.id, WorkbookCreated, "b")])
        .await
        .unwrap();
    let claimed = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    assert_eq!(secret_of(&claimed, hooks[0].id).as_deref(), Some(secret));

    store
        .set_signing_secret(seed.site.id, hooks[0].id, None)
        .await
        .unwrap();
    store
        .publish_events(&[event(seed.site.id, WorkbookCreated, "c")])
        .await
        .unwrap();
    let claimed = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    assert_eq!(secret_of(&claimed, hooks[0].id), None);

    let missing = WebhookId::from_uuid(Uuid::new_v4());
    assert!(matches!(
        store
            .set_signing_secret(seed.site.id, missing, Some(secret.to_owned()))
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn attempts_move_deliveries_and_count_failures(
    store: &(impl Identity + Webhooks + Outbox),
) {
    let (seed, hooks) = with_webhooks(store, &[(EventKind::WorkbookDeleted, true)]).await;
    let events: Vec<PublishEvent> = (0..3)
        .map(|i| event(seed.site.id, EventKind::WorkbookDeleted, &format!("w{i}")))
        .collect();
    store.publish_events(&events).await.unwrap();
    let claimed = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    let retry_at = T0 + Duration::minutes(1);
    let records = [
        attempt(&claimed[0], Some(200), AttemptNext::Delivered),
        attempt(&claimed[1], Some(500), AttemptNext::RetryAt(retry_at)),
        attempt(&claimed[2], None, AttemptNext::Failed),
    ];
    assert!(
        store
            .record_attempts(&records, &policy(4))
            .await
            .unwrap()
            .is_empty()
    );

    let log = store
        .deliveries(
            seed.site.id,
            hooks[0].id,
            &DeliveryQuery {
                limit: 10,
                ..DeliveryQuery::default()
            },
        )
        .await
        .unwrap();
    let state_of = |id: DeliveryId| log.iter().find(|d| d.id == id).unwrap().clone();
    let delivered = state_of(claimed[0].id);
    assert_eq!(
        (delivered.state, delivered.attempts.len()),
        (DeliveryState::Delivered, 1)
    );
    assert_eq!(delivered.attempts[0].status, Some(200));
    assert_eq!(
        delivered.attempts[0].response_excerpt.as_deref(),
        Some("answer 200")
    );
    let retrying = state_of(claimed[1].id);
    assert_eq!(
        (retrying.state, retrying.next_attempt_at),
        (DeliveryState::Pending, Some(retry_at))
    );
    let failed = state_of(claimed[2].id);
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(
        failed.attempts[0].error.as_deref(),
        Some("connection refused")
    );

    assert!(
        store
            .claim_deliveries(&claim_at(T0 + Duration::seconds(59), 10))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_deliveries(&claim_at(retry_at, 10))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempt, again[0].round_attempt),
        (claimed[1].id, 2, 2)
    );
}

/// Publishes `count` events and fails each of their deliveries for good.
async fn fail_deliveries(
    store: &impl Outbox,
    site: SiteId,
    kind: EventKind,
    count: usize,
    failure: &FailurePolicy,
) -> Vec<DisabledWebhook> {
    let events: Vec<PublishEvent> = (0..count)
        .map(|i| event(site, kind, &format!("e{i}")))
        .collect();
    store.publish_events(&events).await.unwrap();
    let claimed = store.claim_deliveries(&claim_at(T0, 100)).await.unwrap();
    let records: Vec<AttemptRecord> = claimed
        .iter()
        .map(|c| attempt(c, Some(503), AttemptNext::Failed))
        .collect();
    store.record_attempts(&records, failure).await.unwrap()
}

pub async fn four_failed_deliveries_disable_with_a_notice(
    store: &(impl Identity + Sites + Webhooks + Outbox),
) {
    let (seed, hooks) = with_webhooks(store, &[(EventKind::DatasourceRefreshFailed, true)]).await;
    let site = seed.site.id;
    let update = SiteUserUpdate {
        site_id: site,
        user_id: seed.user_id,
        site_role: None,
        full_name: None,
        email: Some("owner@example.com".to_owned()),
        auth_setting: None,
        password_hash: None,
    };
    store.update_user(&update, &[]).await.unwrap();
    let kind = EventKind::DatasourceRefreshFailed;
    assert!(
        fail_deliveries(store, site, kind, 3, &policy(4))
            .await
            .is_empty()
    );
    // A success in between resets the count.
    store
        .publish_events(&[event(site, kind, "ok")])
        .await
        .unwrap();
    let ok = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    store
        .record_attempts(
            &[attempt(&ok[0], Some(204), AttemptNext::Delivered)],
            &policy(4),
        )
        .await
        .unwrap();
    assert!(
        fail_deliveries(store, site, kind, 3, &policy(4))
            .await
            .is_empty(),
        "3 failures after a success"
    );
    let disabled = fail_deliveries(store, site, kind, 1, &policy(4)).await;
    assert_eq!(
        disabled.len(),
        1,
        "the fourth consecutive failed delivery disables"
    );
    assert_eq!(
        (disabled[0].webhook_id, disabled[0].site_id),
        (hooks[0].id, site)
    );

    let stored = store
        .webhook(site, hooks[0].id)
        .await
        .unwrap()
        .unwrap()
        .webhook;
    assert!(!stored.enabled);
    assert_eq!(stored.status_change_reason, "disabled after failures");
    let notices = store.notices(site, Some(hooks[0].id)).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].id, disabled[0].notice_id);
    assert_eq!(notices[0].recipient.as_deref(), Some("owner@example.com"));
    assert_eq!(
        (notices[0].email_state, notices[0].webhook_name.as_str()),
        (EmailState::Pending, "hook-0")
    );
    assert_eq!(store.pending_notices(10).await.unwrap().len(), 1);
    let sent = NoticeUpdate {
        id: notices[0].id,
        state: EmailState::Sent,
        error: None,
        now: T0 + Duration::seconds(5),
    };
    store.update_notice(&sent).await.unwrap();
    assert!(store.pending_notices(10).await.unwrap().is_empty());
    let after = store.notices(site, None).await.unwrap();
    assert_eq!(
        (
            after[0].email_state,
            after[0].email_attempts,
            after[0].sent_at
        ),
        (EmailState::Sent, 1, Some(T0 + Duration::seconds(5)))
    );
}

pub async fn disabled_webhooks_pause_and_resume(store: &(impl Identity + Webhooks + Outbox)) {
    let kind = EventKind::SiteUpdated;
    let (seed, hooks) = with_webhooks(store, &[(kind, true)]).await;
    let site = seed.site.id;
    let disabled = fail_deliveries(store, site, kind, 2, &policy(2)).await;
    assert_eq!(disabled.len(), 1);
    let notices = store.notices(site, None).await.unwrap();
    assert_eq!(
        notices[0].email_state,
        EmailState::Skipped,
        "the owner has no email address"
    );
    assert_eq!(notices[0].recipient, None);

    // Published while disabled: no delivery. Pending before disabling: paused.
    let published = store
        .publish_events(&[event(site, kind, "while disabled")])
        .await
        .unwrap();
    assert_eq!(published[0].deliveries, 0);
    let mut hook = store
        .webhook(site, hooks[0].id)
        .await
        .unwrap()
        .unwrap()
        .webhook;
    hook.enabled = true;
    store.update_webhook(&hook).await.unwrap();
    store
        .publish_events(&[event(site, kind, "pending")])
        .await
        .unwrap();
    hook.enabled = false;
    store.update_webhook(&hook).await.unwrap();
    assert!(
        store
            .claim_deliveries(&claim_at(T0, 10))
            .await
            .unwrap()
            .is_empty(),
        "paused while disabled"
    );
    assert_eq!(store.next_due().await.unwrap(), None);
    // The delivery log shows a paused delivery as paused.
    let log = store
        .deliveries(
            site,
            hooks[0].id,
            &DeliveryQuery {
                limit: 10,
                ..DeliveryQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(
        log.iter().any(|d| d.state == DeliveryState::Paused),
        "{log:?}"
    );
    hook.enabled = true;
    store.update_webhook(&hook).await.unwrap();
    let resumed = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    assert_eq!(resumed.len(), 1, "re-enabling resumes it");
    // Re-enabling reset the count: one more failure does not disable again.
    let records = [attempt(&resumed[0], Some(500), AttemptNext::Failed)];
    assert!(
        store
            .record_attempts(&records, &policy(2))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn delivery_log_redeliver_and_prune(store: &(impl Identity + Sites + Webhooks + Outbox)) {
    let kind = EventKind::LabelCreated;
    let (seed, hooks) = with_webhooks(store, &[(kind, true)]).await;
    let site = seed.site.id;
    store
        .publish_events(&[event(site, kind, "first")])
        .await
        .unwrap();
    let mut second = event(site, kind, "second");
    second.event.created_at = T0 + Duration::seconds(1);
    store.publish_events(&[second]).await.unwrap();
    let claimed = store
        .claim_deliveries(&claim_at(T0 + Duration::seconds(1), 10))
        .await
        .unwrap();
    let records: Vec<AttemptRecord> = claimed
        .iter()
        .map(|c| attempt(c, Some(200), AttemptNext::Delivered))
        .collect();
    store.record_attempts(&records, &policy(4)).await.unwrap();

    let query = DeliveryQuery {
        limit: 1,
        ..DeliveryQuery::default()
    };
    let newest = store.deliveries(site, hooks[0].id, &query).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert!(newest[0].payload.contains("second"), "newest first");
    let older = DeliveryQuery {
        limit: 10,
        before: Some(newest[0].created_at),
        ..DeliveryQuery::default()
    };
    let rest = store.deliveries(site, hooks[0].id, &older).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].payload.contains("first"));

    let id = rest[0].id;
    store
        .redeliver(site, id, T0 + Duration::minutes(1))
        .await
        .unwrap();
    let other = super::fixtures::site("Other", "other");
    store
        .create_site(&other, &super::fixtures::project_for(&other), &[])
        .await
        .unwrap();
    assert!(matches!(
        store.redeliver(other.id, id, T0).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store.delivery(other.id, id).await.unwrap().is_none(),
        "deliveries are per site"
    );
    let again = store
        .claim_deliveries(&claim_at(T0 + Duration::minutes(1), 10))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id, again[0].attempt, again[0].round_attempt),
        (id, 2, 1)
    );
    store
        .record_attempts(
            &[attempt(&again[0], Some(200), AttemptNext::Delivered)],
            &FailurePolicy {
                now: T0 + Duration::minutes(2),
                ..policy(4)
            },
        )
        .await
        .unwrap();
    let record = store.delivery(site, id).await.unwrap().unwrap();
    assert_eq!(
        record.attempts.iter().map(|a| a.number).collect::<Vec<_>>(),
        [1, 2]
    );

    // Retention: the delivery completed at T0 goes with its event; the one completed later stays.
    let stats = store.prune(T0 + Duration::seconds(30), 100).await.unwrap();
    assert_eq!(
        stats,
        PruneStats {
            deliveries: 1,
            events: 1
        }
    );
    assert!(store.delivery(site, newest[0].id).await.unwrap().is_none());
    assert!(store.delivery(site, id).await.unwrap().is_some());
    store
        .publish_events(&[event(site, kind, "pending")])
        .await
        .unwrap();
    let stats = store.prune(T0 + Duration::days(1), 100).await.unwrap();
    assert_eq!(stats.deliveries, 1, "pending deliveries are never pruned");
    assert_eq!(
        store
            .deliveries(
                site,
                hooks[0].id,
                &DeliveryQuery {
                    limit: 10,
                    ..DeliveryQuery::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Retention goes in steps of at most `limit` rows per table, and an event goes only once the
/// last of its deliveries has.
pub async fn prune_goes_in_steps(store: &(impl Identity + Sites + Webhooks + Outbox)) {
    let kind = EventKind::LabelDeleted;
    let (seed, _) = with_webhooks(store, &[(kind, true), (kind, true)]).await;
    let site = seed.site.id;
    let events: Vec<PublishEvent> = (0..2)
        .map(|i| event(site, kind, &format!("old{i}")))
        .collect();
    store.publish_events(&events).await.unwrap();
    let claimed = store.claim_deliveries(&claim_at(T0, 10)).await.unwrap();
    assert_eq!(claimed.len(), 4, "two events to two webhooks");
    let records: Vec<AttemptRecord> = claimed
        .iter()
        .map(|c| attempt(c, Some(200), AttemptNext::Delivered))
        .collect();
    store.record_attempts(&records, &policy(4)).await.unwrap();

    let before = T0 + Duration::minutes(1);
    let first = store.prune(before, 3).await.unwrap();
    assert_eq!(first.deliveries, 3, "a step stops at its limit");
    assert!(
        first.events <= 1,
        "an event goes only with its last delivery"
    );
    assert!(first.reached(3));
    let mut total = first;
    let mut steps = 1;
    loop {
        let step = store.prune(before, 3).await.unwrap();
        total += step;
        steps += 1;
        if !step.reached(3) {
            break;
        }
        assert!(steps < 10, "pruning four deliveries never ends");
    }
    assert_eq!(
        total,
        PruneStats {
            deliveries: 4,
            events: 2
        }
    );
    assert_eq!(store.prune(before, 3).await.unwrap(), PruneStats::default());
    for c in &claimed {
        assert!(store.delivery(site, c.id).await.unwrap().is_none());
    }
}

pub async fn queue_gauges_count_pending_and_disabled(store: &(impl Identity + Webhooks + Outbox)) {
    let kind = EventKind::SiteUpdated;
    let (seed, _) = with_webhooks(store, &[(kind, true), (kind, true), (kind, false)]).await;
    let site = seed.site.id;
    let gauges = store.queue_gauges().await.unwrap();
    assert_eq!(
        gauges,
        QueueGauges {
            pending: 0,
            oldest_due: None,
            disabled_webhooks: 1
        }
    );
    let events: Vec<PublishEvent> = (0..3)
        .map(|i| event(site, kind, &format!("q{i}")))
        .collect();
    store.publish_events(&events).await.unwrap();
    let gauges = store.queue_gauges().await.unwrap();
    assert_eq!(gauges.pending, 6, "three events to two enabled webhooks");
    assert_eq!(gauges.oldest_due, Some(T0));
    // Leased deliveries are still pending; recorded ones are not.
    let claimed = store.claim_deliveries(&claim_at(T0, 2)).await.unwrap();
    assert_eq!(store.queue_gauges().await.unwrap().pending, 6);
    let records: Vec<AttemptRecord> = claimed
        .iter()
        .map(|c| attempt(c, Some(204), AttemptNext::Delivered))
        .collect();
    store.record_attempts(&records, &policy(4)).await.unwrap();
    let gauges = store.queue_gauges().await.unwrap();
    assert_eq!(gauges.pending, 4);
    assert_eq!(gauges.disabled_webhooks, 1);
}

pub async fn delivery_log_filters_merges_and_counts_by_minute(
    store: &(impl Identity + Webhooks + Outbox),
) {
    use EventKind::{SiteCreated, SiteUpdated};
    let (seed, hooks) = with_webhooks(store, &[(SiteUpdated, true), (SiteCreated, true)]).await;
    let site = seed.site.id;
    let at = |minutes: i64| T0 + Duration::minutes(minutes);
    let mut events = Vec::new();
    for (minute, kind) in [
        (0, SiteUpdated),
        (1, SiteUpdated),
        (2, SiteUpdated),
        (1, SiteCreated),
    ] {
        let mut published = event(site, kind, &format!("{kind}-{minute}"));
        published.event.created_at = at(minute);
        events.push(published);
    }
    store.publish_events(&events).await.unwrap();
    let claimed = store.claim_deliveries(&claim_at(at(3), 10)).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let updated: Vec<&ClaimedDelivery> = claimed
        .iter()
        .filter(|c| c.webhook_id == hooks[0].id)
        .collect();
    let by_name = |name: &str| {
        *updated
            .iter()
            .find(|c| String::from_utf8_lossy(&c.payload).contains(name))
            .unwrap()
    };
    let mut slow = attempt(by_name("SiteUpdated-0"), Some(200), AttemptNext::Delivered);
    slow.latency_ms = 30;
    let records = vec![
        slow,
        attempt(by_name("SiteUpdated-1"), Some(500), AttemptNext::Failed),
        attempt(
            by_name("SiteUpdated-2"),
            Some(500),
            AttemptNext::RetryAt(at(10)),
        ),
    ];
    store.record_attempts(&records, &policy(4)).await.unwrap();

    let hook = hooks[0].id;
    let page = |query: DeliveryQuery| async move {
        let found = store.deliveries(site, hook, &query).await.unwrap();
        found.iter().map(|d| d.payload.clone()).collect::<Vec<_>>()
    };
    let query = |f: fn(&mut DeliveryQuery)| {
        let mut query = DeliveryQuery {
            limit: 10,
            ..DeliveryQuery::default()
        };
        f(&mut query);
        query
    };
    assert_eq!(page(query(|_| ())).await.len(), 3);
    let delivered = page(query(|q| q.state = Some(DeliveryState::Delivered))).await;
    assert!(
        delivered.len() == 1 && delivered[0].contains("SiteUpdated-0"),
        "{delivered:?}"
    );
    let failed = page(query(|q| q.state = Some(DeliveryState::Failed))).await;
    assert!(
        failed.len() == 1 && failed[0].contains("SiteUpdated-1"),
        "{failed:?}"
    );
    assert_eq!(
        page(query(|q| q.state = Some(DeliveryState::Pending)))
            .await
            .len(),
        1
    );
    let recent = page(query(|q| q.since = Some(T0 + Duration::minutes(1)))).await;
    assert_eq!(recent.len(), 2, "since is inclusive: {recent:?}");
    assert!(
        page(query(|q| q.event = Some(SiteCreated)))
            .await
            .is_empty()
    );
    assert_eq!(page(query(|q| q.event = Some(SiteUpdated))).await.len(), 3);

    let both = [hooks[0].id, hooks[1].id];
    let all = DeliveryQuery {
        limit: 3,
        ..DeliveryQuery::default()
    };
    let merged = store.site_deliveries(site, &both, &all).await.unwrap();
    let created: Vec<OffsetDateTime> = merged.iter().map(|d| d.created_at).collect();
    assert_eq!(
        created,
        vec![at(2), at(1), at(1)],
        "newest first, cut at the limit"
    );
    let created_only = DeliveryQuery {
        limit: 10,
        event: Some(SiteCreated),
        ..DeliveryQuery::default()
    };
    let merged = store
        .site_deliveries(site, &both, &created_only)
        .await
        .unwrap();
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].webhook_id, hooks[1].id);

    let stats = store.attempt_stats(site, hooks[0].id, T0).await.unwrap();
    assert_eq!(
        stats,
        vec![MinuteStats {
            minute: T0,
            attempts: 3,
            succeeded: 1,
            mean_latency_ms: 18,
            max_latency_ms: 30,
        }]
    );
    let later = store.attempt_stats(site, hooks[0].id, at(1)).await.unwrap();
    assert_eq!(later[0].attempts, 2, "only deliveries created since then");
    assert!(
        store
            .attempt_stats(site, hooks[1].id, T0)
            .await
            .unwrap()
            .is_empty()
    );

    let mut counts = store.failure_counts(site).await.unwrap();
    counts.sort_by_key(|(id, _)| *id == hooks[1].id);
    assert_eq!(counts, vec![(hooks[0].id, 1), (hooks[1].id, 0)]);
}
