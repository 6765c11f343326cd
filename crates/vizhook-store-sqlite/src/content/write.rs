//! Writing site content in SQLite: `apply` runs each `ContentChange` (saving or deleting
//! projects with their subtrees, data sources, workbooks with their views, connections, jobs
//! and labels) and then writes the events they fire, in the caller's transaction.

use sqlx::SqliteConnection;
use vizhook_core::{ProjectId, SiteId, ViewId, WorkbookId};
use vizhook_store::{
    Connection, ContentChange, ContentRef, Datasource, FINISHED_JOB, Job, Label, Project,
    PublishEvent, Published, StoreError, StoreResult, View, Workbook,
};

use crate::{
    convert::{db_error, millis},
    outbox::publish::publish,
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
    publish(conn, &events).await
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
    let result = sqlx::query(
        "INSERT INTO jobs (id, site_id, target_kind, target_id, target_name, created_at, started_at, completed_at, \
            progress, finish_code, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET \
            started_at = excluded.started_at, completed_at = excluded.completed_at, progress = excluded.progress, \
            finish_code = excluded.finish_code, notes = excluded.notes \
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
    .bind(i64::from(j.progress))
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
