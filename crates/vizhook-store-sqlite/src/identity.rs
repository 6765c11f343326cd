//! Accounts, site memberships, personal access tokens and sessions, and the first-run seed.

use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};
use time::OffsetDateTime;
use vizhook_core::{AccountId, SiteId, SiteRole, UserId};
use vizhook_store::{
    AccessToken, Account, AccountSites, BootstrapSeed, NewSession, NewSiteUser, PublishEvent,
    Published, Session, SiteUser, SiteUserUpdate, StoreError, StoreResult, TokenHash,
};

use crate::{
    content,
    convert::{db_error, from_millis, millis, parse},
    outbox, sites,
};

/// `SELECT <user columns>` followed by the given clauses, as a static string. Users are
/// memberships joined with their account (`u` and `a`).
macro_rules! select_users {
    ($($clause:literal),*) => {
        concat!(
            "SELECT u.id, u.site_id, u.account_id, a.name, u.site_role, u.full_name, u.email, \
             u.auth_setting, u.last_login, u.created_at",
            $($clause),*
        )
    };
}

const USERS_IN_SITE_BY_ID: &str = select_users!(
    " FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.site_id = ? AND u.id = ?"
);

fn user_from_row(row: &SqliteRow) -> StoreResult<SiteUser> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(db_error);
    Ok(SiteUser {
        id: parse("user id", &text("id")?)?,
        site_id: parse("site id", &text("site_id")?)?,
        account_id: parse("account id", &text("account_id")?)?,
        name: text("name")?,
        site_role: parse("site role", &text("site_role")?)?,
        full_name: row.try_get("full_name").map_err(db_error)?,
        email: row.try_get("email").map_err(db_error)?,
        auth_setting: text("auth_setting")?,
        last_login: row
            .try_get::<Option<i64>, _>("last_login")
            .map_err(db_error)?
            .map(from_millis)
            .transpose()?,
        created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
    })
}

fn account_from_row(row: &SqliteRow) -> StoreResult<Account> {
    Ok(Account {
        id: parse(
            "account id",
            &row.try_get::<String, _>("id").map_err(db_error)?,
        )?,
        name: row.try_get("name").map_err(db_error)?,
        password_hash: row.try_get("password_hash").map_err(db_error)?,
        server_admin: row.try_get("server_admin").map_err(db_error)?,
    })
}

async fn insert_account(
    conn: &mut SqliteConnection,
    account: &Account,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO accounts (id, name, password_hash, server_admin, created_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(account.id.to_string())
    .bind(&account.name)
    .bind(&account.password_hash)
    .bind(account.server_admin)
    .bind(millis(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

struct Membership<'a> {
    id: UserId,
    site_id: SiteId,
    account_id: AccountId,
    site_role: SiteRole,
    auth_setting: &'a str,
    now: OffsetDateTime,
}

async fn insert_membership(conn: &mut SqliteConnection, member: Membership<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO site_users (id, site_id, account_id, site_role, auth_setting, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(member.id.to_string())
    .bind(member.site_id.to_string())
    .bind(member.account_id.to_string())
    .bind(member.site_role.as_str())
    .bind(member.auth_setting)
    .bind(millis(member.now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(crate) async fn bootstrap(
    conn: &mut SqliteConnection,
    seed: BootstrapSeed,
) -> StoreResult<bool> {
    let sites: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sites")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    if sites > 0 {
        return Ok(false);
    }
    sites::insert(conn, seed.site.clone()).await?;
    content::save_project(conn, &seed.default_project).await?;
    insert_account(conn, &seed.account, seed.now).await?;
    insert_membership(
        conn,
        Membership {
            id: seed.user_id,
            site_id: seed.site.id,
            account_id: seed.account.id,
            site_role: SiteRole::ServerAdministrator,
            auth_setting: "ServerDefault",
            now: seed.now,
        },
    )
    .await?;
    if let Some(token) = &seed.access_token {
        sqlx::query(
            "INSERT INTO access_tokens (id, account_id, name, secret_hash, created_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(token.id.to_string())
        .bind(token.account_id.to_string())
        .bind(&token.name)
        .bind(&token.secret_hash)
        .bind(millis(token.created_at))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(true)
}

pub(crate) async fn account_by_name(pool: &SqlitePool, name: &str) -> StoreResult<Option<Account>> {
    let row = sqlx::query(
        "SELECT id, name, password_hash, server_admin FROM accounts WHERE name = ? COLLATE NOCASE",
    )
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(account_from_row).transpose()
}

pub(crate) async fn account_sites(
    pool: &SqlitePool,
    id: AccountId,
) -> StoreResult<Option<AccountSites>> {
    let row =
        sqlx::query("SELECT id, name, password_hash, server_admin FROM accounts WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .map_err(db_error)?;
    let Some(account) = row.as_ref().map(account_from_row).transpose()? else {
        return Ok(None);
    };
    let rows = sqlx::query(select_users!(
        " FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.account_id = ? \
         ORDER BY u.created_at"
    ))
    .bind(id.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let memberships = rows.iter().map(user_from_row).collect::<StoreResult<_>>()?;
    Ok(Some(AccountSites {
        account,
        memberships,
    }))
}

pub(crate) async fn access_tokens_named(
    pool: &SqlitePool,
    name: &str,
) -> StoreResult<Vec<AccessToken>> {
    let rows = sqlx::query(
        "SELECT id, account_id, name, secret_hash, created_at FROM access_tokens WHERE name = ?",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(AccessToken {
                id: parse(
                    "token id",
                    &row.try_get::<String, _>("id").map_err(db_error)?,
                )?,
                account_id: parse(
                    "account id",
                    &row.try_get::<String, _>("account_id").map_err(db_error)?,
                )?,
                name: row.try_get("name").map_err(db_error)?,
                secret_hash: row.try_get("secret_hash").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
            })
        })
        .collect()
}

async fn membership(
    conn: &mut SqliteConnection,
    site_id: SiteId,
    account_id: AccountId,
) -> StoreResult<Option<UserId>> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM site_users WHERE site_id = ? AND account_id = ?")
            .bind(site_id.to_string())
            .bind(account_id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
    id.map(|id| parse("user id", &id)).transpose()
}

pub(crate) async fn start_session(
    conn: &mut SqliteConnection,
    new: NewSession,
) -> StoreResult<Session> {
    let user_id = match membership(conn, new.site_id, new.account_id).await? {
        Some(id) => id,
        None => {
            let server_admin: Option<bool> =
                sqlx::query_scalar("SELECT server_admin FROM accounts WHERE id = ?")
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
            insert_membership(conn, member).await?;
            new.new_user_id
        }
    };
    sqlx::query("UPDATE site_users SET last_login = ? WHERE id = ?")
        .bind(millis(new.now))
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    // Expired sessions are swept here, at the rate people sign in; the index makes it cheap.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(millis(new.now))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, site_user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
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
     WHERE s.token_hash = ? AND s.expires_at > ?"
);

fn session_from_row(row: &SqliteRow) -> StoreResult<Session> {
    Ok(Session {
        user: user_from_row(row)?,
        site: sites::from_prefixed_row(row, "st_")?,
        server_admin: row.try_get("server_admin").map_err(db_error)?,
        expires_at: from_millis(row.try_get("session_expires_at").map_err(db_error)?)?,
    })
}

pub(crate) async fn session(
    pool: &SqlitePool,
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

pub(crate) async fn end_session(
    conn: &mut SqliteConnection,
    token: TokenHash,
) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token.0.as_slice())
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected() > 0)
}

async fn user_in(
    conn: &mut SqliteConnection,
    site: SiteId,
    id: UserId,
) -> StoreResult<Option<SiteUser>> {
    let row = sqlx::query(USERS_IN_SITE_BY_ID)
        .bind(site.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    row.as_ref().map(user_from_row).transpose()
}

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
    let published = outbox::publish(conn, &events).await?;
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
    outbox::publish(conn, &events).await
}
