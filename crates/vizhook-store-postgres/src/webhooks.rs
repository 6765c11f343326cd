//! `Webhooks` on PostgreSQL: webhook rows with their owner's name, and signing secrets (sealed
//! before they are written). Disabling a webhook pauses its undelivered deliveries and enabling
//! it resumes them, in the same transaction; enabling one also wakes every node's workers, as
//! its deliveries are due again. The webhook's row is locked before its deliveries, the order
//! the outbox's recorders lock them in.

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use vizhook_core::{DestinationUrl, SiteId, Webhook, WebhookId, WebhookName};
use vizhook_store::{OwnedWebhook, StoreError, StoreResult, Webhooks, cipher::SecretColumn};

use crate::{
    PgStore,
    convert::{db_error, from_millis, millis, parse},
    outbox::record::pause,
    wakes::notify,
};

/// Webhooks with their owner's name; the owner may have left the site, hence the outer join.
macro_rules! select_webhooks {
    ($clause:literal) => {
        concat!(
            "SELECT w.id, w.site_id, w.name, w.event, w.url, w.enabled, \
    w.status_change_reason, w.owner_id, w.created_at, w.updated_at, \
    COALESCE(a.name, '') AS owner_name \
    FROM webhooks w LEFT JOIN site_users u ON u.id = w.owner_id \
    LEFT JOIN accounts a ON a.id = u.account_id ",
            $clause
        )
    };
}

fn from_row(row: &PgRow) -> StoreResult<OwnedWebhook> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(db_error);
    let corrupt = |err: vizhook_core::DomainError| StoreError::Corrupt(err.to_string());
    let webhook = Webhook {
        id: parse("webhook id", &text("id")?)?,
        site_id: parse("site id", &text("site_id")?)?,
        name: WebhookName::parse(&text("name")?).map_err(corrupt)?,
        event: parse("event", &text("event")?)?,
        url: DestinationUrl::from_stored(&text("url")?).map_err(corrupt)?,
        enabled: row.try_get("enabled").map_err(db_error)?,
        status_change_reason: text("status_change_reason")?,
        owner_id: parse("owner id", &text("owner_id")?)?,
        created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
        updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
    };
    Ok(OwnedWebhook {
        webhook,
        owner_name: text("owner_name")?,
    })
}

async fn insert(pool: &PgPool, webhook: &Webhook) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhooks (id, site_id, name, event, url, enabled, status_change_reason, \
         owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(webhook.id.to_string())
    .bind(webhook.site_id.to_string())
    .bind(webhook.name.as_str())
    .bind(webhook.event.api_name())
    .bind(webhook.url.as_str())
    .bind(webhook.enabled)
    .bind(&webhook.status_change_reason)
    .bind(webhook.owner_id.to_string())
    .bind(millis(webhook.created_at))
    .bind(millis(webhook.updated_at))
    .execute(pool)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A site's webhooks, oldest first, ties by id in binary order (as SQLite compares text).
async fn for_site(pool: &PgPool, site: SiteId) -> StoreResult<Vec<OwnedWebhook>> {
    let rows = sqlx::query(select_webhooks!(
        "WHERE w.site_id = $1 ORDER BY w.created_at, w.id COLLATE \"C\""
    ))
    .bind(site.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

async fn by_id(pool: &PgPool, site: SiteId, id: WebhookId) -> StoreResult<Option<OwnedWebhook>> {
    let row = sqlx::query(select_webhooks!("WHERE w.site_id = $1 AND w.id = $2"))
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

/// Whether the update enabled a disabled webhook (its deliveries are due again).
async fn update(conn: &mut PgConnection, webhook: &Webhook) -> StoreResult<bool> {
    let id = webhook.id.to_string();
    // NO KEY UPDATE, as the recorders lock it: publications' foreign-key checks do not wait.
    let was_enabled: Option<bool> = sqlx::query_scalar(
        "SELECT enabled FROM webhooks WHERE site_id = $1 AND id = $2 FOR NO KEY UPDATE",
    )
    .bind(webhook.site_id.to_string())
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(was_enabled) = was_enabled else {
        return Err(StoreError::NotFound);
    };
    let enables = webhook.enabled && !was_enabled;
    // Enabling a webhook starts its count of consecutive failures afresh.
    sqlx::query(
        "UPDATE webhooks SET name = $1, event = $2, url = $3, enabled = $4, \
         status_change_reason = $5, updated_at = $6, \
         consecutive_failures = CASE WHEN $7 THEN 0 ELSE consecutive_failures END \
         WHERE id = $8",
    )
    .bind(webhook.name.as_str())
    .bind(webhook.event.api_name())
    .bind(webhook.url.as_str())
    .bind(webhook.enabled)
    .bind(&webhook.status_change_reason)
    .bind(millis(webhook.updated_at))
    .bind(enables)
    .bind(&id)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    pause(conn, &id, !webhook.enabled).await?;
    Ok(enables)
}

async fn delete(pool: &PgPool, site: SiteId, id: WebhookId) -> StoreResult<()> {
    let result = sqlx::query("DELETE FROM webhooks WHERE site_id = $1 AND id = $2")
        .bind(site.to_string())
        .bind(id.to_string())
        .execute(pool)
        .await
        .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

async fn set_signing_secret(
    pool: &PgPool,
    site: SiteId,
    id: WebhookId,
    secret: Option<String>,
) -> StoreResult<()> {
    let result =
        sqlx::query("UPDATE webhooks SET signing_secret = $1 WHERE site_id = $2 AND id = $3")
            .bind(secret)
            .bind(site.to_string())
            .bind(id.to_string())
            .execute(pool)
            .await
            .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[async_trait]
impl Webhooks for PgStore {
    async fn create_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        insert(&self.pool, webhook).await
    }

    async fn webhooks(&self, site: SiteId) -> StoreResult<Vec<OwnedWebhook>> {
        for_site(&self.pool, site).await
    }

    async fn webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<Option<OwnedWebhook>> {
        by_id(&self.pool, site, id).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        if update(&mut tx, webhook).await? {
            notify(&mut tx, &self.wakes.outbox_channel).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    async fn delete_webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<()> {
        delete(&self.pool, site, id).await
    }

    async fn set_signing_secret(
        &self,
        site: SiteId,
        id: WebhookId,
        secret: Option<String>,
    ) -> StoreResult<()> {
        let secret = self
            .at_rest
            .seal(SecretColumn::WebhookSigningSecret, secret)?;
        set_signing_secret(&self.pool, site, id, secret).await
    }
}
