//! Accounts and personal access tokens in PostgreSQL, and the first-run seed.

use sqlx::{PgConnection, PgPool, Row};
use vizhook_core::{AccountId, SiteRole};
use vizhook_store::{AccessToken, Account, AccountSites, BootstrapSeed, StoreResult};

use crate::{
    content::write::save_project,
    convert::{db_error, from_millis, millis, parse},
    members::{
        Membership, account_from_row, insert_account, insert_membership, select_users,
        user_from_row,
    },
    sites::site,
};

/// Seeds an empty database. Nodes starting together may all try: the table lock (which
/// conflicts with itself and with writes of sites, not with reads) lets one seed and the
/// others find a site and do nothing.
pub(crate) async fn bootstrap(conn: &mut PgConnection, seed: &BootstrapSeed) -> StoreResult<bool> {
    sqlx::query("LOCK TABLE sites IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sites)")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    if any {
        return Ok(false);
    }
    site::insert(conn, &seed.site).await?;
    save_project(conn, &seed.default_project).await?;
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
             VALUES ($1, $2, $3, $4, $5)",
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

/// Case-insensitive, through the unique index on `lower(name)`.
pub(crate) async fn account_by_name(pool: &PgPool, name: &str) -> StoreResult<Option<Account>> {
    let row = sqlx::query(
        "SELECT id, name, password_hash, server_admin FROM accounts WHERE lower(name) = lower($1)",
    )
    .bind(name)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(account_from_row).transpose()
}

pub(crate) async fn account_sites(
    pool: &PgPool,
    id: AccountId,
) -> StoreResult<Option<AccountSites>> {
    let row =
        sqlx::query("SELECT id, name, password_hash, server_admin FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .map_err(db_error)?;
    let Some(account) = row.as_ref().map(account_from_row).transpose()? else {
        return Ok(None);
    };
    let rows = sqlx::query(select_users!(
        " FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.account_id = $1 \
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
    pool: &PgPool,
    name: &str,
) -> StoreResult<Vec<AccessToken>> {
    let rows = sqlx::query(
        "SELECT id, account_id, name, secret_hash, created_at FROM access_tokens WHERE name = $1",
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
