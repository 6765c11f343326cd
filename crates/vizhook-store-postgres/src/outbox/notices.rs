//! Notices in PostgreSQL: what was written when a webhook was disabled for failing, read for
//! the API, leased to one node's notice worker at a time (so each email goes out once however
//! many nodes run one), and the outcome of emailing each.

use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use vizhook_core::{SiteId, WebhookId};
use vizhook_store::{EmailState, NOTICE_LEASE, Notice, NoticeUpdate, StoreError, StoreResult};

use crate::convert::{db_error, from_millis, millis, parse};

/// How long a notice handed out by `pending_notices` belongs to that node's worker
/// ([`NOTICE_LEASE`]): no other node gets it meanwhile. Recording its outcome ends the lease;
/// a worker that died loses it.
const NOTICE_LEASE_MILLIS: i64 = NOTICE_LEASE.as_millis() as i64;

/// The database's clock in Unix milliseconds: every node's leases are timed by one clock.
const DB_NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// A notice's columns, as `notice_from_row` reads them, qualified by the alias `n`.
const COLUMNS: &str = "n.id, n.site_id, n.webhook_id, n.webhook_name, n.message, n.recipient, \
                       n.email_state, n.email_attempts, n.email_error, n.created_at, n.sent_at";

fn notice_from_row(row: &PgRow) -> StoreResult<Notice> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let state = text(6)?;
    Ok(Notice {
        id: parse("notice id", &text(0)?)?,
        site_id: parse("site id", &text(1)?)?,
        webhook_id: parse("webhook id", &text(2)?)?,
        webhook_name: text(3)?,
        message: text(4)?,
        recipient: row.try_get(5).map_err(db_error)?,
        email_state: EmailState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("email state {state}")))?,
        email_attempts: u32::try_from(row.try_get::<i32, _>(7).map_err(db_error)?).unwrap_or(0),
        email_error: row.try_get(8).map_err(db_error)?,
        created_at: from_millis(row.try_get(9).map_err(db_error)?)?,
        sent_at: row
            .try_get::<Option<i64>, _>(10)
            .map_err(db_error)?
            .map(from_millis)
            .transpose()?,
    })
}

pub(crate) async fn notices(
    pool: &PgPool,
    site: SiteId,
    webhook: Option<WebhookId>,
) -> StoreResult<Vec<Notice>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM notices n \
         WHERE n.site_id = $1 AND ($2::text IS NULL OR n.webhook_id = $2) \
         ORDER BY n.created_at DESC, n.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(site.to_string())
        .bind(webhook.map(|w| w.to_string()))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(notice_from_row).collect()
}

/// Notices whose email is still to be sent, oldest first, leased to the caller: a notice
/// another node's worker holds is skipped (`SKIP LOCKED` while it is being leased, its lease
/// after), so two nodes never email the same notice at once.
pub(crate) async fn pending_notices(pool: &PgPool, limit: u32) -> StoreResult<Vec<Notice>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH due AS MATERIALIZED ( \
           SELECT id FROM notices \
           WHERE email_state = 'pending' AND coalesce(lease_until, 0) <= {DB_NOW} \
           ORDER BY created_at, id LIMIT $1 \
           FOR UPDATE SKIP LOCKED) \
         UPDATE notices n SET lease_until = {DB_NOW} + $2 FROM due WHERE n.id = due.id \
         RETURNING {COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(limit))
        .bind(NOTICE_LEASE_MILLIS)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let mut notices = rows
        .iter()
        .map(notice_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    // Oldest first, as they were chosen (RETURNING keeps no order).
    notices.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(notices)
}

/// Records one try to email a notice, and ends its lease: one still pending (the send failed)
/// is due again for any node's worker.
pub(crate) async fn update_notice(
    conn: &mut PgConnection,
    update: &NoticeUpdate,
) -> StoreResult<()> {
    let sent_at = (update.state == EmailState::Sent).then(|| millis(update.now));
    sqlx::query(
        "UPDATE notices SET email_state = $1, email_error = $2, \
            email_attempts = email_attempts + 1, sent_at = coalesce($3, sent_at), \
            lease_until = NULL WHERE id = $4",
    )
    .bind(update.state.as_str())
    .bind(&update.error)
    .bind(sent_at)
    .bind(update.id.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
