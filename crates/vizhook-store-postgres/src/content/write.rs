//! Content changes in PostgreSQL: `apply` runs each `ContentChange` (saving or deleting
//! projects with their subtrees, data sources, workbooks with their views, connections, jobs
//! and labels) and then writes the events they fire, all in the caller's transaction, so that a
//! failing change rolls back the changes before it and publishes nothing. The saves of records
//! are in `save.rs`, the replacement of a record's views, connections and labels in `lists.rs`.

use sqlx::PgConnection;
use vizhook_core::{LabelId, ProjectId, SiteId, ViewId};
use vizhook_store::{
    ContentChange, ContentRef, Project, PublishEvent, Published, StoreError, StoreResult,
};

use super::{
    lists,
    save::{self, exactly_one},
};
use crate::{
    convert::{db_error, millis},
    outbox::publish::publish,
    wakes::Wakes,
};

pub(crate) async fn apply(
    conn: &mut PgConnection,
    wakes: &Wakes,
    changes: &[ContentChange],
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    for change in changes {
        match change {
            ContentChange::SaveProject(project) => save_project(conn, project).await?,
            ContentChange::DeleteProject { site, id } => delete_project(conn, *site, *id).await?,
            ContentChange::SaveDatasource {
                datasource,
                connections,
            } => {
                save::datasource(conn, datasource).await?;
                if let Some(connections) = connections {
                    let owner = ContentRef::Datasource(datasource.id);
                    lists::replace_connections(conn, owner, connections).await?;
                }
            }
            ContentChange::DeleteDatasource { site, id } => {
                delete_target(conn, ContentRef::Datasource(*id), *site).await?;
            }
            ContentChange::SaveWorkbook {
                workbook,
                views,
                connections,
            } => {
                save::workbook(conn, workbook).await?;
                if let Some(views) = views {
                    lists::replace_views(conn, workbook.id, views).await?;
                }
                if let Some(connections) = connections {
                    let owner = ContentRef::Workbook(workbook.id);
                    lists::replace_connections(conn, owner, connections).await?;
                }
            }
            ContentChange::DeleteWorkbook { site, id } => {
                delete_target(conn, ContentRef::Workbook(*id), *site).await?;
            }
            ContentChange::DeleteView { site, id } => delete_view(conn, *site, *id).await?,
            ContentChange::SaveConnection(connection) => {
                save::connection(conn, connection).await?;
            }
            ContentChange::SaveJob(job) => save::job(conn, job).await?,
            ContentChange::SaveLabels(labels) => lists::save_labels(conn, labels).await?,
            ContentChange::DeleteLabels { site, ids } => delete_labels(conn, *site, ids).await?,
        }
    }
    publish(conn, wakes, events).await
}

pub(crate) async fn save_project(conn: &mut PgConnection, p: &Project) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO projects (id, site_id, name, description, parent_id, owner_id, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET \
         name = excluded.name, description = excluded.description, \
         parent_id = excluded.parent_id, owner_id = excluded.owner_id, \
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

/// Deletes a project, its sub-projects and all their content (and the content's labels), in
/// one statement: the labels go in a data-modifying `WITH`, the projects in the statement
/// itself (whose count says whether the project was there), their data sources and workbooks
/// (and those's views and connections) by cascade.
async fn delete_project(conn: &mut PgConnection, site: SiteId, id: ProjectId) -> StoreResult<()> {
    exactly_one(
        sqlx::query(
            "WITH RECURSIVE tree(id) AS ( \
                 SELECT id FROM projects WHERE site_id = $1 AND id = $2 \
                 UNION SELECT p.id FROM projects p JOIN tree ON p.parent_id = tree.id), \
             gone_labels AS ( \
                 DELETE FROM labels WHERE target_id IN ( \
                     SELECT id FROM datasources WHERE project_id IN (SELECT id FROM tree) \
                     UNION SELECT id FROM workbooks WHERE project_id IN (SELECT id FROM tree))) \
             DELETE FROM projects WHERE id IN (SELECT id FROM tree)",
        )
        .bind(site.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await,
    )
}

/// Deletes a data source or workbook with its labels; views and connections cascade.
async fn delete_target(
    conn: &mut PgConnection,
    target: ContentRef,
    site: SiteId,
) -> StoreResult<()> {
    let statement = match target {
        ContentRef::Datasource(_) => {
            "WITH gone_labels AS (DELETE FROM labels WHERE site_id = $1 AND target_id = $2) \
             DELETE FROM datasources WHERE site_id = $1 AND id = $2"
        }
        ContentRef::Workbook(_) => {
            "WITH gone_labels AS (DELETE FROM labels WHERE site_id = $1 AND target_id = $2) \
             DELETE FROM workbooks WHERE site_id = $1 AND id = $2"
        }
    };
    exactly_one(
        sqlx::query(statement)
            .bind(site.to_string())
            .bind(target.id_string())
            .execute(conn)
            .await,
    )
}

async fn delete_view(conn: &mut PgConnection, site: SiteId, id: ViewId) -> StoreResult<()> {
    exactly_one(
        sqlx::query("DELETE FROM views WHERE site_id = $1 AND id = $2")
            .bind(site.to_string())
            .bind(id.to_string())
            .execute(conn)
            .await,
    )
}

/// Deletes labels by id, in one statement; `NotFound` unless every id named a label of the
/// site (as SQLite's one delete per id, a repeated id counts as missing the second time).
async fn delete_labels(conn: &mut PgConnection, site: SiteId, ids: &[LabelId]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let deleted = sqlx::query("DELETE FROM labels WHERE site_id = $1 AND id = ANY($2)")
        .bind(site.to_string())
        .bind(&ids)
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected();
    if usize::try_from(deleted).ok() == Some(ids.len()) {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
