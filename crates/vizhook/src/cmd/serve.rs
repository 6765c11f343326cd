//! `vizhook serve`: load the configuration, open the store, seed it on first run, and serve
//! the API until SIGINT or SIGTERM.

use std::path::Path;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use vizhook_server::{
    AppState, Config,
    bootstrap::{self, AdminSeed, BootstrapOutcome, GeneratedCredentials},
    config::Overrides,
};

use super::{open_store, stop_on_signal};
use crate::cli::ServeArgs;

pub(super) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        database_url: args.database,
        dev: args.dev,
    };
    let config = Config::load(args.config.as_deref(), &overrides)?;
    // `file:` keys are read relative to the configuration file, as `receive` reads its secrets.
    let base = args
        .config
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    let at_rest = config.encryption.at_rest(base)?;
    let pool = super::PoolSettings {
        size: config.database.pool_size,
        statement_timeout: config.database.statement_timeout,
    };
    let store = open_store(&config.database.url, at_rest, pool).await?;

    let outcome = bootstrap::bootstrap(store.as_ref(), admin_seed(), config.server.dev).await?;
    match outcome {
        BootstrapOutcome::Seeded {
            admin,
            generated: Some(credentials),
        } => {
            tracing::info!(%admin, "new database: seeded the Default site and its administrator");
            print_generated(&credentials);
        }
        BootstrapOutcome::Seeded {
            admin,
            generated: None,
        } => {
            tracing::info!(%admin, "new database: seeded the Default site and its administrator");
        }
        BootstrapOutcome::AlreadyInitialised => {}
    }
    // Hashing the first administrator's credentials freed argon2's 19 MiB; an idle server
    // should not keep it.
    vizhook_alloc::release_free_memory();
    if config.server.dev {
        tracing::warn!("development mode: http:// and private destinations are allowed");
    }

    let listener = TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.server.listen))?;
    let address = listener
        .local_addr()
        .context("could not read the listening address")?;
    let state = AppState::new(store, config)?;
    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone())?;
    tracing::info!("listening on http://{address}");
    vizhook_server::run(state, listener, shutdown)
        .await
        .context("the server stopped with an error")?;
    tracing::info!("stopped");
    Ok(())
}

/// The first administrator, from `VIZHOOK_ADMIN_*`; read only when the database is empty.
fn admin_seed() -> AdminSeed {
    let var = |name: &str| std::env::var(name).ok();
    AdminSeed {
        user: var("VIZHOOK_ADMIN_USER"),
        password: var("VIZHOOK_ADMIN_PASSWORD"),
        pat_name: var("VIZHOOK_ADMIN_PAT_NAME"),
        pat_secret: var("VIZHOOK_ADMIN_PAT_SECRET"),
    }
}

/// Shows generated credentials once, on stdout and not in the log.
#[allow(
    clippy::print_stdout,
    reason = "credentials are shown to the user, never logged"
)]
fn print_generated(credentials: &GeneratedCredentials) {
    println!(
        "vizhook: development mode created the first administrator; these are shown only once:"
    );
    println!("  user:                   {}", credentials.user);
    println!("  password:               {}", credentials.password);
    println!("  personal access token:  {}", credentials.pat_name);
    println!("  token secret:           {}", credentials.pat_secret);
}
