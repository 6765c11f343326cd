//! The command line, declared with clap: the server's and receiver's commands here, the
//! client commands' in `client.rs`.

mod client;

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

pub(crate) use self::client::{
    Connection, DeliveriesArgs, DeliveriesCommand, EventsArgs, EventsCommand, WebhooksArgs,
    WebhooksCommand,
};

/// A Tableau-compatible webhooks server, receiver and client.
#[derive(Debug, Parser)]
#[command(name = "vizhook", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the Tableau-compatible webhooks server.
    Serve(ServeArgs),
    /// Receive Tableau webhooks: verify, de-duplicate and route them to actions.
    Receive(ReceiveArgs),
    /// Manage the webhooks of a site on any Tableau server, real or vizhook.
    Webhooks(WebhooksArgs),
    /// Fire events on a vizhook server.
    Events(EventsArgs),
    /// Read and redeliver a vizhook server's delivery log.
    Deliveries(DeliveriesArgs),
    /// Print the default configuration, every key documented.
    DefaultConfig,
    /// Print a new random key for `[encryption] key`: 32 bytes in base64.
    GenerateKey,
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        vizhook completions bash > /etc/bash_completion.d/vizhook\n  \
        vizhook completions zsh > \"${fpath[1]}/_vizhook\"\n  \
        vizhook completions fish > ~/.config/fish/completions/vizhook.fish")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env: VIZHOOK_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Database URL [default: sqlite://vizhook.db; env: VIZHOOK_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// TOML configuration file (see `vizhook default-config`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Development mode: allow http:// and private destinations, generate first-run credentials.
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// TOML configuration file (see examples/ and the README).
    #[arg(long, value_name = "FILE", required_unless_present = "check_config")]
    pub config: Option<PathBuf>,
    /// Check a configuration file, report every problem with its line and column, and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub check_config: Option<PathBuf>,
    /// Address to listen on, overriding `server.listen`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Development mode: actions may reach loopback and private addresses.
    #[arg(long)]
    pub dev: bool,
}
