//! The PostgreSQL server a bench run uses: one fresh schema per scenario (`Database`: vizhook's
//! connections see only it, through `search_path` in the URL's `options`; dropped afterwards),
//! what vizhook's connections cost the server (`probe.rs`, `traffic.rs`), and URLs shown
//! without their password.

pub(crate) mod probe;
mod traffic;

use std::{
    hash::{BuildHasher as _, RandomState},
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use sqlx::PgPool;

/// `url` with a password replaced by `***` (`postgres://user:***@host/db`); other text as is.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &url[scheme_end + at..]
        ),
        _ => url.to_owned(),
    }
}

/// A schema of its own for one scenario, and a connection to look at the server with.
#[derive(Debug)]
pub(crate) struct Database {
    pub(crate) schema: String,
    /// The server's URL with `search_path` set to the schema: what vizhook is given.
    pub(crate) url: String,
    /// The bench's own connection (it sees the server's statistics; not in the schema).
    pub(crate) pool: PgPool,
    /// The server's TCP port: vizhook's connections are those to it.
    pub(crate) port: u16,
}

impl Database {
    pub(crate) async fn create(base: &str, pool: &PgPool, port: u16) -> anyhow::Result<Self> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let random = RandomState::new().hash_one(std::process::id()) as u32;
        let schema = format!("bench_{now}_{random:08x}");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(pool)
            .await
            .with_context(|| format!("cannot create schema {schema}"))?;
        let separator = if base.contains('?') { '&' } else { '?' };
        Ok(Self {
            url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
            schema,
            pool: pool.clone(),
            port,
        })
    }

    pub(crate) async fn drop(&self) -> anyhow::Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.schema
        )))
        .execute(&self.pool)
        .await
        .with_context(|| format!("cannot drop schema {}", self.schema))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?sslmode=require"),
            "postgres://u:***@h:5432/db?sslmode=require"
        );
        assert_eq!(
            redact("--postgres=postgres://u:p@h/db"),
            "--postgres=postgres://u:***@h/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("--events"), "--events");
    }
}
