//! `OpenError`: why a database could not be opened (the URL, the connection, the migrations,
//! the inbox's keys, or the secrets' review at open).

use vizhook_store::{StoreError, cipher::CipherError};

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("'{url}' is not a usable SQLite database url")]
    InvalidUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not open the SQLite database")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("could not read the inbox's de-duplication keys")]
    Keys(#[source] StoreError),
    /// A stored secret cannot be read with the configured keys; nothing was changed.
    #[error(transparent)]
    Secrets(#[from] CipherError),
    #[error("could not re-encrypt the database's secrets")]
    Reencrypt(#[source] sqlx::Error),
}
