//! Accounts and their site memberships as rows in PostgreSQL: the columns that both identity
//! (sign-in, sessions, the seed) and sites (their users) read and write. A user is a
//! membership (`site_users`) joined with its account.

use sqlx::{
    PgConnection, Postgres, Row,
    postgres::{PgArguments, PgRow},
    query::Query,
};
use time::OffsetDateTime;
use vizhook_core::{AccountId, SiteId, SiteRole, UserId};
use vizhook_store::{Account, SiteUser, StoreResult};

use crate::convert::{db_error, from_millis, millis, parse};

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
pub(crate) use select_users;

pub(crate) const USERS_IN_SITE_BY_ID: &str = select_users!(
    " FROM site_users u JOIN accounts a ON a.id = u.account_id WHERE u.site_id = $1 AND u.id = $2"
);

pub(crate) fn user_from_row(row: &PgRow) -> StoreResult<SiteUser> {
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

pub(crate) fn account_from_row(row: &PgRow) -> StoreResult<Account> {
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

pub(crate) async fn insert_account(
    conn: &mut PgConnection,
    account: &Account,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO accounts (id, name, password_hash, server_admin, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
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

/// A membership to insert.
pub(crate) struct Membership<'a> {
    pub(crate) id: UserId,
    pub(crate) site_id: SiteId,
    pub(crate) account_id: AccountId,
    pub(crate) site_role: SiteRole,
    pub(crate) auth_setting: &'a str,
    pub(crate) now: OffsetDateTime,
}

/// The membership insert, followed by the given clause.
macro_rules! insert_membership_sql {
    ($clause:literal) => {
        concat!(
            "INSERT INTO site_users (id, site_id, account_id, site_role, auth_setting, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            $clause
        )
    };
}

/// Inserts a membership; one the account already has on the site is a `Conflict`.
pub(crate) async fn insert_membership(
    conn: &mut PgConnection,
    member: Membership<'_>,
) -> StoreResult<()> {
    bind_membership(sqlx::query(insert_membership_sql!("")), &member)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Inserts a membership unless the account already has one on the site (a concurrent sign-in
/// may have just written it), and returns the id of the one that stands.
pub(crate) async fn join_site(
    conn: &mut PgConnection,
    member: Membership<'_>,
) -> StoreResult<Option<UserId>> {
    let query = insert_membership_sql!(" ON CONFLICT (site_id, account_id) DO NOTHING");
    bind_membership(sqlx::query(query), &member)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    membership(conn, member.site_id, member.account_id).await
}

type Statement<'q> = Query<'q, Postgres, PgArguments>;

fn bind_membership<'q>(query: Statement<'q>, member: &Membership<'q>) -> Statement<'q> {
    query
        .bind(member.id.to_string())
        .bind(member.site_id.to_string())
        .bind(member.account_id.to_string())
        .bind(member.site_role.as_str())
        .bind(member.auth_setting)
        .bind(millis(member.now))
}

pub(crate) async fn membership(
    conn: &mut PgConnection,
    site_id: SiteId,
    account_id: AccountId,
) -> StoreResult<Option<UserId>> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM site_users WHERE site_id = $1 AND account_id = $2")
            .bind(site_id.to_string())
            .bind(account_id.to_string())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
    id.map(|id| parse("user id", &id)).transpose()
}

pub(crate) async fn user_in(
    conn: &mut PgConnection,
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
