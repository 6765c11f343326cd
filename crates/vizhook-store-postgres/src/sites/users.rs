//! A site's users in PostgreSQL: adding one (creating its account when the name is new),
//! reading, updating (the membership and, for the password and the server administrator flag,
//! its account) and removing them, each write with the events it fires.
//!
//! Adding a user upserts its account in one statement, so two requests adding the same new
//! name at once do not both try to create it: the second waits for the first, then joins the
//! account the first created, and its membership is the one that conflicts if both were for
//! the same site.

use sqlx::{PgConnection, PgPool};
use vizhook_core::{SiteId, SiteRole, UserId};
use vizhook_store::{
    NewSiteUser, PublishEvent, Published, SiteUser, SiteUserUpdate, StoreError, StoreResult,
};

use crate::{
    convert::{db_error, millis, parse},
    members::{
        Membership, USERS_IN_SITE_BY_ID, insert_membership, select_users, user_from_row, user_in,
    },
    outbox::publish::publish,
    wakes::Wakes,
};

pub(crate) async fn add_user(conn: &mut PgConnection, new: &NewSiteUser) -> StoreResult<SiteUser> {
    let admin = new.site_role == SiteRole::ServerAdministrator;
    // An existing account (names are case-insensitive) is reused; added as a server
    // administrator, it becomes one.
    let account_id: String = sqlx::query_scalar(
        "INSERT INTO accounts (id, name, password_hash, server_admin, created_at) \
         VALUES ($1, $2, NULL, $3, $4) \
         ON CONFLICT ((lower(name))) DO UPDATE \
         SET server_admin = accounts.server_admin OR excluded.server_admin \
         RETURNING id",
    )
    .bind(new.account_id.to_string())
    .bind(&new.name)
    .bind(admin)
    .bind(millis(new.now))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let member = Membership {
        id: new.user_id,
        site_id: new.site_id,
        account_id: parse("account id", &account_id)?,
        site_role: new.site_role,
        auth_setting: &new.auth_setting,
        now: new.now,
    };
    insert_membership(conn, member).await?;
    user_in(conn, new.site_id, new.user_id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// A site's users by name, case-insensitively, in binary order (as SQLite's `NOCASE`).
pub(crate) async fn users(pool: &PgPool, site: SiteId) -> StoreResult<Vec<SiteUser>> {
    let rows = sqlx::query(select_users!(
        " FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.site_id = $1 \
         ORDER BY lower(a.name) COLLATE \"C\""
    ))
    .bind(site.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(user_from_row).collect()
}

pub(crate) async fn user(pool: &PgPool, site: SiteId, id: UserId) -> StoreResult<Option<SiteUser>> {
    let row = sqlx::query(USERS_IN_SITE_BY_ID)
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(user_from_row).transpose()
}

/// Applies an update over the current membership, read under its row lock so that concurrent
/// updates of one user apply one after the other.
pub(crate) async fn update_user(
    conn: &mut PgConnection,
    wakes: &Wakes,
    update: &SiteUserUpdate,
    events: &[PublishEvent],
) -> StoreResult<(SiteUser, Vec<Published>)> {
    let row = sqlx::query(select_users!(
        " FROM site_users u JOIN accounts a ON a.id = u.account_id \
         WHERE u.site_id = $1 AND u.id = $2 FOR NO KEY UPDATE OF u"
    ))
    .bind(update.site_id.to_string())
    .bind(update.user_id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let current = row
        .as_ref()
        .map(user_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound)?;
    let role = update.site_role.unwrap_or(current.site_role);
    sqlx::query(
        "UPDATE site_users SET site_role = $1, full_name = $2, email = $3, auth_setting = $4 \
         WHERE id = $5",
    )
    .bind(role.as_str())
    .bind(update.full_name.as_ref().or(current.full_name.as_ref()))
    .bind(update.email.as_ref().or(current.email.as_ref()))
    .bind(
        update
            .auth_setting
            .as_ref()
            .unwrap_or(&current.auth_setting),
    )
    .bind(current.id.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    // Becoming or ceasing to be a server administrator changes the account's flag.
    let server_admin = (role != current.site_role
        && (role == SiteRole::ServerAdministrator
            || current.site_role == SiteRole::ServerAdministrator))
        .then_some(role == SiteRole::ServerAdministrator);
    if server_admin.is_some() || update.password_hash.is_some() {
        sqlx::query(
            "UPDATE accounts SET server_admin = COALESCE($1, server_admin), \
             password_hash = COALESCE($2, password_hash) WHERE id = $3",
        )
        .bind(server_admin)
        .bind(&update.password_hash)
        .bind(current.account_id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    let user = user_in(conn, update.site_id, update.user_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let published = publish(conn, wakes, events).await?;
    Ok((user, published))
}

/// Removes a membership; its sessions go with it. The account stays.
pub(crate) async fn remove_user(
    conn: &mut PgConnection,
    wakes: &Wakes,
    site: SiteId,
    id: UserId,
    events: &[PublishEvent],
) -> StoreResult<Vec<Published>> {
    let result = sqlx::query("DELETE FROM site_users WHERE site_id = $1 AND id = $2")
        .bind(site.to_string())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    publish(conn, wakes, events).await
}
