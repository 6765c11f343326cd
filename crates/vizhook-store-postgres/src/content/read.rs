//! Reading site content from PostgreSQL: the reads of the content API (one or all of a site's
//! projects, data sources, workbooks, views; connections, jobs, labels). Text orderings use
//! the `C` collation, so that lists come in SQLite's (byte-wise) order whatever the
//! database's collation.

use sqlx::{PgPool, postgres::PgRow};
use vizhook_core::{DatasourceId, JobId, LabelId, ProjectId, SiteId, ViewId, WorkbookId};
use vizhook_store::{
    Connection, ContentRef, Datasource, Job, Label, Project, StoreResult, View, Workbook,
};

use super::rows::{
    connection_from, datasource_from, job_from, label_from, project_from, view_from, workbook_from,
};
use crate::convert::db_error;

/// Runs a read that binds the site and, optionally, one more value.
async fn rows(
    pool: &PgPool,
    query: &'static str,
    site: SiteId,
    value: Option<String>,
) -> StoreResult<Vec<PgRow>> {
    let mut q = sqlx::query(query).bind(site.to_string());
    if let Some(value) = value {
        q = q.bind(value);
    }
    q.fetch_all(pool).await.map_err(db_error)
}

/// Runs a read of at most one row by site and id.
async fn one<T>(
    pool: &PgPool,
    query: &'static str,
    site: SiteId,
    id: String,
    from: fn(&PgRow) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let found = sqlx::query(query)
        .bind(site.to_string())
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    found.as_ref().map(from).transpose()
}

macro_rules! reader {
    ($all:ident, $one:ident, $id:ty, $from:ident, $record:ty, $table:literal, $order:literal) => {
        pub(crate) async fn $all(pool: &PgPool, site: SiteId) -> StoreResult<Vec<$record>> {
            let q = concat!(
                "SELECT * FROM ",
                $table,
                " WHERE site_id = $1 ORDER BY ",
                $order
            );
            rows(pool, q, site, None).await?.iter().map($from).collect()
        }

        pub(crate) async fn $one(
            pool: &PgPool,
            site: SiteId,
            id: $id,
        ) -> StoreResult<Option<$record>> {
            let q = concat!("SELECT * FROM ", $table, " WHERE site_id = $1 AND id = $2");
            one(pool, q, site, id.to_string(), $from).await
        }
    };
}

reader!(
    projects,
    project,
    ProjectId,
    project_from,
    Project,
    "projects",
    "lower(name) COLLATE \"C\", id COLLATE \"C\""
);
reader!(
    datasources,
    datasource,
    DatasourceId,
    datasource_from,
    Datasource,
    "datasources",
    "created_at, id COLLATE \"C\""
);
reader!(
    workbooks,
    workbook,
    WorkbookId,
    workbook_from,
    Workbook,
    "workbooks",
    "created_at, id COLLATE \"C\""
);

pub(crate) async fn views(
    pool: &PgPool,
    site: SiteId,
    workbook: Option<WorkbookId>,
) -> StoreResult<Vec<View>> {
    let found = match workbook {
        Some(workbook) => {
            let q = "SELECT * FROM views WHERE site_id = $1 AND workbook_id = $2 ORDER BY position";
            rows(pool, q, site, Some(workbook.to_string())).await?
        }
        None => {
            let q = "SELECT * FROM views WHERE site_id = $1 \
                     ORDER BY workbook_id COLLATE \"C\", position";
            rows(pool, q, site, None).await?
        }
    };
    found.iter().map(view_from).collect()
}

pub(crate) async fn view(pool: &PgPool, site: SiteId, id: ViewId) -> StoreResult<Option<View>> {
    let q = "SELECT * FROM views WHERE site_id = $1 AND id = $2";
    one(pool, q, site, id.to_string(), view_from).await
}

pub(crate) async fn connections(
    pool: &PgPool,
    site: SiteId,
    owner: ContentRef,
) -> StoreResult<Vec<Connection>> {
    let q = match owner {
        ContentRef::Datasource(_) => {
            "SELECT * FROM connections WHERE site_id = $1 AND datasource_id = $2 ORDER BY position"
        }
        ContentRef::Workbook(_) => {
            "SELECT * FROM connections WHERE site_id = $1 AND workbook_id = $2 ORDER BY position"
        }
    };
    rows(pool, q, site, Some(owner.id_string()))
        .await?
        .iter()
        .map(connection_from)
        .collect()
}

pub(crate) async fn job(pool: &PgPool, site: SiteId, id: JobId) -> StoreResult<Option<Job>> {
    let q = "SELECT * FROM jobs WHERE site_id = $1 AND id = $2";
    one(pool, q, site, id.to_string(), job_from).await
}

pub(crate) async fn unfinished_jobs(
    pool: &PgPool,
    target: Option<ContentRef>,
) -> StoreResult<Vec<Job>> {
    let found = sqlx::query(
        "SELECT * FROM jobs WHERE completed_at IS NULL \
         AND ($1::text IS NULL OR target_id = $1) ORDER BY created_at, id COLLATE \"C\"",
    )
    .bind(target.map(ContentRef::id_string))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    found.iter().map(job_from).collect()
}

pub(crate) async fn labels(
    pool: &PgPool,
    site: SiteId,
    targets: &[ContentRef],
) -> StoreResult<Vec<Label>> {
    let ids: Vec<String> = targets.iter().map(|t| t.id_string()).collect();
    let found = sqlx::query(
        "SELECT * FROM labels WHERE site_id = $1 AND target_id = ANY($2) \
         ORDER BY created_at, id COLLATE \"C\"",
    )
    .bind(site.to_string())
    .bind(&ids)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    found.iter().map(label_from).collect()
}

pub(crate) async fn label(pool: &PgPool, site: SiteId, id: LabelId) -> StoreResult<Option<Label>> {
    let q = "SELECT * FROM labels WHERE site_id = $1 AND id = $2";
    one(pool, q, site, id.to_string(), label_from).await
}
