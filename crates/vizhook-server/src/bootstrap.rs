//! First run: seeding an empty database with the Default site, a server administrator and a
//! personal access token, from `VIZHOOK_ADMIN_*` values (or generated ones in `--dev`).

use std::fmt;

use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{AccessTokenId, AccountId, ContentUrl, SiteId, UserId};
use vizhook_store::{AccessToken, Account, BootstrapSeed, Site, Store, StoreError};

use crate::secrets::{self, SecretError};

/// The administrator to create on an empty database.
#[derive(Clone, Default)]
pub struct AdminSeed {
    pub user: Option<String>,
    pub password: Option<String>,
    pub pat_name: Option<String>,
    pub pat_secret: Option<String>,
}

impl fmt::Debug for AdminSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminSeed")
            .field("user", &self.user)
            .field("pat_name", &self.pat_name)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_ADMIN_USER: &str = "admin";
pub const DEFAULT_PAT_NAME: &str = "admin-token";

/// Credentials vizhook made up in `--dev`, to be shown to the user once.
#[derive(Clone)]
pub struct GeneratedCredentials {
    pub user: String,
    pub password: String,
    pub pat_name: String,
    pub pat_secret: String,
}

impl fmt::Debug for GeneratedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum BootstrapOutcome {
    /// The database already had its sites and users; nothing was changed.
    AlreadyInitialised,
    /// The database was seeded; `generated` holds made-up credentials in `--dev`.
    Seeded {
        admin: String,
        generated: Option<GeneratedCredentials>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "the database is empty and no administrator credentials are set: set VIZHOOK_ADMIN_PASSWORD \
         or VIZHOOK_ADMIN_PAT_SECRET (or run with --dev to generate them)"
    )]
    NoCredentials,
    #[error("could not seed the database")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Seeds `store` if it is empty.
pub async fn bootstrap(
    store: &dyn Store,
    seed: AdminSeed,
    dev: bool,
) -> Result<BootstrapOutcome, BootstrapError> {
    if !store.sites().await?.is_empty() {
        return Ok(BootstrapOutcome::AlreadyInitialised);
    }
    let user = seed
        .user
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_USER.to_owned());
    let pat_name = seed
        .pat_name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PAT_NAME.to_owned());
    let nonempty = |value: Option<String>| value.filter(|v| !v.is_empty());
    let (password, pat_secret, generated) =
        match (nonempty(seed.password), nonempty(seed.pat_secret)) {
            (None, None) if dev => {
                let password = secrets::random_secret()?;
                let pat_secret = secrets::random_secret()?;
                let generated = GeneratedCredentials {
                    user: user.clone(),
                    password: password.clone(),
                    pat_name: pat_name.clone(),
                    pat_secret: pat_secret.clone(),
                };
                (Some(password), Some(pat_secret), Some(generated))
            }
            (None, None) => return Err(BootstrapError::NoCredentials),
            (password, pat_secret) => (password, pat_secret, None),
        };
    let hashes = tokio::task::spawn_blocking(move || -> Result<_, SecretError> {
        let password = password.as_deref().map(secrets::hash_secret).transpose()?;
        let pat_secret = pat_secret
            .as_deref()
            .map(secrets::hash_secret)
            .transpose()?;
        Ok((password, pat_secret))
    })
    .await
    .map_err(|err| SecretError::Hash(err.to_string()))?;
    let (password_hash, secret_hash) = hashes?;

    let now = OffsetDateTime::now_utc();
    let account = Account {
        id: AccountId::from_uuid(Uuid::new_v4()),
        name: user.clone(),
        password_hash,
        server_admin: true,
    };
    let access_token = secret_hash.map(|secret_hash| AccessToken {
        id: AccessTokenId::from_uuid(Uuid::new_v4()),
        account_id: account.id,
        name: pat_name,
        secret_hash,
        created_at: now,
    });
    let site = Site {
        id: SiteId::from_uuid(Uuid::new_v4()),
        name: "Default".to_owned(),
        content_url: ContentUrl::default_site(),
        admin_mode: "ContentAndUsers".to_owned(),
        state: "Active".to_owned(),
        created_at: now,
        updated_at: now,
    };
    let user_id = UserId::from_uuid(Uuid::new_v4());
    let seed = BootstrapSeed {
        default_project: crate::api::tableau::default_project(&site, user_id),
        site,
        account,
        user_id,
        access_token,
        now,
    };
    if store.bootstrap(&seed).await? {
        Ok(BootstrapOutcome::Seeded {
            admin: user,
            generated,
        })
    } else {
        Ok(BootstrapOutcome::AlreadyInitialised)
    }
}
