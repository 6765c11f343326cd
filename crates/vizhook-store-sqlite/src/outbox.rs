//! The outbox in SQLite: publishing events with their deliveries, leasing due deliveries,
//! recording attempts with Tableau's failure accounting, and the delivery log. Batches of rows
//! travel as multi-row statements (`rows.rs`), so a batch costs a few statements, not a few
//! per row.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{DeliveryId, NoticeId, SiteId, WebhookId};
use vizhook_store::*;

use crate::{
    convert::{db_error, from_millis, millis, parse},
    rows::run_chunked,
};

/// Writes events and their deliveries; used by `publish_events` and by every content change
/// that fires events, inside that change's transaction.
pub(crate) async fn publish(
    conn: &mut SqliteConnection,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    Ok(publish_leasing(conn, events, None).await?.published)
}

/// Writes events and their deliveries, leasing up to `lease.limit` of the deliveries to the
/// caller: those are written with the lease as their next attempt time, exactly as a claim
/// leaves a delivery, and returned ready to send.
pub(crate) async fn publish_leasing(
    conn: &mut SqliteConnection,
    events: &[PublishEvent],
    lease: Option<&ClaimRequest>,
) -> StoreResult<Publication> {
    if events.is_empty() {
        return Ok(Publication::default());
    }
    let rows: Vec<EventRow<'_>> = events
        .iter()
        .map(|p| {
            let e = &p.event;
            EventRow {
                id: e.id.to_string(),
                site: e.site_id.to_string(),
                kind: e.kind.api_name(),
                resource: e.resource.as_str(),
                name: &e.resource_name,
                luid: &e.resource_luid,
                at: millis(e.created_at),
                payload: std::str::from_utf8(&p.payload).unwrap_or("{}"),
            }
        })
        .collect();
    run_chunked(
        conn,
        &rows,
        "(?, ?, ?, ?, ?, ?, ?, ?)",
        |values| {
            format!(
                "INSERT INTO events (id, site_id, event_type, resource, resource_name, \
                 resource_luid, created_at, payload) VALUES {values}"
            )
        },
        |query, row| {
            query
                .bind(row.id.clone())
                .bind(row.site.clone())
                .bind(row.kind)
                .bind(row.resource)
                .bind(row.name.to_owned())
                .bind(row.luid.to_owned())
                .bind(row.at)
                .bind(row.payload.to_owned())
        },
    )
    .await
    .map_err(db_error)?;

    let mut kinds: Vec<(&str, &str)> = rows.iter().map(|r| (r.site.as_str(), r.kind)).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let found = run_chunked(
        conn,
        &kinds,
        "(?, ?)",
        |values| {
            format!(
                "SELECT w.id, w.site_id, w.event, w.url, w.signing_secret FROM webhooks w \
                 WHERE w.enabled = 1 AND (w.site_id, w.event) IN (VALUES {values})"
            )
        },
        |query, (site, kind)| query.bind(site.to_string()).bind(*kind),
    )
    .await
    .map_err(db_error)?;
    let mut subscribers: HashMap<(String, String), Vec<Subscriber>> = HashMap::new();
    for row in &found {
        let key = (
            row.try_get::<String, _>(1).map_err(db_error)?,
            row.try_get::<String, _>(2).map_err(db_error)?,
        );
        let id: String = row.try_get(0).map_err(db_error)?;
        subscribers.entry(key).or_default().push(Subscriber {
            webhook_id: parse("webhook id", &id)?,
            id,
            url: row.try_get(3).map_err(db_error)?,
            signing_secret: row.try_get(4).map_err(db_error)?,
        });
    }
    // How many deliveries may still be leased to the caller, and to which webhooks.
    let mut lease_room = lease.map_or(0, |l| l.limit as usize);
    let lease_until = lease.map(|l| millis(l.lease_until));

    let mut deliveries = Vec::new();
    let mut published = Vec::with_capacity(events.len());
    let mut leased = Vec::new();
    for (p, row) in events.iter().zip(&rows) {
        let key = (row.site.clone(), row.kind.to_owned());
        let webhooks = subscribers.get(&key).map(Vec::as_slice).unwrap_or_default();
        for webhook in webhooks {
            // Time-ordered ids keep the deliveries index append-only.
            let id = Uuid::now_v7();
            let mut next = row.at;
            // Only what is due now: an injected event may carry a later time.
            if let (Some(lease), Some(until)) = (lease, lease_until)
                && lease_room > 0
                && row.at <= millis(lease.now)
                && !lease.exclude_webhooks.contains(&webhook.webhook_id)
            {
                lease_room -= 1;
                next = until;
                leased.push(ClaimedDelivery {
                    id: DeliveryId::from_uuid(id),
                    event_id: p.event.id,
                    webhook_id: webhook.webhook_id,
                    site_id: p.event.site_id,
                    url: webhook.url.clone(),
                    signing_secret: webhook.signing_secret.clone(),
                    payload: p.payload.clone(),
                    attempt: 1,
                    round_attempt: 1,
                });
            }
            deliveries.push(DeliveryRow {
                id: id.to_string(),
                event: &row.id,
                webhook: &webhook.id,
                site: &row.site,
                next,
                at: row.at,
            });
        }
        published.push(Published {
            event_id: p.event.id,
            deliveries: u32::try_from(webhooks.len()).unwrap_or(u32::MAX),
        });
    }
    run_chunked(
        conn,
        &deliveries,
        "(?, ?, ?, ?, 'pending', ?, ?)",
        |values| {
            format!(
                "INSERT INTO deliveries (id, event_id, webhook_id, site_id, state, \
                 next_attempt_at, created_at) VALUES {values}"
            )
        },
        |query, d| {
            query
                .bind(d.id.clone())
                .bind(d.event.to_owned())
                .bind(d.webhook.to_owned())
                .bind(d.site.to_owned())
                .bind(d.next)
                .bind(d.at)
        },
    )
    .await
    .map_err(db_error)?;
    Ok(Publication { published, leased })
}

/// An enabled webhook subscribed to a published event.
struct Subscriber {
    id: String,
    webhook_id: WebhookId,
    url: String,
    signing_secret: Option<String>,
}

/// An event as a batch row.
struct EventRow<'a> {
    id: String,
    site: String,
    kind: &'static str,
    resource: &'static str,
    name: &'a str,
    luid: &'a str,
    at: i64,
    payload: &'a str,
}

struct DeliveryRow<'a> {
    id: String,
    event: &'a str,
    webhook: &'a str,
    site: &'a str,
    /// The next attempt: at once, or when the caller's lease ends.
    next: i64,
    at: i64,
}

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

pub(crate) async fn claim(
    conn: &mut SqliteConnection,
    request: ClaimRequest,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let exclude: Vec<String> = request
        .exclude_webhooks
        .iter()
        .map(ToString::to_string)
        .collect();
    // The lease is the next attempt time: if the claimer dies, the delivery falls due again
    // when the lease ends. Only enabled webhooks have 'pending' deliveries.
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE deliveries SET next_attempt_at = ?1 WHERE id IN ( \
           SELECT id FROM deliveries \
           WHERE state = 'pending' AND next_attempt_at <= ?2 \
             AND webhook_id NOT IN (SELECT value FROM json_each(?3)) \
           ORDER BY next_attempt_at LIMIT ?4) \
         RETURNING id",
    )
    .bind(millis(request.lease_until))
    .bind(millis(request.now))
    .bind(serde_json::to_string(&exclude).unwrap_or_else(|_| "[]".to_owned()))
    .bind(i64::from(request.limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = run_chunked(
        conn,
        &ids,
        "(?)",
        |values| {
            format!(
                "SELECT d.id, d.event_id, d.webhook_id, d.site_id, d.attempts, d.round_attempts, \
                        w.url, w.signing_secret, e.payload \
                 FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 JOIN events e ON e.id = d.event_id WHERE d.id IN (VALUES {values})"
            )
        },
        |query, id| query.bind(id.clone()),
    )
    .await
    .map_err(db_error)?;
    rows.iter().map(claimed_from_row).collect()
}

fn claimed_from_row(row: &SqliteRow) -> StoreResult<ClaimedDelivery> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let count = |i: usize| {
        row.try_get::<i64, _>(i)
            .map_err(db_error)
            .map(|n| u32::try_from(n).unwrap_or(0))
    };
    Ok(ClaimedDelivery {
        id: parse("delivery id", &text(0)?)?,
        event_id: parse("event id", &text(1)?)?,
        webhook_id: parse("webhook id", &text(2)?)?,
        site_id: parse("site id", &text(3)?)?,
        attempt: count(4)? + 1,
        round_attempt: count(5)? + 1,
        url: text(6)?,
        signing_secret: row.try_get(7).map_err(db_error)?,
        payload: text(8)?.into_bytes(),
    })
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

pub(crate) async fn next_due(pool: &SqlitePool) -> StoreResult<Option<OffsetDateTime>> {
    let due: Option<i64> =
        sqlx::query_scalar("SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'")
            .fetch_one(pool)
            .await
            .map_err(db_error)?;
    due.map(from_millis).transpose()
}

/// The delivery log's rows, newest first, with their attempts.
macro_rules! select_deliveries {
    ($clause:literal) => {
        concat!(
            "SELECT d.id, d.event_id, d.webhook_id, e.event_type, d.state, d.next_attempt_at, \
                    d.created_at, d.completed_at, e.payload \
             FROM deliveries d JOIN events e ON e.id = d.event_id ",
            $clause
        )
    };
}

pub(crate) async fn deliveries(
    pool: &SqlitePool,
    site: SiteId,
    webhook: WebhookId,
    query: DeliveryQuery,
) -> StoreResult<Vec<DeliveryRecord>> {
    let rows = sqlx::query(select_deliveries!(
        "WHERE d.site_id = ? AND d.webhook_id = ? AND d.created_at < ? ORDER BY d.created_at DESC, d.id LIMIT ?"
    ))
    .bind(site.to_string())
    .bind(webhook.to_string())
    .bind(query.before.map_or(i64::MAX, millis))
    .bind(i64::from(query.limit))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    with_attempts(pool, rows).await
}

pub(crate) async fn delivery(
    pool: &SqlitePool,
    site: SiteId,
    id: DeliveryId,
) -> StoreResult<Option<DeliveryRecord>> {
    let rows = sqlx::query(select_deliveries!("WHERE d.site_id = ? AND d.id = ?"))
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    Ok(with_attempts(pool, rows).await?.pop())
}

async fn with_attempts(
    pool: &SqlitePool,
    rows: Vec<SqliteRow>,
) -> StoreResult<Vec<DeliveryRecord>> {
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
        let state = text(4)?;
        let state = DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state}")))?;
        records.push(DeliveryRecord {
            id: parse("delivery id", &text(0)?)?,
            event_id: parse("event id", &text(1)?)?,
            webhook_id: parse("webhook id", &text(2)?)?,
            event_type: parse("event type", &text(3)?)?,
            state,
            next_attempt_at: match state {
                DeliveryState::Pending | DeliveryState::Paused => {
                    Some(from_millis(row.try_get(5).map_err(db_error)?)?)
                }
                DeliveryState::Delivered | DeliveryState::Failed => None,
            },
            created_at: from_millis(row.try_get(6).map_err(db_error)?)?,
            completed_at: row
                .try_get::<Option<i64>, _>(7)
                .map_err(db_error)?
                .map(from_millis)
                .transpose()?,
            payload: text(8)?,
            attempts: Vec::new(),
        });
    }
    if records.is_empty() {
        return Ok(records);
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
    let attempts = sqlx::query(
        "SELECT delivery_id, number, started_at, latency_ms, status, error, response_excerpt \
         FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, number",
    )
    .bind(serde_json::to_string(&ids).unwrap_or_default())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    for row in &attempts {
        let id: DeliveryId = parse(
            "delivery id",
            &row.try_get::<String, _>(0).map_err(db_error)?,
        )?;
        let attempt = AttemptRow {
            number: u32::try_from(row.try_get::<i64, _>(1).map_err(db_error)?).unwrap_or(0),
            started_at: from_millis(row.try_get(2).map_err(db_error)?)?,
            latency_ms: u32::try_from(row.try_get::<i64, _>(3).map_err(db_error)?).unwrap_or(0),
            status: row
                .try_get::<Option<i64>, _>(4)
                .map_err(db_error)?
                .and_then(|s| u16::try_from(s).ok()),
            error: row.try_get(5).map_err(db_error)?,
            response_excerpt: row.try_get(6).map_err(db_error)?,
        };
        if let Some(record) = records.iter_mut().find(|r| r.id == id) {
            record.attempts.push(attempt);
        }
    }
    Ok(records)
}

pub(crate) async fn redeliver(
    conn: &mut SqliteConnection,
    site: SiteId,
    id: DeliveryId,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE deliveries SET \
            state = CASE WHEN (SELECT enabled FROM webhooks w WHERE w.id = deliveries.webhook_id) \
                         THEN 'pending' ELSE 'paused' END, \
            round_attempts = 0, next_attempt_at = ?, completed_at = NULL WHERE site_id = ? AND id = ?",
    )
    .bind(millis(now))
    .bind(site.to_string())
    .bind(id.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn prune(
    conn: &mut SqliteConnection,
    before: OffsetDateTime,
) -> StoreResult<PruneStats> {
    let before = millis(before);
    let deliveries =
        sqlx::query("DELETE FROM deliveries WHERE state <> 'pending' AND completed_at < ?")
            .bind(before)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?
            .rows_affected();
    let events = sqlx::query(
        "DELETE FROM events WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)",
    )
    .bind(before)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    Ok(PruneStats { deliveries, events })
}

pub(crate) async fn set_signing_secret(
    conn: &mut SqliteConnection,
    site: SiteId,
    id: WebhookId,
    secret: Option<String>,
) -> StoreResult<()> {
    let result = sqlx::query("UPDATE webhooks SET signing_secret = ? WHERE site_id = ? AND id = ?")
        .bind(secret)
        .bind(site.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

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
