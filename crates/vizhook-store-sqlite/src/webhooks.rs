//! `Webhooks` in SQLite: webhook rows with their owner's name, and signing secrets (sealed
//! before the write is queued). Disabling a webhook pauses its undelivered deliveries and
//! enabling it resumes them, in the same transaction.

use async_trait::async_trait;
use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use vizhook_core::{DestinationUrl, SiteId, Webhook, WebhookId, WebhookName};
use vizhook_store::{OwnedWebhook, StoreError, StoreResult, Webhooks, cipher::SecretColumn};

use crate::{
    SqliteStore,
    convert::{db_error, from_millis, millis, parse},
    outbox::record::pause,
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

fn from_row(row: &SqliteRow) -> StoreResult<OwnedWebhook> {
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

async fn insert(conn: &mut SqliteConnection, webhook: Webhook) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhooks (id, site_id, name, event, url, enabled, status_change_reason, \
         owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn for_site(pool: &SqlitePool, site: SiteId) -> StoreResult<Vec<OwnedWebhook>> {
    let rows = sqlx::query(select_webhooks!(
        "WHERE w.site_id = ? ORDER BY w.created_at, w.id"
    ))
    .bind(site.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

async fn by_id(
    pool: &SqlitePool,
    site: SiteId,
    id: WebhookId,
) -> StoreResult<Option<OwnedWebhook>> {
    let row = sqlx::query(select_webhooks!("WHERE w.site_id = ? AND w.id = ?"))
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

async fn update(conn: &mut SqliteConnection, webhook: Webhook) -> StoreResult<()> {
    let result = sqlx::query(
        "UPDATE webhooks SET name = ?1, event = ?2, url = ?3, enabled = ?4, status_change_reason = ?5, \
         updated_at = ?6, \
         consecutive_failures = CASE WHEN ?4 AND NOT enabled THEN 0 ELSE consecutive_failures END \
         WHERE site_id = ?7 AND id = ?8",
    )
    .bind(webhook.name.as_str())
    .bind(webhook.event.api_name())
    .bind(webhook.url.as_str())
    .bind(webhook.enabled)
    .bind(&webhook.status_change_reason)
    .bind(millis(webhook.updated_at))
    .bind(webhook.site_id.to_string())
    .bind(webhook.id.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    pause(conn, &webhook.id.to_string(), !webhook.enabled).await
}

async fn delete(conn: &mut SqliteConnection, site: SiteId, id: WebhookId) -> StoreResult<()> {
    let result = sqlx::query("DELETE FROM webhooks WHERE site_id = ? AND id = ?")
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

async fn set_signing_secret(
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

#[async_trait]
impl Webhooks for SqliteStore {
    async fn create_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let webhook = webhook.clone();
        self.writer
            .run(move |conn| Box::pin(insert(conn, webhook)))
            .await
    }

    async fn webhooks(&self, site: SiteId) -> StoreResult<Vec<OwnedWebhook>> {
        for_site(&self.reader, site).await
    }

    async fn webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<Option<OwnedWebhook>> {
        by_id(&self.reader, site, id).await
    }

    async fn update_webhook(&self, webhook: &Webhook) -> StoreResult<()> {
        let webhook = webhook.clone();
        self.writer
            .run(move |conn| Box::pin(update(conn, webhook)))
            .await
    }

    async fn delete_webhook(&self, site: SiteId, id: WebhookId) -> StoreResult<()> {
        self.writer
            .run(move |conn| Box::pin(delete(conn, site, id)))
            .await
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
        self.writer
            .run(move |conn| Box::pin(set_signing_secret(conn, site, id, secret)))
            .await
    }
}
