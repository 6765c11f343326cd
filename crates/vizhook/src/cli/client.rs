//! The client commands' arguments: `webhooks`, `events` and `deliveries`, with the connection
//! and output options they share.

use clap::{Args, Subcommand};

/// Where to connect, as whom, and how to print: shared by every client command, as flags
/// anywhere on the line or from the environment.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// The server's address, such as https://tableau.example.com.
    #[arg(long, global = true, env = "TABLEAU_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The site's content URL, as in its address (`#/site/<content-url>`); empty for Default.
    #[arg(long, global = true, env = "TABLEAU_SITE", value_name = "CONTENT_URL")]
    pub site: Option<String>,
    /// The personal access token's name.
    #[arg(long, global = true, env = "TABLEAU_PAT_NAME", value_name = "NAME")]
    pub pat_name: Option<String>,
    /// The personal access token's secret (prefer the environment: flags show in `ps`).
    #[arg(
        long,
        global = true,
        env = "TABLEAU_PAT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub pat_secret: Option<String>,
    /// Sign in with a user name and password instead of a token.
    #[arg(long, global = true, env = "TABLEAU_USERNAME", value_name = "NAME")]
    pub username: Option<String>,
    /// The password (prefer the environment: flags show in `ps`).
    #[arg(
        long,
        global = true,
        env = "TABLEAU_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// The REST API version to speak, such as 3.24 [default: what the server's serverInfo says].
    #[arg(long, global = true, value_name = "VERSION")]
    pub api_version: Option<String>,
    /// Print JSON for scripts instead of aligned tables.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    export TABLEAU_SERVER=https://tableau.example.com TABLEAU_SITE=marketing\n  \
    export TABLEAU_PAT_NAME=ci TABLEAU_PAT_SECRET=...\n  \
    vizhook webhooks list\n  \
    vizhook webhooks create --name failures --event datasource-refresh-failed --url https://hooks.example.com/tableau\n  \
    vizhook webhooks disable 1b7a4c2e-... --reason 'maintenance'\n  \
    vizhook webhooks test 1b7a4c2e-... --json")]
pub(crate) struct WebhooksArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// List the site's webhooks.
    List,
    /// Show one webhook.
    Get { id: String },
    /// Create a webhook.
    Create {
        #[arg(long)]
        name: String,
        /// The event, in any style: DatasourceRefreshFailed, datasource-refresh-failed or
        /// webhook-source-event-datasource-refresh-failed.
        #[arg(long)]
        event: String,
        /// The destination: https:// (http:// only on a vizhook started with --dev).
        #[arg(long)]
        url: String,
    },
    /// Change a webhook's name, event, destination or state.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        event: Option<String>,
        #[arg(long)]
        url: Option<String>,
        #[arg(long, value_name = "true|false")]
        enabled: Option<bool>,
        /// Why the state changed (Tableau's statusChangeReason).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Enable a webhook (pending deliveries resume on vizhook).
    Enable { id: String },
    /// Disable a webhook.
    Disable {
        id: String,
        /// Why (Tableau's statusChangeReason).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete a webhook.
    Delete { id: String },
    /// Have the server POST an empty payload to the destination and show the answer.
    Test { id: String },
}

#[derive(Debug, Args)]
#[command(after_help = "Examples (against vizhook serve):\n  \
    vizhook events fire --event workbook-created --resource-name Sales\n  \
    vizhook events fire --event DatasourceRefreshFailed --resource-luid 6f5e...")]
pub(crate) struct EventsArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Fire an event on a vizhook site, as if its content had changed: every enabled webhook
    /// subscribed to it gets a delivery.
    Fire {
        /// The event, in any style.
        #[arg(long)]
        event: String,
        /// The payload's resource (default: the event's own, such as WORKBOOK).
        #[arg(long)]
        resource: Option<String>,
        /// The payload's resource_name.
        #[arg(long, default_value = "")]
        resource_name: String,
        /// The payload's resource_luid (default: a new one).
        #[arg(long)]
        resource_luid: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(after_help = "Examples (against vizhook serve):\n  \
    vizhook deliveries list --webhook 1b7a4c2e-... --limit 20\n  \
    vizhook deliveries show 0193a2...\n  \
    vizhook deliveries redeliver 0193a2...")]
pub(crate) struct DeliveriesArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: DeliveriesCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeliveriesCommand {
    /// A webhook's delivery log, newest first.
    List {
        #[arg(long)]
        webhook: String,
        /// At most this many (the server caps it at 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only deliveries created before this RFC 3339 time.
        #[arg(long)]
        before: Option<String>,
    },
    /// One delivery with every attempt.
    Show { id: String },
    /// Send a delivery again now, with the same webhook-id.
    Redeliver { id: String },
}
