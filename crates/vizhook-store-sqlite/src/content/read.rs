//! Reading site content from SQLite: rows into records, and the reads of the content API
//! (one or all of a site's projects, data sources, workbooks, views; connections, jobs,
//! labels).

use sqlx::{Row, SqlitePool, sqlite::SqliteRow};
use vizhook_core::{DatasourceId, JobId, LabelId, ProjectId, SiteId, ViewId, WorkbookId};
use vizhook_store::{
    Connection, ContentRef, Datasource, Job, Label, Project, StoreError, StoreResult, View,
    Workbook,
};

use crate::convert::{db_error, from_millis, parse};

fn text(row: &SqliteRow, column: &str) -> StoreResult<String> {
    row.try_get::<String, _>(column).map_err(db_error)
}

fn time(row: &SqliteRow, column: &str) -> StoreResult<time::OffsetDateTime> {
    from_millis(row.try_get(column).map_err(db_error)?)
}

fn opt_time(row: &SqliteRow, column: &str) -> StoreResult<Option<time::OffsetDateTime>> {
    row.try_get::<Option<i64>, _>(column)
        .map_err(db_error)?
        .map(from_millis)
        .transpose()
}

fn flag(row: &SqliteRow, column: &str) -> StoreResult<bool> {
    row.try_get(column).map_err(db_error)
}

fn size(row: &SqliteRow) -> StoreResult<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>("size").map_err(db_error)?).unwrap_or(0))
}

fn project_from(row: &SqliteRow) -> StoreResult<Project> {
    Ok(Project {
        id: parse("project id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        name: text(row, "name")?,
        description: text(row, "description")?,
        parent_id: row
            .try_get::<Option<String>, _>("parent_id")
            .map_err(db_error)?
            .map(|p| parse("project id", &p))
            .transpose()?,
        owner_id: parse("owner id", &text(row, "owner_id")?)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn datasource_from(row: &SqliteRow) -> StoreResult<Datasource> {
    Ok(Datasource {
        id: parse("data source id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        project_id: parse("project id", &text(row, "project_id")?)?,
        owner_id: parse("owner id", &text(row, "owner_id")?)?,
        name: text(row, "name")?,
        content_url: text(row, "content_url")?,
        file_type: text(row, "file_type")?,
        description: text(row, "description")?,
        is_certified: flag(row, "is_certified")?,
        certification_note: text(row, "certification_note")?,
        has_extracts: flag(row, "has_extracts")?,
        size: size(row)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn workbook_from(row: &SqliteRow) -> StoreResult<Workbook> {
    Ok(Workbook {
        id: parse("workbook id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        project_id: parse("project id", &text(row, "project_id")?)?,
        owner_id: parse("owner id", &text(row, "owner_id")?)?,
        name: text(row, "name")?,
        content_url: text(row, "content_url")?,
        description: text(row, "description")?,
        show_tabs: flag(row, "show_tabs")?,
        size: size(row)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn view_from(row: &SqliteRow) -> StoreResult<View> {
    Ok(View {
        id: parse("view id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        workbook_id: parse("workbook id", &text(row, "workbook_id")?)?,
        name: text(row, "name")?,
        content_url: text(row, "content_url")?,
        created_at: time(row, "created_at")?,
    })
}

fn target_from(kind: &str, id: &str) -> StoreResult<ContentRef> {
    match kind {
        "datasource" => Ok(ContentRef::Datasource(parse("data source id", id)?)),
        "workbook" => Ok(ContentRef::Workbook(parse("workbook id", id)?)),
        other => Err(StoreError::Corrupt(format!("content kind {other}"))),
    }
}

fn connection_from(row: &SqliteRow) -> StoreResult<Connection> {
    let owner = match row
        .try_get::<Option<String>, _>("datasource_id")
        .map_err(db_error)?
    {
        Some(id) => ContentRef::Datasource(parse("data source id", &id)?),
        None => ContentRef::Workbook(parse("workbook id", &text(row, "workbook_id")?)?),
    };
    Ok(Connection {
        id: parse("connection id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        owner,
        class: text(row, "class")?,
        server: text(row, "server")?,
        port: text(row, "port")?,
        dbname: text(row, "dbname")?,
        username: text(row, "username")?,
        password: row.try_get("password").map_err(db_error)?,
        embed_password: flag(row, "embed_password")?,
    })
}

fn job_from(row: &SqliteRow) -> StoreResult<Job> {
    Ok(Job {
        id: parse("job id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        target: target_from(&text(row, "target_kind")?, &text(row, "target_id")?)?,
        target_name: text(row, "target_name")?,
        created_at: time(row, "created_at")?,
        started_at: opt_time(row, "started_at")?,
        completed_at: opt_time(row, "completed_at")?,
        progress: u8::try_from(row.try_get::<i64, _>("progress").map_err(db_error)?).unwrap_or(0),
        finish_code: row.try_get("finish_code").map_err(db_error)?,
        notes: text(row, "notes")?,
    })
}

fn label_from(row: &SqliteRow) -> StoreResult<Label> {
    Ok(Label {
        id: parse("label id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        target: target_from(&text(row, "target_kind")?, &text(row, "target_id")?)?,
        target_name: text(row, "target_name")?,
        value: text(row, "value")?,
        category: text(row, "category")?,
        message: text(row, "message")?,
        active: flag(row, "active")?,
        elevated: flag(row, "elevated")?,
        author_id: parse("author id", &text(row, "author_id")?)?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Runs a read that binds the site and, optionally, one more value.
async fn rows(
    pool: &SqlitePool,
    query: &'static str,
    site: SiteId,
    value: Option<String>,
) -> StoreResult<Vec<SqliteRow>> {
    let mut q = sqlx::query(query).bind(site.to_string());
    if let Some(value) = value {
        q = q.bind(value);
    }
    q.fetch_all(pool).await.map_err(db_error)
}

macro_rules! reader {
    ($all:ident, $one:ident, $id:ty, $from:ident, $record:ty, $table:literal, $order:literal) => {
        pub(crate) async fn $all(pool: &SqlitePool, site: SiteId) -> StoreResult<Vec<$record>> {
            let q = concat!(
                "SELECT * FROM ",
                $table,
                " WHERE site_id = ? ORDER BY ",
                $order
            );
            rows(pool, q, site, None).await?.iter().map($from).collect()
        }

        pub(crate) async fn $one(
            pool: &SqlitePool,
            site: SiteId,
            id: $id,
        ) -> StoreResult<Option<$record>> {
            let q = concat!("SELECT * FROM ", $table, " WHERE site_id = ? AND id = ?");
            rows(pool, q, site, Some(id.to_string()))
                .await?
                .first()
                .map($from)
                .transpose()
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
    "name COLLATE NOCASE, id"
);
reader!(
    datasources,
    datasource,
    DatasourceId,
    datasource_from,
    Datasource,
    "datasources",
    "created_at, id"
);
reader!(
    workbooks,
    workbook,
    WorkbookId,
    workbook_from,
    Workbook,
    "workbooks",
    "created_at, id"
);

pub(crate) async fn views(
    pool: &SqlitePool,
    site: SiteId,
    workbook: Option<WorkbookId>,
) -> StoreResult<Vec<View>> {
    let found = match workbook {
        Some(workbook) => {
            let q = "SELECT * FROM views WHERE site_id = ? AND workbook_id = ? ORDER BY position";
            rows(pool, q, site, Some(workbook.to_string())).await?
        }
        None => {
            rows(
                pool,
                "SELECT * FROM views WHERE site_id = ? ORDER BY workbook_id, position",
                site,
                None,
            )
            .await?
        }
    };
    found.iter().map(view_from).collect()
}

pub(crate) async fn view(pool: &SqlitePool, site: SiteId, id: ViewId) -> StoreResult<Option<View>> {
    rows(
        pool,
        "SELECT * FROM views WHERE site_id = ? AND id = ?",
        site,
        Some(id.to_string()),
    )
    .await?
    .first()
    .map(view_from)
    .transpose()
}

pub(crate) async fn connections(
    pool: &SqlitePool,
    site: SiteId,
    owner: ContentRef,
) -> StoreResult<Vec<Connection>> {
    let q = match owner {
        ContentRef::Datasource(_) => {
            "SELECT * FROM connections WHERE site_id = ? AND datasource_id = ? ORDER BY position"
        }
        ContentRef::Workbook(_) => {
            "SELECT * FROM connections WHERE site_id = ? AND workbook_id = ? ORDER BY position"
        }
    };
    rows(pool, q, site, Some(owner.id_string()))
        .await?
        .iter()
        .map(connection_from)
        .collect()
}

pub(crate) async fn job(pool: &SqlitePool, site: SiteId, id: JobId) -> StoreResult<Option<Job>> {
    rows(
        pool,
        "SELECT * FROM jobs WHERE site_id = ? AND id = ?",
        site,
        Some(id.to_string()),
    )
    .await?
    .first()
    .map(job_from)
    .transpose()
}

pub(crate) async fn unfinished_jobs(
    pool: &SqlitePool,
    target: Option<ContentRef>,
) -> StoreResult<Vec<Job>> {
    let found = sqlx::query("SELECT * FROM jobs WHERE completed_at IS NULL AND (?1 IS NULL OR target_id = ?1) ORDER BY created_at")
        .bind(target.map(ContentRef::id_string))
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    found.iter().map(job_from).collect()
}

pub(crate) async fn labels(
    pool: &SqlitePool,
    site: SiteId,
    targets: &[ContentRef],
) -> StoreResult<Vec<Label>> {
    let ids: Vec<String> = targets.iter().map(|t| t.id_string()).collect();
    let found = sqlx::query(
        "SELECT * FROM labels WHERE site_id = ? AND target_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id",
    )
    .bind(site.to_string())
    .bind(serde_json::to_string(&ids).unwrap_or_default())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    found.iter().map(label_from).collect()
}

pub(crate) async fn label(
    pool: &SqlitePool,
    site: SiteId,
    id: LabelId,
) -> StoreResult<Option<Label>> {
    rows(
        pool,
        "SELECT * FROM labels WHERE site_id = ? AND id = ?",
        site,
        Some(id.to_string()),
    )
    .await?
    .first()
    .map(label_from)
    .transpose()
}
