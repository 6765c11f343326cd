//! The `sites` table in PostgreSQL: site rows (also read with a prefix, from joins), creating a
//! site with its Default project, reading, updating and deleting sites (deleting cascades to
//! everything on the site), each write with the events it fires.

use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use vizhook_core::{ContentUrl, SiteId};
use vizhook_store::{Project, PublishEvent, Published, Site, StoreError, StoreResult};

use crate::{
    content::write::save_project,
    convert::{db_error, from_millis, millis, parse},
    outbox::publish::publish,
    wakes::Wakes,
};

/// `SELECT … FROM sites` followed by the given clause, as a static string.
macro_rules! select_sites {
    ($clause:literal) => {
        concat!(
            "SELECT id, name, content_url, admin_mode, state, created_at, updated_at FROM sites ",
            $clause
        )
    };
}

pub(crate) fn from_row(row: &PgRow) -> StoreResult<Site> {
    from_prefixed_row(row, "")
}

/// Reads a site from columns named `{prefix}id`, `{prefix}name`, … (for joins).
pub(crate) fn from_prefixed_row(row: &PgRow, prefix: &str) -> StoreResult<Site> {
    let get = |column: &str| -> StoreResult<String> {
        row.try_get::<String, _>(format!("{prefix}{column}").as_str())
            .map_err(db_error)
    };
    let get_time = |column: &str| -> StoreResult<i64> {
        row.try_get::<i64, _>(format!("{prefix}{column}").as_str())
            .map_err(db_error)
    };
    let content_url = get("content_url")?;
    Ok(Site {
        id: parse("site id", &get("id")?)?,
        name: get("name")?,
        content_url: ContentUrl::parse(&content_url)
            .map_err(|err| StoreError::Corrupt(err.to_string()))?,
        admin_mode: get("admin_mode")?,
        state: get("state")?,
        created_at: from_millis(get_time("created_at")?)?,
        updated_at: from_millis(get_time("updated_at")?)?,
    })
}

/// Creates a site with its Default project and writes `events`.
pub(crate) async fn create(
    conn: &mut PgConnection,
    wakes: &Wakes,
    site: &Site,
    project: &Project,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    insert(conn, site).await?;
    save_project(conn, project).await?;
    publish(conn, wakes, events).await
}

pub(crate) async fn insert(conn: &mut PgConnection, site: &Site) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sites (id, name, content_url, admin_mode, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(site.id.to_string())
    .bind(&site.name)
    .bind(site.content_url.as_str())
    .bind(&site.admin_mode)
    .bind(&site.state)
    .bind(millis(site.created_at))
    .bind(millis(site.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Every site, oldest first, ties by name in binary order (as SQLite compares text).
pub(crate) async fn all(pool: &PgPool) -> StoreResult<Vec<Site>> {
    let rows = sqlx::query(select_sites!("ORDER BY created_at, name COLLATE \"C\""))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    rows.iter().map(from_row).collect()
}

async fn one(pool: &PgPool, query: &'static str, value: String) -> StoreResult<Option<Site>> {
    let row = sqlx::query(query)
        .bind(value)
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn by_id(pool: &PgPool, id: SiteId) -> StoreResult<Option<Site>> {
    one(pool, select_sites!("WHERE id = $1"), id.to_string()).await
}

/// Case-insensitive, through the unique index on `lower(content_url)`.
pub(crate) async fn by_content_url(
    pool: &PgPool,
    content_url: &ContentUrl,
) -> StoreResult<Option<Site>> {
    one(
        pool,
        select_sites!("WHERE lower(content_url) = lower($1)"),
        content_url.to_string(),
    )
    .await
}

/// Case-insensitive, through the unique index on `lower(name)`.
pub(crate) async fn by_name(pool: &PgPool, name: &str) -> StoreResult<Option<Site>> {
    one(
        pool,
        select_sites!("WHERE lower(name) = lower($1)"),
        name.to_owned(),
    )
    .await
}

pub(crate) async fn update(
    conn: &mut PgConnection,
    wakes: &Wakes,
    site: &Site,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    let result = sqlx::query(
        "UPDATE sites SET name = $1, content_url = $2, admin_mode = $3, state = $4, \
         updated_at = $5 WHERE id = $6",
    )
    .bind(&site.name)
    .bind(site.content_url.as_str())
    .bind(&site.admin_mode)
    .bind(&site.state)
    .bind(millis(site.updated_at))
    .bind(site.id.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    publish(conn, wakes, events).await
}

/// Deletes a site; its users, sessions, webhooks (with their deliveries) and content go with
/// it, by the foreign keys' `ON DELETE CASCADE`, and then its notices. Notices hold no foreign
/// key (migration 0005): a recorder writes one while it holds the webhook's row, and a key
/// would make it wait for the site's row, which this deletion holds while it waits for the
/// webhook's. The notices' delete is a statement of its own, so it sees a notice written by a
/// recorder that committed while the cascade waited.
pub(crate) async fn delete(
    conn: &mut PgConnection,
    wakes: &Wakes,
    id: SiteId,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    let result = sqlx::query("DELETE FROM sites WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM notices WHERE site_id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    publish(conn, wakes, events).await
}
