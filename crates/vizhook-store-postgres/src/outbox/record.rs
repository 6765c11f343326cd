//! Recording attempts in PostgreSQL, with Tableau's failure accounting, and pausing a
//! webhook's deliveries.

use sqlx::PgConnection;
use vizhook_store::StoreResult;

use crate::convert::db_error;

/// Pauses (or resumes) a webhook's undelivered deliveries when it is disabled (or enabled).
pub(crate) async fn pause(conn: &mut PgConnection, webhook: &str, paused: bool) -> StoreResult<()> {
    let (from, to) = if paused {
        ("pending", "paused")
    } else {
        ("paused", "pending")
    };
    sqlx::query("UPDATE deliveries SET state = $1 WHERE webhook_id = $2 AND state = $3")
        .bind(to)
        .bind(webhook)
        .bind(from)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
