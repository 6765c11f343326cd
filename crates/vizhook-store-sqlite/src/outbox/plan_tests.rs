//! The query plans that keep retention and the delivery log flat as the tables grow: each
//! statement reaches its rows through an index, never by scanning a table. SQLite plans
//! without statistics here (vizhook never runs `ANALYZE`), so the plan on an empty database is
//! the plan on a full one.

use sqlx::Row;

use super::log::{LOG_PAGE, PRUNE_DELIVERIES, PRUNE_EVENTS};
use crate::SqliteStore;

/// `EXPLAIN QUERY PLAN` of `statement`, one line per step.
async fn plan(statement: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plan.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    // The statements are this crate's own constants.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {statement}"
    )))
    .fetch_all(&store.reader)
    .await
    .unwrap();
    rows.iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}

fn assert_no_scan(plan: &[String]) {
    assert!(
        plan.iter().all(|step| !step.starts_with("SCAN")),
        "a step scans a table: {plan:#?}"
    );
}

#[tokio::test]
async fn retention_reads_only_what_it_deletes() {
    let deliveries = plan(PRUNE_DELIVERIES).await;
    assert_no_scan(&deliveries);
    assert!(
        deliveries
            .iter()
            .any(|step| step.contains("USING INDEX deliveries_completed (completed_at<?)")),
        "{deliveries:#?}"
    );
    let events = plan(PRUNE_EVENTS).await;
    assert_no_scan(&events);
    assert!(
        events
            .iter()
            .any(|step| step.contains("USING INDEX events_created_at (created_at<?)")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|step| step.contains("USING COVERING INDEX deliveries_event (event_id=?)")),
        "{events:#?}"
    );
}

#[tokio::test]
async fn a_log_page_follows_the_webhooks_index_in_order() {
    let page = plan(LOG_PAGE).await;
    assert_no_scan(&page);
    assert!(
        page.iter().any(|step| step.contains(
            "USING INDEX deliveries_webhook (webhook_id=? AND created_at>? AND created_at<?)"
        )),
        "{page:#?}"
    );
    assert!(
        page.iter()
            .all(|step| step != "USE TEMP B-TREE FOR ORDER BY"),
        "the whole range is sorted before the limit applies: {page:#?}"
    );
}
