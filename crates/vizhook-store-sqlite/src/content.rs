//! Site content in SQLite: `apply` writes content changes and the events they fire in one
//! transaction; the read functions serve the content API.

use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use vizhook_core::{DatasourceId, JobId, LabelId, ProjectId, SiteId, ViewId, WorkbookId};
use vizhook_store::*;

use crate::{
    convert::{db_error, from_millis, millis, parse},
    outbox,
};

pub(crate) async fn apply(
    conn: &mut SqliteConnection,
    changes: Vec<ContentChange>,
    events: Vec<PublishEvent>,
) -> StoreResult<Vec<Published>> {
    for change in changes {
        match change {
            ContentChange::SaveProject(project) => save_project(conn, &project).await?,
            ContentChange::DeleteProject { site, id } => delete_project(conn, site, id).await?,
            ContentChange::SaveDatasource {
                datasource,
                connections,
            } => {
                save_datasource(conn, &datasource).await?;
                if let Some(connections) = connections {
                    replace_connections(conn, ContentRef::Datasource(datasource.id), &connections)
                        .await?;
                }
            }
            ContentChange::DeleteDatasource { site, id } => {
                delete_target(conn, "datasources", site, &id.to_string()).await?;
            }
            ContentChange::SaveWorkbook {
                workbook,
                views,
                connections,
            } => {
                save_workbook(conn, &workbook).await?;
                if let Some(views) = views {
                    replace_views(conn, workbook.id, &views).await?;
                }
                if let Some(connections) = connections {
                    replace_connections(conn, ContentRef::Workbook(workbook.id), &connections)
                        .await?;
                }
            }
            ContentChange::DeleteWorkbook { site, id } => {
                delete_target(conn, "workbooks", site, &id.to_string()).await?;
            }
            ContentChange::DeleteView { site, id } => delete_view(conn, site, id).await?,
            ContentChange::SaveConnection(connection) => {
                update_connection(conn, &connection).await?
            }
            ContentChange::SaveJob(job) => save_job(conn, &job).await?,
            ContentChange::SaveLabels(labels) => {
                for label in &labels {
                    save_label(conn, label).await?;
                }
            }
            ContentChange::DeleteLabels { site, ids } => {
                for id in ids {
                    exactly_one(
                        sqlx::query("DELETE FROM labels WHERE site_id = ? AND id = ?")
                            .bind(site.to_string())
                            .bind(id.to_string())
                            .execute(&mut *conn)
                            .await,
                    )?;
                }
            }
        }
    }
    outbox::publish(conn, &events).await
}

fn exactly_one(result: Result<sqlx::sqlite::SqliteQueryResult, sqlx::Error>) -> StoreResult<()> {
    match result.map_err(db_error)?.rows_affected() {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn save_project(conn: &mut SqliteConnection, p: &Project) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO projects (id, site_id, name, description, parent_id, owner_id, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         description = excluded.description, parent_id = excluded.parent_id, owner_id = excluded.owner_id, \
         updated_at = excluded.updated_at",
    )
    .bind(p.id.to_string())
    .bind(p.site_id.to_string())
    .bind(&p.name)
    .bind(&p.description)
    .bind(p.parent_id.map(|id| id.to_string()))
    .bind(p.owner_id.to_string())
    .bind(millis(p.created_at))
    .bind(millis(p.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Deletes a project, its sub-projects and all their content (and the content's labels).
async fn delete_project(
    conn: &mut SqliteConnection,
    site: SiteId,
    id: ProjectId,
) -> StoreResult<()> {
    const TREE: &str = "WITH RECURSIVE tree(id) AS (SELECT id FROM projects WHERE site_id = ?1 AND id = ?2 \
        UNION SELECT p.id FROM projects p JOIN tree ON p.parent_id = tree.id) ";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "{TREE} DELETE FROM labels WHERE target_id IN \
         (SELECT id FROM datasources WHERE project_id IN tree UNION SELECT id FROM workbooks WHERE project_id IN tree)"
    )))
    .bind(site.to_string())
    .bind(id.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    exactly_one(
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TREE} DELETE FROM projects WHERE id IN tree"
        )))
        .bind(site.to_string())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await,
    )
}

async fn save_datasource(conn: &mut SqliteConnection, d: &Datasource) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO datasources (id, site_id, project_id, owner_id, name, content_url, file_type, description, \
            is_certified, certification_note, has_extracts, size, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
            project_id = excluded.project_id, owner_id = excluded.owner_id, name = excluded.name, \
            content_url = excluded.content_url, file_type = excluded.file_type, description = excluded.description, \
            is_certified = excluded.is_certified, certification_note = excluded.certification_note, \
            has_extracts = excluded.has_extracts, size = excluded.size, updated_at = excluded.updated_at",
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
    .bind(i64::try_from(d.size).unwrap_or(i64::MAX))
    .bind(millis(d.created_at))
    .bind(millis(d.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn save_workbook(conn: &mut SqliteConnection, w: &Workbook) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO workbooks (id, site_id, project_id, owner_id, name, content_url, description, show_tabs, \
            size, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
            project_id = excluded.project_id, owner_id = excluded.owner_id, name = excluded.name, \
            content_url = excluded.content_url, description = excluded.description, show_tabs = excluded.show_tabs, \
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
    .bind(i64::try_from(w.size).unwrap_or(i64::MAX))
    .bind(millis(w.created_at))
    .bind(millis(w.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Deletes a data source or workbook (`table`) with its labels; views and connections cascade.
async fn delete_target(
    conn: &mut SqliteConnection,
    table: &'static str,
    site: SiteId,
    id: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM labels WHERE site_id = ? AND target_id = ?")
        .bind(site.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    let statement = match table {
        "datasources" => "DELETE FROM datasources WHERE site_id = ? AND id = ?",
        _ => "DELETE FROM workbooks WHERE site_id = ? AND id = ?",
    };
    exactly_one(
        sqlx::query(statement)
            .bind(site.to_string())
            .bind(id)
            .execute(&mut *conn)
            .await,
    )
}

async fn replace_views(
    conn: &mut SqliteConnection,
    workbook: WorkbookId,
    views: &[View],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM views WHERE workbook_id = ?")
        .bind(workbook.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    for (position, view) in views.iter().enumerate() {
        sqlx::query(
            "INSERT INTO views (id, site_id, workbook_id, name, content_url, position, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(view.id.to_string())
        .bind(view.site_id.to_string())
        .bind(workbook.to_string())
        .bind(&view.name)
        .bind(&view.content_url)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(millis(view.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

async fn delete_view(conn: &mut SqliteConnection, site: SiteId, id: ViewId) -> StoreResult<()> {
    exactly_one(
        sqlx::query("DELETE FROM views WHERE site_id = ? AND id = ?")
            .bind(site.to_string())
            .bind(id.to_string())
            .execute(conn)
            .await,
    )
}

async fn replace_connections(
    conn: &mut SqliteConnection,
    owner: ContentRef,
    connections: &[Connection],
) -> StoreResult<()> {
    let (datasource, workbook) = owner_columns(owner);
    sqlx::query("DELETE FROM connections WHERE datasource_id IS ?1 AND workbook_id IS ?2")
        .bind(&datasource)
        .bind(&workbook)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    for (position, c) in connections.iter().enumerate() {
        sqlx::query(
            "INSERT INTO connections (id, site_id, datasource_id, workbook_id, position, class, server, port, \
                dbname, username, password, embed_password) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.site_id.to_string())
        .bind(&datasource)
        .bind(&workbook)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&c.class)
        .bind(&c.server)
        .bind(&c.port)
        .bind(&c.dbname)
        .bind(&c.username)
        .bind(&c.password)
        .bind(c.embed_password)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

fn owner_columns(owner: ContentRef) -> (Option<String>, Option<String>) {
    match owner {
        ContentRef::Datasource(id) => (Some(id.to_string()), None),
        ContentRef::Workbook(id) => (None, Some(id.to_string())),
    }
}

async fn update_connection(conn: &mut SqliteConnection, c: &Connection) -> StoreResult<()> {
    exactly_one(
        sqlx::query(
            "UPDATE connections SET class = ?, server = ?, port = ?, dbname = ?, username = ?, password = ?, \
             embed_password = ? WHERE site_id = ? AND id = ?",
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

async fn save_job(conn: &mut SqliteConnection, j: &Job) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, site_id, target_kind, target_id, target_name, created_at, started_at, completed_at, \
            progress, finish_code, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
            started_at = excluded.started_at, completed_at = excluded.completed_at, progress = excluded.progress, \
            finish_code = excluded.finish_code, notes = excluded.notes",
    )
    .bind(j.id.to_string())
    .bind(j.site_id.to_string())
    .bind(j.target.kind())
    .bind(j.target.id_string())
    .bind(&j.target_name)
    .bind(millis(j.created_at))
    .bind(j.started_at.map(millis))
    .bind(j.completed_at.map(millis))
    .bind(i64::from(j.progress))
    .bind(j.finish_code)
    .bind(&j.notes)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn save_label(conn: &mut SqliteConnection, l: &Label) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO labels (id, site_id, target_kind, target_id, target_name, value, category, message, active, \
            elevated, author_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET value = excluded.value, category = excluded.category, \
            message = excluded.message, active = excluded.active, elevated = excluded.elevated, \
            author_id = excluded.author_id, updated_at = excluded.updated_at",
    )
    .bind(l.id.to_string())
    .bind(l.site_id.to_string())
    .bind(l.target.kind())
    .bind(l.target.id_string())
    .bind(&l.target_name)
    .bind(&l.value)
    .bind(&l.category)
    .bind(&l.message)
    .bind(l.active)
    .bind(l.elevated)
    .bind(l.author_id.to_string())
    .bind(millis(l.created_at))
    .bind(millis(l.updated_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

// Reads.

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
