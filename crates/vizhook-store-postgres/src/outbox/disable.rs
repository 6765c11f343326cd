//! Disabling webhooks that failed too often, in PostgreSQL: their pending deliveries are
//! paused and a notice is written for each webhook's owner. Runs in the recording transaction
//! that disabled them, under their row locks, so exactly one notice is written per disabling
//! however many nodes record attempts at once.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};
use uuid::Uuid;
use vizhook_core::{NoticeId, WebhookId};
use vizhook_store::{DisabledWebhook, EmailState, FailurePolicy, StoreResult};

use crate::convert::{db_error, millis, parse};

/// A webhook row locked by the recording transaction, as it was when locked.
pub(super) struct LockedWebhook {
    pub(super) site_id: String,
    pub(super) name: String,
    pub(super) owner_id: String,
    pub(super) enabled: bool,
    pub(super) failures: u32,
}

/// Pauses the pending deliveries of the webhooks just disabled and writes their notices.
pub(super) async fn disable(
    conn: &mut PgConnection,
    disabled: &[(WebhookId, &LockedWebhook)],
    failure: &FailurePolicy,
) -> StoreResult<Vec<DisabledWebhook>> {
    let ids: Vec<String> = disabled.iter().map(|(id, _)| id.to_string()).collect();
    sqlx::query(
        "UPDATE deliveries SET state = 'paused' \
         WHERE webhook_id = ANY($1::text[]) AND state = 'pending'",
    )
    .bind(&ids)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;

    let mut owners: Vec<&str> = disabled.iter().map(|(_, w)| w.owner_id.as_str()).collect();
    owners.sort_unstable();
    owners.dedup();
    let rows = sqlx::query(
        "SELECT u.id, CASE WHEN coalesce(u.email, '') <> '' THEN u.email \
                           WHEN a.name LIKE '%_@_%' THEN a.name END \
         FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.id = ANY($1::text[])",
    )
    .bind(&owners)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut recipients: HashMap<String, Option<String>> = HashMap::with_capacity(rows.len());
    for row in &rows {
        recipients.insert(
            row.try_get(0).map_err(db_error)?,
            row.try_get(1).map_err(db_error)?,
        );
    }

    let mut notices = NoticeColumns::default();
    let mut out = Vec::with_capacity(disabled.len());
    for ((webhook_id, webhook), id) in disabled.iter().zip(&ids) {
        let recipient = recipients.get(&webhook.owner_id).cloned().flatten();
        let notice_id = NoticeId::from_uuid(Uuid::new_v4());
        let state = if recipient.is_some() {
            EmailState::Pending
        } else {
            EmailState::Skipped
        };
        notices.id.push(notice_id.to_string());
        notices.site.push(&webhook.site_id);
        notices.webhook.push(id);
        notices.name.push(&webhook.name);
        notices.error.push(
            recipient
                .is_none()
                .then_some("the owner has no email address"),
        );
        notices.recipient.push(recipient);
        notices.state.push(state.as_str());
        out.push(DisabledWebhook {
            webhook_id: *webhook_id,
            site_id: parse("site id", &webhook.site_id)?,
            notice_id,
        });
    }
    sqlx::query(
        "INSERT INTO notices (id, site_id, webhook_id, webhook_name, message, recipient, \
         email_state, email_error, created_at) \
         SELECT n.id, n.site_id, n.webhook_id, n.webhook_name, $5, n.recipient, n.email_state, \
                n.email_error, $6 \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $7::text[], $8::text[], \
                     $9::text[]) \
           AS n (id, site_id, webhook_id, webhook_name, recipient, email_state, email_error)",
    )
    .bind(&notices.id)
    .bind(&notices.site)
    .bind(&notices.webhook)
    .bind(&notices.name)
    .bind(&failure.reason)
    .bind(millis(failure.now))
    .bind(&notices.recipient)
    .bind(&notices.state)
    .bind(&notices.error)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(out)
}

/// A batch of notices, column by column.
#[derive(Default)]
struct NoticeColumns<'a> {
    id: Vec<String>,
    site: Vec<&'a str>,
    webhook: Vec<&'a str>,
    name: Vec<&'a str>,
    recipient: Vec<Option<String>>,
    state: Vec<&'static str>,
    error: Vec<Option<&'static str>>,
}
