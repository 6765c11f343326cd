//! The secret columns at open (under an advisory lock, so that nodes starting together review
//! them one at a time): every stored value is reviewed against the configured key ring
//! in one transaction, and plain values and values under a previous key are re-encrypted with
//! the primary key. If any value cannot be read (a key that is not in the ring, encrypted
//! values without a key, a value that does not decrypt), nothing is written. A value another
//! node changed since it was read is left as that node wrote it.

use sqlx::{Connection, PgConnection, Row};
use vizhook_store::cipher::{AtRest, SecretColumn};

use crate::error::OpenError;

/// The advisory lock taken while the secrets are reviewed (an arbitrary constant of ours).
const REVIEW_LOCK: i64 = 0x7669_7a68_6f6f_6b01;

/// The table and column that hold a secret column's values.
fn location(column: SecretColumn) -> (&'static str, &'static str) {
    match column {
        SecretColumn::WebhookSigningSecret => ("webhooks", "signing_secret"),
        SecretColumn::ConnectionPassword => ("connections", "password"),
    }
}

/// Reviews and rewrites the secret columns; returns how many values were rewritten.
pub(crate) async fn review(conn: &mut PgConnection, at_rest: &AtRest) -> Result<u64, OpenError> {
    let mut tx = conn.begin().await.map_err(OpenError::Reencrypt)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(REVIEW_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(OpenError::Reencrypt)?;
    let mut rewrites = Vec::new();
    for column in SecretColumn::ALL {
        let (table, field) = location(column);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, {field} FROM {table} WHERE {field} IS NOT NULL"
        )))
        .fetch_all(&mut *tx)
        .await
        .map_err(OpenError::Reencrypt)?;
        for row in rows {
            let id: String = row.try_get(0).map_err(OpenError::Reencrypt)?;
            let stored: String = row.try_get(1).map_err(OpenError::Reencrypt)?;
            if let Some(value) = at_rest.review(column, &stored)? {
                rewrites.push((column, id, stored, value));
            }
        }
    }
    // Every value was readable: only now is anything written. Each rewrite applies only if
    // the value is still the one reviewed: a running node of the same database may have set
    // a new secret meanwhile (sealed with its primary key), and that one is kept.
    let mut rewritten = 0;
    for (column, id, stored, value) in &rewrites {
        let (table, field) = location(*column);
        rewritten += sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET {field} = $1 WHERE id = $2 AND {field} = $3"
        )))
        .bind(value)
        .bind(id)
        .bind(stored)
        .execute(&mut *tx)
        .await
        .map_err(OpenError::Reencrypt)?
        .rows_affected();
    }
    tx.commit().await.map_err(OpenError::Reencrypt)?;
    Ok(rewritten)
}
