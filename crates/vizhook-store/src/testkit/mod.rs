//! The conformance suite every backend must pass. A backend's `tests/conformance.rs` invokes
//! [`conformance_tests!`](crate::conformance_tests) with a function that opens a fresh, empty
//! store; each check then runs as its own test. The checks of each aggregate are in the module
//! of its name (`identity.rs`, `sites.rs`, `webhooks.rs`, `content.rs`, `outbox.rs`, `inbox/`),
//! each bound by the traits it uses, and built from `fixtures.rs`.

mod content;
mod fixtures;
mod identity;
mod inbox;
mod outbox;
mod sites;
mod webhooks;

pub use content::*;
pub use fixtures::{T0, project_for, seed, site, webhook};
pub use identity::*;
pub use inbox::*;
pub use outbox::*;
pub use sites::*;
pub use webhooks::*;

/// Generates one `#[tokio::test]` per conformance check, each on a fresh store from `$make`.
///
/// `conformance_tests!(make)` runs every aggregate's checks: what a complete backend runs.
/// `conformance_tests!(make: identity, sites)` runs only the named aggregates' checks, for a
/// backend that implements the traits one by one; a check needs the traits of its signature
/// (the identity checks also add users and sites, most outbox checks seed the store and create
/// webhooks), so the aggregates come in roughly this order: identity and sites, webhooks,
/// content, outbox; inbox needs nothing else.
///
/// `conformance_tests!(skippable make)` is for a backend that needs a server the machine may
/// not have: `make` takes the check's name and returns `Option<store>`; on `None` the check
/// returns at once, and `make` must have said by name that it was skipped.
#[macro_export]
macro_rules! conformance_tests {
    (skippable $make:path) => {
        $crate::conformance_tests!(@all [skippable] $make);
    };
    ($make:path: $($aggregate:ident),+ $(,)?) => {
        $($crate::conformance_tests!(@aggregate [always] $make, $aggregate);)+
    };
    ($make:path) => {
        $crate::conformance_tests!(@all [always] $make);
    };
    (@all [$mode:ident] $make:path) => {
        $crate::conformance_tests!(@aggregate [$mode] $make, identity);
        $crate::conformance_tests!(@aggregate [$mode] $make, sites);
        $crate::conformance_tests!(@aggregate [$mode] $make, webhooks);
        $crate::conformance_tests!(@aggregate [$mode] $make, content);
        $crate::conformance_tests!(@aggregate [$mode] $make, outbox);
        $crate::conformance_tests!(@aggregate [$mode] $make, inbox);
    };
    (@aggregate [$mode:ident] $make:path, identity) => {
        $crate::conformance_tests!(@each [$mode] $make,
            bootstrap_seeds_once,
            sessions_start_expire_and_end,
            server_admins_join_any_site_at_sign_in,
            members_only_for_other_accounts,
        );
    };
    (@aggregate [$mode:ident] $make:path, sites) => {
        $crate::conformance_tests!(@each [$mode] $make,
            users_add_update_remove,
            sites_conflict_update_and_cascade,
            failed_write_does_not_spoil_its_batch,
        );
    };
    (@aggregate [$mode:ident] $make:path, webhooks) => {
        $crate::conformance_tests!(@each [$mode] $make, webhooks_round_trip);
    };
    (@aggregate [$mode:ident] $make:path, content) => {
        $crate::conformance_tests!(@each [$mode] $make,
            content_round_trips_with_connections_and_views,
            a_failing_change_publishes_nothing,
            projects_cascade_and_labels_are_unique_per_value,
            jobs_finish_and_site_and_user_changes_fire_events,
            names_are_unique_and_one_job_runs_per_target,
        );
    };
    (@aggregate [$mode:ident] $make:path, outbox) => {
        $crate::conformance_tests!(@each [$mode] $make,
            publish_fans_out_to_enabled_subscribers,
            leases_expire_and_claims_exclude_busy_webhooks,
            concurrent_claims_never_share_a_delivery,
            publishing_can_lease_new_deliveries,
            signing_secrets_reach_their_deliveries,
            attempts_move_deliveries_and_count_failures,
            four_failed_deliveries_disable_with_a_notice,
            disabled_webhooks_pause_and_resume,
            delivery_log_redeliver_and_prune,
            prune_goes_in_steps,
            queue_gauges_count_pending_and_disabled,
            delivery_log_filters_merges_and_counts_by_minute,
        );
    };
    (@aggregate [$mode:ident] $make:path, inbox) => {
        $crate::conformance_tests!(@each [$mode] $make,
            inbox_dedups_within_window,
            inbox_groups_repeat_and_resolve,
            recovery_supersedes_unsent_failures,
            tasks_lease_retry_and_finish,
            receiving_can_lease_new_tasks,
            concurrent_task_claims_never_share,
            failed_receive_does_not_spoil_its_batch,
            prune_inbox_keeps_pending_work,
            prune_inbox_goes_in_steps,
        );
    };
    (@each [always] $make:path, $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let store = $make().await;
                $crate::testkit::$check(&store).await;
            }
        )*
    };
    (@each [skippable] $make:path, $($check:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let Some(store) = $make(stringify!($check)).await else {
                    return;
                };
                $crate::testkit::$check(&store).await;
            }
        )*
    };
}
