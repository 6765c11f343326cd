//! A site's users in SQLite: adding one (creating its account when the name is new), reading,
//! updating (the membership and, for the password and the server administrator flag, its
//! account) and removing them, each write with the events it fires.

use sqlx::{SqliteConnection, SqlitePool};
use vizhook_core::{SiteId, SiteRole, UserId};
use vizhook_store::{
    Account, NewSiteUser, PublishEvent, Published, SiteUser, SiteUserUpdate, StoreError,
    StoreResult,
};

use crate::{
    convert::{db_error, parse},
    members::{
        Membership, USERS_IN_SITE_BY_ID, insert_account, insert_membership, select_users,
        user_from_row, user_in,
    },
    outbox::publish::publish,
};

pub(crate) async fn add_user(
    conn: &mut SqliteConnection,
    new: NewSiteUser,
) -> StoreResult<SiteUser> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM accounts WHERE name = ? COLLATE NOCASE")
            .bind(&new.name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
    let account_id = match existing {
        Some(id) => {
            if new.site_role == SiteRole::ServerAdministrator {
                sqlx::query("UPDATE accounts SET server_admin = 1 WHERE id = ?")
                    .bind(&id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
            }
            parse("account id", &id)?
        }
        None => {
            let account = Account {
                id: new.account_id,
                name: new.name.clone(),
                password_hash: None,
                server_admin: new.site_role == SiteRole::ServerAdministrator,
            };
            insert_account(conn, &account, new.now).await?;
            new.account_id
        }
    };
    let member = Membership {
        id: new.user_id,
        site_id: new.site_id,
        account_id,
        site_role: new.site_role,
        auth_setting: &new.auth_setting,
        now: new.now,
    };
    insert_membership(conn, member).await?;
    user_in(conn, new.site_id, new.user_id)
        .await?
        .ok_or(StoreError::NotFound)
}

pub(crate) async fn users(pool: &SqlitePool, site: SiteId) -> StoreResult<Vec<SiteUser>> {
    let rows = sqlx::query(select_users!(
        " FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.site_id = ? \
         ORDER BY a.name COLLATE NOCASE"
    ))
    .bind(site.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(user_from_row).collect()
}

pub(crate) async fn user(
    pool: &SqlitePool,
    site: SiteId,
    id: UserId,
) -> StoreResult<Option<SiteUser>> {
    let row = sqlx::query(USERS_IN_SITE_BY_ID)
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    row.as_ref().map(user_from_row).transpose()
}

pub(crate) async fn update_user(
    conn: &mut SqliteConnection,
    update: SiteUserUpdate,
    events: Vec<PublishEvent>,
) -> StoreResult<(SiteUser, Vec<Published>)> {
    let current = user_in(conn, update.site_id, update.user_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let role = update.site_role.unwrap_or(current.site_role);
    sqlx::query(
        "UPDATE site_users SET site_role = ?, full_name = ?, email = ?, auth_setting = ? WHERE id = ?",
    )
    .bind(role.as_str())
    .bind(update.full_name.as_ref().or(current.full_name.as_ref()))
    .bind(update.email.as_ref().or(current.email.as_ref()))
    .bind(update.auth_setting.as_ref().unwrap_or(&current.auth_setting))
    .bind(current.id.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if role != current.site_role
        && (role == SiteRole::ServerAdministrator
            || current.site_role == SiteRole::ServerAdministrator)
    {
        sqlx::query("UPDATE accounts SET server_admin = ? WHERE id = ?")
            .bind(role == SiteRole::ServerAdministrator)
            .bind(current.account_id.to_string())
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    if let Some(hash) = &update.password_hash {
        sqlx::query("UPDATE accounts SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(current.account_id.to_string())
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    let user = user_in(conn, update.site_id, update.user_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let published = publish(conn, &events).await?;
    Ok((user, published))
}

pub(crate) async fn remove_user(
    conn: &mut SqliteConnection,
    site: SiteId,
    id: UserId,
    events: Vec<PublishEvent>,
) -> StoreResult<Vec<Published>> {
    let result = sqlx::query("DELETE FROM site_users WHERE site_id = ? AND id = ?")
        .bind(site.to_string())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    publish(conn, &events).await
}
