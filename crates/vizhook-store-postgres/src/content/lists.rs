//! Writing a record's lists in PostgreSQL, one `UNNEST` statement per list whatever its length:
//! a workbook's views and a data source's or workbook's connections (replaced whole, keeping
//! the given order as `position`), and labels (inserted or updated).

use std::collections::HashSet;

use sqlx::PgConnection;
use vizhook_core::WorkbookId;
use vizhook_store::{Connection, ContentRef, Label, StoreResult, View};

use crate::convert::{db_error, millis};

/// The position column of the `index`th item of a list.
fn position(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

pub(super) async fn replace_views(
    conn: &mut PgConnection,
    workbook: WorkbookId,
    views: &[View],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM views WHERE workbook_id = $1")
        .bind(workbook.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = views.iter().map(|v| v.id.to_string()).collect();
    let sites: Vec<String> = views.iter().map(|v| v.site_id.to_string()).collect();
    let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
    let urls: Vec<&str> = views.iter().map(|v| v.content_url.as_str()).collect();
    let positions: Vec<i32> = (0..views.len()).map(position).collect();
    let created: Vec<i64> = views.iter().map(|v| millis(v.created_at)).collect();
    sqlx::query(
        "INSERT INTO views (id, site_id, workbook_id, name, content_url, position, created_at) \
         SELECT id, site_id, $3, name, content_url, position, created_at \
         FROM UNNEST($1::text[], $2::text[], $4::text[], $5::text[], $6::int[], $7::bigint[]) \
             AS v(id, site_id, name, content_url, position, created_at)",
    )
    .bind(&ids)
    .bind(&sites)
    .bind(workbook.to_string())
    .bind(&names)
    .bind(&urls)
    .bind(&positions)
    .bind(&created)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Replaces the connections of `owner` (their passwords already sealed).
pub(super) async fn replace_connections(
    conn: &mut PgConnection,
    owner: ContentRef,
    connections: &[Connection],
) -> StoreResult<()> {
    let (datasource, workbook) = match owner {
        ContentRef::Datasource(id) => (Some(id.to_string()), None),
        ContentRef::Workbook(id) => (None, Some(id.to_string())),
    };
    let delete = match owner {
        ContentRef::Datasource(_) => "DELETE FROM connections WHERE datasource_id = $1",
        ContentRef::Workbook(_) => "DELETE FROM connections WHERE workbook_id = $1",
    };
    sqlx::query(delete)
        .bind(owner.id_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if connections.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = connections.iter().map(|c| c.id.to_string()).collect();
    let sites: Vec<String> = connections.iter().map(|c| c.site_id.to_string()).collect();
    let positions: Vec<i32> = (0..connections.len()).map(position).collect();
    let classes: Vec<&str> = connections.iter().map(|c| c.class.as_str()).collect();
    let servers: Vec<&str> = connections.iter().map(|c| c.server.as_str()).collect();
    let ports: Vec<&str> = connections.iter().map(|c| c.port.as_str()).collect();
    let dbnames: Vec<&str> = connections.iter().map(|c| c.dbname.as_str()).collect();
    let usernames: Vec<&str> = connections.iter().map(|c| c.username.as_str()).collect();
    let passwords: Vec<Option<&str>> = connections.iter().map(|c| c.password.as_deref()).collect();
    let embeds: Vec<bool> = connections.iter().map(|c| c.embed_password).collect();
    sqlx::query(
        "INSERT INTO connections (id, site_id, datasource_id, workbook_id, position, class, \
            server, port, dbname, username, password, embed_password) \
         SELECT id, site_id, $3, $4, position, class, server, port, dbname, username, password, \
            embed_password \
         FROM UNNEST($1::text[], $2::text[], $5::int[], $6::text[], $7::text[], $8::text[], \
            $9::text[], $10::text[], $11::text[], $12::boolean[]) \
            AS c(id, site_id, position, class, server, port, dbname, username, password, \
                 embed_password)",
    )
    .bind(&ids)
    .bind(&sites)
    .bind(&datasource)
    .bind(&workbook)
    .bind(&positions)
    .bind(&classes)
    .bind(&servers)
    .bind(&ports)
    .bind(&dbnames)
    .bind(&usernames)
    .bind(&passwords)
    .bind(&embeds)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Inserts labels, or updates those that exist (their target and creation never change).
/// One statement per run of labels with distinct ids: PostgreSQL refuses to upsert one row
/// twice in a statement, and a repeated id must update the row its first occurrence wrote,
/// as one statement per label would.
pub(super) async fn save_labels(conn: &mut PgConnection, labels: &[Label]) -> StoreResult<()> {
    let mut rest = labels;
    while !rest.is_empty() {
        let mut seen = HashSet::new();
        let run = rest
            .iter()
            .position(|l| !seen.insert(l.id))
            .unwrap_or(rest.len());
        let (batch, after) = rest.split_at(run);
        upsert_labels(conn, batch).await?;
        rest = after;
    }
    Ok(())
}

async fn upsert_labels(conn: &mut PgConnection, labels: &[Label]) -> StoreResult<()> {
    let ids: Vec<String> = labels.iter().map(|l| l.id.to_string()).collect();
    let sites: Vec<String> = labels.iter().map(|l| l.site_id.to_string()).collect();
    let kinds: Vec<&str> = labels.iter().map(|l| l.target.kind()).collect();
    let targets: Vec<String> = labels.iter().map(|l| l.target.id_string()).collect();
    let target_names: Vec<&str> = labels.iter().map(|l| l.target_name.as_str()).collect();
    let values: Vec<&str> = labels.iter().map(|l| l.value.as_str()).collect();
    let categories: Vec<&str> = labels.iter().map(|l| l.category.as_str()).collect();
    let messages: Vec<&str> = labels.iter().map(|l| l.message.as_str()).collect();
    let active: Vec<bool> = labels.iter().map(|l| l.active).collect();
    let elevated: Vec<bool> = labels.iter().map(|l| l.elevated).collect();
    let authors: Vec<String> = labels.iter().map(|l| l.author_id.to_string()).collect();
    let created: Vec<i64> = labels.iter().map(|l| millis(l.created_at)).collect();
    let updated: Vec<i64> = labels.iter().map(|l| millis(l.updated_at)).collect();
    sqlx::query(
        "INSERT INTO labels (id, site_id, target_kind, target_id, target_name, value, category, \
            message, active, elevated, author_id, created_at, updated_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
            $6::text[], $7::text[], $8::text[], $9::boolean[], $10::boolean[], $11::text[], \
            $12::bigint[], $13::bigint[]) \
         ON CONFLICT (id) DO UPDATE SET value = excluded.value, category = excluded.category, \
            message = excluded.message, active = excluded.active, \
            elevated = excluded.elevated, author_id = excluded.author_id, \
            updated_at = excluded.updated_at",
    )
    .bind(&ids)
    .bind(&sites)
    .bind(&kinds)
    .bind(&targets)
    .bind(&target_names)
    .bind(&values)
    .bind(&categories)
    .bind(&messages)
    .bind(&active)
    .bind(&elevated)
    .bind(&authors)
    .bind(&created)
    .bind(&updated)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
