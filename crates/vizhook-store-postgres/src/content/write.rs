//! Content changes in PostgreSQL.

use sqlx::PgConnection;
use vizhook_store::{Project, StoreResult};

use crate::convert::{db_error, millis};

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
