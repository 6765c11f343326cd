//! The compiled actions: what [`Actions::build`] makes of the configuration (each receiver's
//! actions with secrets resolved and templates parsed) and what running them reads (targets,
//! concurrency, rendering, scrubbing secrets from errors). One action is `action.rs`, building
//! `build.rs`, running `run.rs`.

use std::{collections::BTreeMap, fmt, path::Path};

use minijinja::Environment;

use super::{
    ActionError, ConfigProblem, Context, ReceiverConfig,
    action::Action,
    build,
    templates::{self, Tpl},
};
use crate::secret::Secret;

/// The compiled actions of every receiver: secrets resolved, templates parsed and checked.
pub struct Actions {
    pub(super) env: Environment<'static>,
    /// Each receiver's actions with their keys: the action's `name`, or its position.
    pub(super) receivers: Vec<(String, Vec<(String, Action)>)>,
    pub(super) secrets: BTreeMap<String, Secret>,
    /// Every secret value, longest first, for scrubbing error messages.
    pub(super) redact: Vec<String>,
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
        let compiled = build::compile(receivers, secrets, base)?;
        Ok(Self {
            env: compiled.env,
            receivers: compiled.receivers,
            secrets: secrets.clone(),
            redact: compiled.redact,
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

    /// Renders a template with the context and the secrets.
    pub(super) fn render(&self, tpl: &Tpl, ctx: &Context) -> Result<String, ActionError> {
        templates::render(&self.env, tpl, ctx, &self.secrets).map_err(|err| ActionError::Template {
            field: tpl.path().to_owned(),
            reason: templates::describe(&err),
        })
    }

    /// Replaces every secret value in the error's text.
    pub(super) fn scrub(&self, err: ActionError) -> ActionError {
        let clean = |text: String| {
            self.redact.iter().fold(text, |text, secret| {
                text.replace(secret.as_str(), "<redacted>")
            })
        };
        match err {
            ActionError::UnknownTarget(target) => ActionError::UnknownTarget(clean(target)),
            ActionError::Template { field, reason } => ActionError::Template {
                field,
                reason: clean(reason),
            },
            ActionError::InvalidRequest(reason) => ActionError::InvalidRequest(clean(reason)),
            ActionError::Send {
                destination,
                reason,
            } => ActionError::Send {
                destination: clean(destination),
                reason: clean(reason),
            },
            ActionError::Status {
                destination,
                status,
                excerpt,
                retry_after,
            } => ActionError::Status {
                destination: clean(destination),
                status,
                excerpt: clean(excerpt),
                retry_after,
            },
            ActionError::EmailNotConfigured => ActionError::EmailNotConfigured,
            ActionError::Email { to, reason } => ActionError::Email {
                to,
                reason: clean(reason),
            },
            ActionError::Command { program, reason } => ActionError::Command {
                program,
                reason: clean(reason),
            },
            ActionError::File { path, reason } => ActionError::File {
                path,
                reason: clean(reason),
            },
        }
    }
}
