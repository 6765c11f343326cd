//! Sign-in sessions in PostgreSQL: starting one (a server administrator joins the site on the
//! way), reading a live one with its user and site, and ending one. Only a hash of a session's
//! token is stored.

use sqlx::{PgConnection, PgPool, Row, postgres::PgRow};
use time::OffsetDateTime;
use vizhook_core::SiteRole;
use vizhook_store::{NewSession, Session, StoreError, StoreResult, TokenHash};

use crate::{
    convert::{db_error, from_millis, millis},
    members::{Membership, join_site, membership, select_users, user_from_row},
    sites::site,
};

pub(crate) async fn start_session(
    conn: &mut PgConnection,
    new: &NewSession,
) -> StoreResult<Session> {
    let user_id = match membership(conn, new.site_id, new.account_id).await? {
        Some(id) => id,
        None => {
            let server_admin: Option<bool> =
                sqlx::query_scalar("SELECT server_admin FROM accounts WHERE id = $1")
                    .bind(new.account_id.to_string())
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?;
            if server_admin != Some(true) {
                return Err(StoreError::NotFound);
            }
            let member = Membership {
                id: new.new_user_id,
                site_id: new.site_id,
                account_id: new.account_id,
                site_role: SiteRole::ServerAdministrator,
                auth_setting: "ServerDefault",
                now: new.now,
            };
            // A concurrent sign-in of the same administrator to the same site may have joined
            // it first: then that membership is the one.
            join_site(conn, member).await?.ok_or(StoreError::NotFound)?
        }
    };
    sqlx::query("UPDATE site_users SET last_login = $1 WHERE id = $2")
        .bind(millis(new.now))
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    // Expired sessions are swept here, at the rate people sign in; the index makes it cheap.
    // Rows another sign-in is sweeping are skipped rather than waited for.
    sqlx::query(
        "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions \
         WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind(millis(new.now))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, site_user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(new.token.0.as_slice())
    .bind(user_id.to_string())
    .bind(millis(new.now))
    .bind(millis(new.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    let row = sqlx::query(SESSION_QUERY)
        .bind(new.token.0.as_slice())
        .bind(millis(new.now))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    session_from_row(&row)
}

/// A session joined with its user, account and site; the site's columns carry the `st_` prefix
/// because the user's own `site_id` column would clash with the site's `id`.
const SESSION_QUERY: &str = select_users!(
    ", a.server_admin, s.expires_at AS session_expires_at, \
     t.id AS st_id, t.name AS st_name, t.content_url AS st_content_url, \
     t.admin_mode AS st_admin_mode, t.state AS st_state, \
     t.created_at AS st_created_at, t.updated_at AS st_updated_at \
     FROM sessions s JOIN site_users u ON u.id = s.site_user_id \
     JOIN accounts a ON a.id = u.account_id JOIN sites t ON t.id = u.site_id \
     WHERE s.token_hash = $1 AND s.expires_at > $2"
);

fn session_from_row(row: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        user: user_from_row(row)?,
        site: site::from_prefixed_row(row, "st_")?,
        server_admin: row.try_get("server_admin").map_err(db_error)?,
        expires_at: from_millis(row.try_get("session_expires_at").map_err(db_error)?)?,
    })
}

pub(crate) async fn session(
    pool: &PgPool,
    token: &TokenHash,
    now: OffsetDateTime,
) -> StoreResult<Option<Session>> {
    let row = sqlx::query(SESSION_QUERY)
        .bind(token.0.as_slice())
        .bind(millis(now))
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(session_from_row).transpose()
}

pub(crate) async fn end_session(conn: &mut PgConnection, token: &TokenHash) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token.0.as_slice())
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected() > 0)
}
