//! Notices in SQLite: what was written when a webhook was disabled for failing, read for the
//! API and for the notice worker, and the outcome of emailing each.

use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use vizhook_core::{SiteId, WebhookId};
use vizhook_store::{EmailState, Notice, NoticeUpdate, StoreError, StoreResult};

use crate::convert::{db_error, from_millis, millis, parse};

macro_rules! select_notices {
    ($clause:literal) => {
        concat!(
            "SELECT id, site_id, webhook_id, webhook_name, message, recipient, email_state, \
                    email_attempts, email_error, created_at, sent_at FROM notices ",
            $clause
        )
    };
}

fn notice_from_row(row: &SqliteRow) -> StoreResult<Notice> {
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
        email_attempts: u32::try_from(row.try_get::<i64, _>(7).map_err(db_error)?).unwrap_or(0),
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
    pool: &SqlitePool,
    site: SiteId,
    webhook: Option<WebhookId>,
) -> StoreResult<Vec<Notice>> {
    let rows = sqlx::query(select_notices!(
        "WHERE site_id = ?1 AND (?2 IS NULL OR webhook_id = ?2) ORDER BY created_at DESC, id"
    ))
    .bind(site.to_string())
    .bind(webhook.map(|w| w.to_string()))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(notice_from_row).collect()
}

pub(crate) async fn pending_notices(pool: &SqlitePool, limit: u32) -> StoreResult<Vec<Notice>> {
    let rows = sqlx::query(select_notices!(
        "WHERE email_state = 'pending' ORDER BY created_at LIMIT ?"
    ))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(notice_from_row).collect()
}

pub(crate) async fn update_notice(
    conn: &mut SqliteConnection,
    update: NoticeUpdate,
) -> StoreResult<()> {
    let sent_at = (update.state == EmailState::Sent).then(|| millis(update.now));
    sqlx::query(
        "UPDATE notices SET email_state = ?, email_error = ?, email_attempts = email_attempts + 1, \
            sent_at = coalesce(?, sent_at) WHERE id = ?",
    )
    .bind(update.state.as_str())
    .bind(update.error)
    .bind(sent_at)
    .bind(update.id.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
