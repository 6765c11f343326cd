//! Load time: [`Actions::build`] resolves every secret, compiles every template and renders it
//! against sample contexts, checks addresses, URLs, headers and paths, and reports every
//! problem at once with its configuration path.

use std::{collections::BTreeMap, fmt, path::Path};

use minijinja::Environment;
use url::Url;

use super::{
    ActionConfig, ConfigProblem, ReceiverConfig,
    local::{CommandAction, FileAction},
    remote::{HttpAction, XAction},
    templates::{self, Escape, JSON_SUFFIX, Tpl},
};
use crate::secret::{Secret, resolve};

/// The compiled actions of every receiver: secrets resolved, templates parsed and checked.
pub struct Actions {
    pub(super) env: Environment<'static>,
    /// Each receiver's actions with their keys: the action's `name`, or its position.
    pub(super) receivers: Vec<(String, Vec<(String, Action)>)>,
    pub(super) secrets: BTreeMap<String, Secret>,
    /// Every secret value, longest first, for scrubbing error messages.
    pub(super) redact: Vec<String>,
}

/// One compiled action.
pub(super) enum Action {
    Slack {
        url: Url,
        text: Option<Tpl>,
    },
    Teams {
        url: Url,
        text: Option<Tpl>,
    },
    Email {
        to: Vec<String>,
        subject: Tpl,
        body: Tpl,
    },
    Http(HttpAction),
    X(XAction),
    Command(CommandAction),
    File(FileAction),
}

impl Action {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Slack { .. } => "slack",
            Self::Teams { .. } => "teams",
            Self::Email { .. } => "email",
            Self::Http(_) => "http",
            Self::X(_) => "x",
            Self::Command(_) => "command",
            Self::File(_) => "file",
        }
    }
}

/// Shows receivers and action kinds only: never a URL or a secret.
impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, actions) in &self.receivers {
            let kinds: Vec<&str> = actions.iter().map(|(_, action)| action.kind()).collect();
            map.entry(name, &kinds);
        }
        map.finish()
    }
}

impl Actions {
    /// Compiles `receivers`. `base` is the configuration file's folder: `file:` secrets, relative
    /// command paths and file actions' paths are relative to it. Returns every problem, each with
    /// a path such as `receiver[0].action[1].text`.
    pub fn build(
        receivers: &[ReceiverConfig],
        secrets: &BTreeMap<String, Secret>,
        base: &Path,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let mut builder = Builder {
            env: templates::environment(),
            problems: Vec::new(),
            secrets,
            sample_secrets: templates::sample_secrets(secrets),
            redact: secrets.values().map(|s| s.expose().to_owned()).collect(),
            base,
            receiver: String::new(),
        };
        let mut compiled = Vec::new();
        for (r, receiver) in receivers.iter().enumerate() {
            let path = format!("receiver[{r}]");
            if receiver.name.trim().is_empty() {
                builder.problem(format!("{path}.name"), "must not be empty");
            } else if receivers[..r]
                .iter()
                .any(|other| other.name == receiver.name)
            {
                builder.problem(format!("{path}.name"), "another receiver has this name");
            }
            builder.receiver.clone_from(&receiver.name);
            let mut actions = Vec::with_capacity(receiver.action.len());
            for (a, action) in receiver.action.iter().enumerate() {
                let path = format!("{path}.action[{a}]");
                let key = match action.name() {
                    None => a.to_string(),
                    Some(name) => {
                        let taken = receiver.action[..a]
                            .iter()
                            .any(|other| other.name() == Some(name));
                        if let Err(message) = check_action_name(name, taken) {
                            builder.problem(format!("{path}.name"), message);
                        }
                        name.to_owned()
                    }
                };
                if let Some(compiled) = builder.action(&path, action) {
                    actions.push((key, compiled));
                }
            }
            compiled.push((receiver.name.clone(), actions));
        }
        if !builder.problems.is_empty() {
            return Err(builder.problems);
        }
        let mut redact = builder.redact;
        redact.retain(|value| value.chars().count() >= 3);
        redact.sort_by_key(|value| std::cmp::Reverse(value.len()));
        Ok(Self {
            env: builder.env,
            receivers: compiled,
            secrets: secrets.clone(),
            redact,
        })
    }

    /// The action targets of a receiver, `"receiver/0"`, `"receiver/1"`, ..., or
    /// `"receiver/NAME"` for a named action; `None` if there is no receiver of that name.
    pub fn targets(&self, receiver: &str) -> Option<Vec<String>> {
        let (name, actions) = self.receivers.iter().find(|(name, _)| name == receiver)?;
        Some(
            actions
                .iter()
                .map(|(key, _)| format!("{name}/{key}"))
                .collect(),
        )
    }

    /// Whether any action sends email, so `[smtp]` must be configured.
    pub fn needs_smtp(&self) -> bool {
        self.receivers
            .iter()
            .flat_map(|(_, actions)| actions)
            .any(|(_, action)| matches!(action, Action::Email { .. }))
    }

    /// How many runs of an action may be in flight at once, when the action itself limits it
    /// (a command's `max_concurrent`).
    pub fn concurrency(&self, target: &str) -> Option<usize> {
        match self.find(target)? {
            Action::Command(command) => Some(command.max_concurrent()),
            _ => None,
        }
    }

    pub(super) fn find(&self, target: &str) -> Option<&Action> {
        let (name, key) = target.rsplit_once('/')?;
        let (_, actions) = self.receivers.iter().find(|(n, _)| n == name)?;
        actions
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, action)| action)
    }
}

/// Why an action's `name` cannot be used: it names the action in stored task ids
/// (`receiver/NAME`), where a position (`receiver/0`) must not be mistaken for it.
fn check_action_name(name: &str, taken: bool) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        Err("must not be empty")
    } else if name.contains('/') {
        Err("must not contain '/'")
    } else if name.bytes().all(|b| b.is_ascii_digit()) {
        Err("must not be a number: numbers are the positions of unnamed actions")
    } else if taken {
        Err("another action of this receiver has this name")
    } else {
        Ok(())
    }
}

pub(super) struct Builder<'a> {
    env: Environment<'static>,
    problems: Vec<ConfigProblem>,
    secrets: &'a BTreeMap<String, Secret>,
    sample_secrets: BTreeMap<String, Secret>,
    redact: Vec<String>,
    base: &'a Path,
    receiver: String,
}

impl Builder<'_> {
    pub(super) fn problem(&mut self, path: String, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            path,
            message: message.into(),
        });
    }

    fn action(&mut self, path: &str, config: &ActionConfig) -> Option<Action> {
        let before = self.problems.len();
        let action = match config {
            ActionConfig::Slack(slack) => {
                let url = self.webhook_url(&format!("{path}.webhook_url"), &slack.webhook_url);
                let text = self.optional(path, "text", slack.text.as_deref(), Mode::Slack);
                Action::Slack { url: url?, text }
            }
            ActionConfig::Teams(teams) => {
                let url = self.webhook_url(&format!("{path}.webhook_url"), &teams.webhook_url);
                let text = self.optional(path, "text", teams.text.as_deref(), Mode::Teams);
                Action::Teams { url: url?, text }
            }
            ActionConfig::Email(email) => self.email(path, email)?,
            ActionConfig::Http(http) => Action::Http(self.http(path, http)?),
            ActionConfig::X(x) => Action::X(self.x(path, x)?),
            ActionConfig::Command(command) => match CommandAction::new(command, self.base) {
                Ok(action) => Action::Command(action),
                Err(problems) => {
                    for (key, message) in problems {
                        self.problem(format!("{path}.{key}"), message);
                    }
                    return None;
                }
            },
            ActionConfig::File(file) => match FileAction::new(&file.path, self.base) {
                Ok(action) => Action::File(action),
                Err(message) => {
                    self.problem(format!("{path}.path"), message);
                    return None;
                }
            },
        };
        (self.problems.len() == before).then_some(action)
    }

    pub(super) fn secret(&mut self, path: &str, raw: &str) -> Option<Secret> {
        match resolve(raw, self.base) {
            Ok(secret) => {
                self.redact.push(secret.expose().to_owned());
                Some(secret)
            }
            Err(err) => {
                self.problem(path.to_owned(), err.to_string());
                None
            }
        }
    }

    /// A webhook URL: a secret reference or a literal, which must be an http(s) URL. The
    /// message never shows the URL, which is a credential.
    pub(super) fn webhook_url(&mut self, path: &str, raw: &str) -> Option<Url> {
        let secret = self.secret(path, raw)?;
        let url = Url::parse(secret.expose())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        if url.is_none() {
            self.problem(path.to_owned(), "must be an http:// or https:// URL");
        }
        url
    }

    /// Compiles a template and renders it against the samples; JSON templates must render
    /// valid JSON. Returns the rendered samples.
    pub(super) fn template(
        &mut self,
        path: String,
        source: &str,
        mode: Mode,
    ) -> Option<(Tpl, Vec<String>)> {
        let name = match mode {
            Mode::Json => format!("{path}{JSON_SUFFIX}"),
            Mode::Slack => format!("{path}{}", Escape::Slack.suffix()),
            Mode::Teams => format!("{path}{}", Escape::Teams.suffix()),
            Mode::Text => path.clone(),
        };
        let tpl = Tpl { name: name.clone() };
        if let Err(err) = self.env.add_template_owned(name, source.to_owned()) {
            self.problem(path, templates::describe(&err));
            return None;
        }
        let mut rendered = Vec::new();
        for sample in templates::samples(&self.receiver) {
            match templates::render(&self.env, &tpl, &sample, &self.sample_secrets) {
                Ok(text) => rendered.push(text),
                Err(err) => {
                    let mut message = templates::describe(&err);
                    let unknown =
                        templates::unknown_variables(&self.env, &tpl, &sample, self.secrets);
                    if !unknown.is_empty() {
                        message.push_str(&format!("; unknown: {}", unknown.join(", ")));
                    }
                    self.problem(path, message);
                    return None;
                }
            }
        }
        if mode == Mode::Json
            && let Some(err) = rendered
                .iter()
                .find_map(|text| serde_json::from_str::<serde_json::Value>(text).err())
        {
            let message = format!(
                "does not render valid JSON ({err}); values are already JSON literals, do not quote them"
            );
            self.problem(path, message);
            return None;
        }
        Some((tpl, rendered))
    }

    pub(super) fn optional(
        &mut self,
        path: &str,
        key: &str,
        source: Option<&str>,
        mode: Mode,
    ) -> Option<Tpl> {
        let (tpl, _) = self.template(format!("{path}.{key}"), source?, mode)?;
        Some(tpl)
    }

    pub(super) fn required(
        &mut self,
        path: &str,
        key: &str,
        source: Option<&str>,
        default: &str,
    ) -> Tpl {
        let path = format!("{path}.{key}");
        let source = source.unwrap_or(default);
        let (tpl, _) = self.template(path.clone(), source, Mode::Text).unzip();
        tpl.unwrap_or(Tpl { name: path })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Text,
    Json,
    Slack,
    Teams,
}
