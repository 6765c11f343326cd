//! Recording attempts in SQLite: each delivery moves on (delivered, retry at, failed), its
//! webhook's count of consecutive failed deliveries is reset or grows, and a webhook that
//! reaches the threshold is disabled, its deliveries paused, with a notice for its owner.

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;
use vizhook_core::{NoticeId, WebhookId};
use vizhook_store::{
    AttemptNext, AttemptRecord, DisabledWebhook, EmailState, FailurePolicy, StoreError, StoreResult,
};

use crate::{
    convert::{db_error, millis, parse},
    rows::run_chunked,
};

/// An attempt as a batch row.
struct AttemptBatchRow<'a> {
    d: String,
    n: u32,
    at: i64,
    ms: u32,
    s: Option<u16>,
    e: Option<&'a str>,
    r: Option<&'a str>,
}

/// A delivery's move after an attempt, as a batch row.
struct MoveRow {
    d: String,
    state: &'static str,
    next: Option<i64>,
    done: Option<i64>,
}

pub(crate) async fn record(
    conn: &mut SqliteConnection,
    records: Vec<AttemptRecord>,
    failure: FailurePolicy,
) -> StoreResult<Vec<DisabledWebhook>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let now = millis(failure.now);
    let mut attempts = Vec::with_capacity(records.len());
    let mut moves = Vec::with_capacity(records.len());
    // Per webhook, in record order: whether a success reset the count, and failures since.
    let mut accounting: Vec<(WebhookId, bool, u32)> = Vec::new();
    for r in &records {
        attempts.push(AttemptBatchRow {
            d: r.delivery_id.to_string(),
            n: r.number,
            at: millis(r.started_at),
            ms: r.latency_ms,
            s: r.status,
            e: r.error.as_deref(),
            r: r.response_excerpt.as_deref(),
        });
        let (state, next, done) = match r.next {
            AttemptNext::Delivered => ("delivered", None, Some(now)),
            AttemptNext::RetryAt(at) => ("pending", Some(millis(at)), None),
            AttemptNext::Failed => ("failed", None, Some(now)),
        };
        moves.push(MoveRow {
            d: r.delivery_id.to_string(),
            state,
            next,
            done,
        });
        let entry = match accounting.iter_mut().find(|(id, _, _)| *id == r.webhook_id) {
            Some(entry) => entry,
            None => {
                accounting.push((r.webhook_id, false, 0));
                accounting.last_mut().ok_or(StoreError::NotFound)?
            }
        };
        match r.next {
            AttemptNext::Delivered => *entry = (r.webhook_id, true, 0),
            AttemptNext::Failed => entry.2 += 1,
            AttemptNext::RetryAt(_) => {}
        }
    }
    run_chunked(
        conn,
        &attempts,
        "(?, ?, ?, ?, ?, ?, ?)",
        |values| {
            format!(
                "INSERT OR REPLACE INTO attempts (delivery_id, number, started_at, latency_ms, \
                 status, error, response_excerpt) VALUES {values}"
            )
        },
        |query, a| {
            query
                .bind(a.d.clone())
                .bind(a.n)
                .bind(a.at)
                .bind(a.ms)
                .bind(a.s)
                .bind(a.e.map(str::to_owned))
                .bind(a.r.map(str::to_owned))
        },
    )
    .await
    .map_err(db_error)?;
    // A delivery whose webhook was disabled while it was in flight stays paused if it is to be
    // retried. The VALUES columns are d, state, next, done.
    run_chunked(
        conn,
        &moves,
        "(?, ?, ?, ?)",
        |values| {
            format!(
                "UPDATE deliveries SET \
                    state = CASE WHEN deliveries.state = 'paused' AND j.column2 = 'pending' \
                                 THEN 'paused' ELSE j.column2 END, \
                    next_attempt_at = coalesce(j.column3, deliveries.next_attempt_at), \
                    attempts = deliveries.attempts + 1, \
                    round_attempts = deliveries.round_attempts + 1, \
                    completed_at = j.column4 \
                 FROM (VALUES {values}) j WHERE deliveries.id = j.column1"
            )
        },
        |query, m| {
            query
                .bind(m.d.clone())
                .bind(m.state)
                .bind(m.next)
                .bind(m.done)
        },
    )
    .await
    .map_err(db_error)?;

    let touched: Vec<Value> = accounting
        .iter()
        .filter(|(_, reset, failed)| *reset || *failed > 0)
        .map(|(id, reset, failed)| json!({"w": id.to_string(), "reset": reset, "n": failed}))
        .collect();
    if touched.is_empty() {
        return Ok(Vec::new());
    }
    let touched = Value::Array(touched).to_string();
    sqlx::query(
        "UPDATE webhooks SET consecutive_failures = CASE WHEN j.value->>'reset' THEN j.value->>'n' \
            ELSE webhooks.consecutive_failures + j.value->>'n' END \
         FROM json_each(?) j WHERE webhooks.id = j.value->>'w'",
    )
    .bind(&touched)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if failure.disable_after == 0 {
        return Ok(Vec::new());
    }
    disable_failing(conn, &touched, &failure, now).await
}

/// Disables the touched webhooks that reached the threshold, writing a notice for each.
async fn disable_failing(
    conn: &mut SqliteConnection,
    touched: &str,
    failure: &FailurePolicy,
    now: i64,
) -> StoreResult<Vec<DisabledWebhook>> {
    let disabled = sqlx::query(
        "UPDATE webhooks SET enabled = 0, status_change_reason = ?1, updated_at = ?2 \
         WHERE enabled = 1 AND consecutive_failures >= ?3 \
           AND id IN (SELECT value->>'w' FROM json_each(?4)) \
         RETURNING id, site_id, name, owner_id",
    )
    .bind(&failure.reason)
    .bind(now)
    .bind(i64::from(failure.disable_after))
    .bind(touched)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut out = Vec::with_capacity(disabled.len());
    for row in &disabled {
        let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
        let (webhook_id, site_id, name, owner_id) = (text(0)?, text(1)?, text(2)?, text(3)?);
        pause(conn, &webhook_id, true).await?;
        let recipient: Option<String> = sqlx::query_scalar(
            "SELECT CASE WHEN coalesce(u.email, '') <> '' THEN u.email \
                         WHEN a.name LIKE '%_@_%' THEN a.name END \
             FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.id = ?",
        )
        .bind(&owner_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .flatten();
        let notice_id = NoticeId::from_uuid(Uuid::new_v4());
        let state = if recipient.is_some() {
            EmailState::Pending
        } else {
            EmailState::Skipped
        };
        sqlx::query(
            "INSERT INTO notices (id, site_id, webhook_id, webhook_name, message, recipient, email_state, email_error, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(notice_id.to_string())
        .bind(&site_id)
        .bind(&webhook_id)
        .bind(&name)
        .bind(&failure.reason)
        .bind(&recipient)
        .bind(state.as_str())
        .bind(recipient.is_none().then_some("the owner has no email address"))
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        out.push(DisabledWebhook {
            webhook_id: parse("webhook id", &webhook_id)?,
            site_id: parse("site id", &site_id)?,
            notice_id,
        });
    }
    Ok(out)
}

/// Pauses (or resumes) a webhook's undelivered deliveries when it is disabled (or enabled).
pub(crate) async fn pause(
    conn: &mut SqliteConnection,
    webhook: &str,
    paused: bool,
) -> StoreResult<()> {
    let (from, to) = if paused {
        ("pending", "paused")
    } else {
        ("paused", "pending")
    };
    sqlx::query("UPDATE deliveries SET state = ? WHERE webhook_id = ? AND state = ?")
        .bind(to)
        .bind(webhook)
        .bind(from)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
