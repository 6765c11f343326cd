//! Saving one record of content in PostgreSQL: data sources and workbooks (inserted, or updated
//! in place keeping their creation time), a connection's settings, and jobs.

use sqlx::{PgConnection, postgres::PgQueryResult};
use vizhook_store::{Connection, Datasource, FINISHED_JOB, Job, StoreError, StoreResult, Workbook};

use crate::convert::{db_error, millis};

/// A write that must have touched a row: none is `NotFound`.
pub(super) fn exactly_one(result: Result<PgQueryResult, sqlx::Error>) -> StoreResult<()> {
    match result.map_err(db_error)?.rows_affected() {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// A size as its `BIGINT` column holds it.
fn size(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

pub(super) async fn datasource(conn: &mut PgConnection, d: &Datasource) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO datasources (id, site_id, project_id, owner_id, name, content_url, \
            file_type, description, is_certified, certification_note, has_extracts, size, \
            created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET \
            project_id = excluded.project_id, owner_id = excluded.owner_id, \
            name = excluded.name, content_url = excluded.content_url, \
            file_type = excluded.file_type, description = excluded.description, \
            is_certified = excluded.is_certified, \
            certification_note = excluded.certification_note, \
            has_extracts = excluded.has_extracts, size = excluded.size, \
            updated_at = excluded.updated_at",
    )
    .bind(d.id.to_string())
    .bind(d.site_id.to_string())
    .bind(d.project_id.to_string())
    .bind(d.owner_id.to_string())
    .bind(&d.name)
    .bind(&d.content_url)
    .bind(&d.file_type)
    .bind(&d.description)
    .bind(d.is_certified)
    .bind(&d.certification_note)
    .bind(d.has_extracts)
    .bind(size(d.size))
    .bind(millis(d.created_at))
    .bind(millis(d.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(super) async fn workbook(conn: &mut PgConnection, w: &Workbook) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workbooks (id, site_id, project_id, owner_id, name, content_url, \
            description, show_tabs, size, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET \
            project_id = excluded.project_id, owner_id = excluded.owner_id, \
            name = excluded.name, content_url = excluded.content_url, \
            description = excluded.description, show_tabs = excluded.show_tabs, \
            size = excluded.size, updated_at = excluded.updated_at",
    )
    .bind(w.id.to_string())
    .bind(w.site_id.to_string())
    .bind(w.project_id.to_string())
    .bind(w.owner_id.to_string())
    .bind(&w.name)
    .bind(&w.content_url)
    .bind(&w.description)
    .bind(w.show_tabs)
    .bind(size(w.size))
    .bind(millis(w.created_at))
    .bind(millis(w.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Updates an existing connection's settings (its password already sealed); `NotFound` if the
/// site has no such connection.
pub(super) async fn connection(conn: &mut PgConnection, c: &Connection) -> StoreResult<()> {
    exactly_one(
        sqlx::query(
            "UPDATE connections SET class = $1, server = $2, port = $3, dbname = $4, \
             username = $5, password = $6, embed_password = $7 WHERE site_id = $8 AND id = $9",
        )
        .bind(&c.class)
        .bind(&c.server)
        .bind(&c.port)
        .bind(&c.dbname)
        .bind(&c.username)
        .bind(&c.password)
        .bind(c.embed_password)
        .bind(c.site_id.to_string())
        .bind(c.id.to_string())
        .execute(conn)
        .await,
    )
}

/// Inserts a job, or records its progress and end; its target and creation never change.
pub(super) async fn job(conn: &mut PgConnection, j: &Job) -> StoreResult<()> {
    let result = sqlx::query(
        "INSERT INTO jobs (id, site_id, target_kind, target_id, target_name, created_at, \
            started_at, completed_at, progress, finish_code, notes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET \
            started_at = excluded.started_at, completed_at = excluded.completed_at, \
            progress = excluded.progress, finish_code = excluded.finish_code, \
            notes = excluded.notes \
         WHERE jobs.completed_at IS NULL",
    )
    .bind(j.id.to_string())
    .bind(j.site_id.to_string())
    .bind(j.target.kind())
    .bind(j.target.id_string())
    .bind(&j.target_name)
    .bind(millis(j.created_at))
    .bind(j.started_at.map(millis))
    .bind(j.completed_at.map(millis))
    .bind(i32::from(j.progress))
    .bind(j.finish_code)
    .bind(&j.notes)
    .execute(conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::Conflict {
            constraint: FINISHED_JOB.to_owned(),
        });
    }
    Ok(())
}
