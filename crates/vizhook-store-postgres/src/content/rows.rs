//! Rows of the content tables into records.

use sqlx::{Row, postgres::PgRow};
use vizhook_store::{
    Connection, ContentRef, Datasource, Job, Label, Project, StoreError, StoreResult, View,
    Workbook,
};

use crate::convert::{db_error, from_millis, parse};

fn text(row: &PgRow, column: &str) -> StoreResult<String> {
    row.try_get::<String, _>(column).map_err(db_error)
}

fn time(row: &PgRow, column: &str) -> StoreResult<time::OffsetDateTime> {
    from_millis(row.try_get(column).map_err(db_error)?)
}

fn opt_time(row: &PgRow, column: &str) -> StoreResult<Option<time::OffsetDateTime>> {
    row.try_get::<Option<i64>, _>(column)
        .map_err(db_error)?
        .map(from_millis)
        .transpose()
}

fn flag(row: &PgRow, column: &str) -> StoreResult<bool> {
    row.try_get(column).map_err(db_error)
}

fn size(row: &PgRow) -> StoreResult<u64> {
    Ok(u64::try_from(row.try_get::<i64, _>("size").map_err(db_error)?).unwrap_or(0))
}

pub(super) fn project_from(row: &PgRow) -> StoreResult<Project> {
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

pub(super) fn datasource_from(row: &PgRow) -> StoreResult<Datasource> {
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

pub(super) fn workbook_from(row: &PgRow) -> StoreResult<Workbook> {
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

pub(super) fn view_from(row: &PgRow) -> StoreResult<View> {
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

pub(super) fn connection_from(row: &PgRow) -> StoreResult<Connection> {
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

pub(super) fn job_from(row: &PgRow) -> StoreResult<Job> {
    Ok(Job {
        id: parse("job id", &text(row, "id")?)?,
        site_id: parse("site id", &text(row, "site_id")?)?,
        target: target_from(&text(row, "target_kind")?, &text(row, "target_id")?)?,
        target_name: text(row, "target_name")?,
        created_at: time(row, "created_at")?,
        started_at: opt_time(row, "started_at")?,
        completed_at: opt_time(row, "completed_at")?,
        progress: u8::try_from(row.try_get::<i32, _>("progress").map_err(db_error)?).unwrap_or(0),
        finish_code: row.try_get("finish_code").map_err(db_error)?,
        notes: text(row, "notes")?,
    })
}

pub(super) fn label_from(row: &PgRow) -> StoreResult<Label> {
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
