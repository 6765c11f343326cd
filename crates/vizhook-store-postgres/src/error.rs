//! `OpenError`: why a PostgreSQL database could not be opened, each a sentence an operator can
//! act on (the URL, the server, the credentials, the schema's version, the secrets' review).

use vizhook_store::cipher::CipherError;

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is not shown: it may hold a password (the caller prints it redacted).
    #[error("it is not a usable PostgreSQL database url")]
    InvalidUrl {
        #[source]
        source: sqlx::Error,
    },
    #[error("the PostgreSQL server at {at} cannot be reached")]
    Unreachable {
        at: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the PostgreSQL server refused the credentials of user '{user}'")]
    Credentials {
        user: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the PostgreSQL database '{database}' does not exist")]
    NoDatabase {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not connect to PostgreSQL")]
    Connect(#[source] sqlx::Error),
    #[error(
        "the database's schema (migration {version}) is newer than this vizhook binary; \
         run the newer binary or restore a backup"
    )]
    SchemaNewer { version: i64 },
    #[error("could not apply the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A stored secret cannot be read with the configured keys; nothing was changed.
    #[error(transparent)]
    Secrets(#[from] CipherError),
    #[error("could not re-encrypt the database's secrets")]
    Reencrypt(#[source] sqlx::Error),
}
