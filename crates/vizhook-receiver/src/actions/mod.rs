//! The receiver's actions: their configuration (`[[receiver]]` tables with `[[receiver.action]]`
//! entries), the template context stored with each task, and the public entry points
//! [`Actions::build`] (load-time compilation and checks) and [`Runtime::execute`] (one run).
//!
//! Action kinds: `slack` (incoming webhook, Block Kit), `teams` (Workflows webhook, Adaptive
//! Card), `email` (SMTP), `http` (any JSON or text endpoint: IFTTT, Zapier, ...), `x` (a post via
//! the X API v2 with OAuth 1.0a), `command` (a program, no shell) and `file` (JSON lines).

use std::{collections::BTreeMap, fmt, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use vizhook_core::notify::Notice;

mod action;
mod build;
mod compiled;
mod local;
mod messages;
mod remote;
mod run;
mod templates;
mod text;

pub use compiled::Actions;
pub use run::Runtime;

/// One `[[receiver]]` table: a name and its actions, run in order of their index.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub name: String,
    #[serde(default)]
    pub action: Vec<ActionConfig>,
}

/// One `[[receiver.action]]` table, selected by its `type` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ActionConfig {
    Slack(SlackConfig),
    Teams(TeamsConfig),
    Email(EmailConfig),
    Http(HttpConfig),
    X(XConfig),
    Command(CommandConfig),
    File(FileConfig),
}

impl ActionConfig {
    /// The `name` the action was given, if any.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Slack(c) => c.name.as_deref(),
            Self::Teams(c) => c.name.as_deref(),
            Self::Email(c) => c.name.as_deref(),
            Self::Http(c) => c.name.as_deref(),
            Self::X(c) => c.name.as_deref(),
            Self::Command(c) => c.name.as_deref(),
            Self::File(c) => c.name.as_deref(),
        }
    }
}

/// `type = "slack"`: a Slack incoming webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    /// A secret reference (`env:`, `file:`) or the literal URL.
    pub webhook_url: String,
    /// Template replacing the default headline; values are escaped for Slack, literal text
    /// (such as `<https://example.com|links>`) is kept.
    #[serde(default)]
    pub text: Option<String>,
}

/// `type = "teams"`: a Microsoft Teams Workflows webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    /// A secret reference (`env:`, `file:`) or the literal URL.
    pub webhook_url: String,
    /// Template replacing the card's default headline.
    #[serde(default)]
    pub text: Option<String>,
}

/// `type = "email"`: a plain-text email to each address of `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    pub to: Vec<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// `type = "http"`: any HTTP endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    /// A template, or a secret reference (`env:`, `file:`) holding the literal URL.
    pub url: String,
    /// Header values are templates.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A template; without it the body is the context as JSON.
    #[serde(default)]
    pub body: Option<String>,
}

/// `type = "x"`: a post through the X API v2, OAuth 1.0a user context.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_x_api")]
    pub api_url: String,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub access_token: String,
    pub access_token_secret: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// `type = "command"`: a program run without a shell.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    pub argv: Vec<String>,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
}

/// `type = "file"`: one JSON line per notification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The action's name, unique in its receiver. Its tasks are stored under it, so a named
    /// action keeps its pending tasks when actions are reordered. Defaults to its position.
    #[serde(default)]
    pub name: Option<String>,
    /// Relative paths are against the configuration file's folder.
    pub path: PathBuf,
}

fn default_method() -> String {
    "POST".to_owned()
}

fn default_x_api() -> String {
    "https://api.x.com".to_owned()
}

const fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

const fn default_max_concurrent() -> usize {
    1
}

/// What templates see (besides `secrets`), and what is stored with each task: no secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// `InboundEvent::to_json()`: the six fields, `is_test` and any extra fields.
    pub event: serde_json::Value,
    #[serde(with = "notice_serde")]
    pub notice: Notice,
    pub site_name: Option<String>,
    pub project_name: Option<String>,
    pub owner_name: Option<String>,
    pub receiver: String,
    /// RFC 3339.
    pub received_at: String,
}

mod notice_serde {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};
    use vizhook_core::notify::Notice;

    pub(super) fn serialize<S: Serializer>(notice: &Notice, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(notice.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Notice, D::Error> {
        let text = String::deserialize(d)?;
        Notice::parse(&text)
            .ok_or_else(|| D::Error::custom(format!("unknown notice {text:?}: firing or resolved")))
    }
}

/// One problem found while building the actions, at a configuration path such as
/// `receiver[0].action[1].text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why one run of an action failed. Every message is one line without secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("no action {0}")]
    UnknownTarget(String),
    #[error("template {field}: {reason}")]
    Template { field: String, reason: String },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("{destination}: {reason}")]
    Send { destination: String, reason: String },
    #[error("{destination} answered {status}: {excerpt}")]
    Status {
        destination: String,
        status: u16,
        excerpt: String,
        /// The answer's `Retry-After`, when it had one.
        retry_after: Option<std::time::Duration>,
    },
    #[error("email is not configured ([smtp] host is empty)")]
    EmailNotConfigured,
    #[error("email to {to}: {reason}")]
    Email { to: String, reason: String },
    #[error("command {program}: {reason}")]
    Command { program: String, reason: String },
    #[error("file {path}: {reason}")]
    File { path: String, reason: String },
}

#[cfg(test)]
mod tests;
