//! Run time: [`Runtime::execute`] runs one action once for one context, and turns every failure
//! into a one-line [`ActionError`] scrubbed of secrets. Also the email action.

use super::{
    ActionError, Actions, Context,
    build::Action,
    messages, remote,
    templates::{self, Tpl},
    text::one_line,
};
use vizhook_runtime::{
    email::{Email, Mailer},
    outbound::Outbound,
};

/// What actions need to reach the outside: the guarded HTTP client and the mailer (when
/// `[smtp]` is configured). Clones share connections.
#[derive(Debug, Clone)]
pub struct Runtime {
    outbound: Outbound,
    mailer: Option<Mailer>,
}

impl Runtime {
    pub fn new(outbound: Outbound, mailer: Option<Mailer>) -> Self {
        Self { outbound, mailer }
    }

    /// Runs the action `target` (`"receiver/index"`) once. Any failure (a non-2xx answer, a
    /// send error, a template error, a non-zero exit, a timeout) is an error with a one-line
    /// reason that holds no secret.
    pub async fn execute(
        &self,
        actions: &Actions,
        target: &str,
        ctx: &Context,
    ) -> Result<(), ActionError> {
        let Some(action) = actions.find(target) else {
            return Err(ActionError::UnknownTarget(target.to_owned()));
        };
        let outbound = &self.outbound;
        let result = match action {
            Action::Slack { url, text } => {
                remote::chat(outbound, actions, url, text.as_ref(), ctx, messages::slack).await
            }
            Action::Teams { url, text } => {
                remote::chat(outbound, actions, url, text.as_ref(), ctx, messages::teams).await
            }
            Action::Email { to, subject, body } => {
                self.email(actions, to, subject, body, ctx).await
            }
            Action::Http(http) => remote::http(outbound, actions, http, ctx).await,
            Action::X(x) => remote::x(outbound, actions, x, ctx).await,
            Action::Command(command) => command.run(ctx).await,
            Action::File(file) => file.append(ctx).await,
        };
        result.map_err(|err| actions.scrub(err))
    }

    /// Sends one email to every address of the action.
    async fn email(
        &self,
        actions: &Actions,
        to: &[String],
        subject: &Tpl,
        body: &Tpl,
        ctx: &Context,
    ) -> Result<(), ActionError> {
        let mailer = self
            .mailer
            .as_ref()
            .ok_or(ActionError::EmailNotConfigured)?;
        let subject = actions.render(subject, ctx)?;
        let body = actions.render(body, ctx)?;
        // One message to every address: a retry never resends to some and not others.
        let email = Email {
            to: to.join(", "),
            subject,
            body,
        };
        mailer
            .send(&email)
            .await
            .map_err(|err| ActionError::Email {
                to: email.to.clone(),
                reason: one_line(&err.to_string(), 300),
            })?;
        Ok(())
    }
}

impl Actions {
    /// Renders a template with the context and the secrets.
    pub(super) fn render(&self, tpl: &Tpl, ctx: &Context) -> Result<String, ActionError> {
        templates::render(&self.env, tpl, ctx, &self.secrets).map_err(|err| ActionError::Template {
            field: tpl.path().to_owned(),
            reason: templates::describe(&err),
        })
    }

    /// Replaces every secret value in the error's text.
    fn scrub(&self, err: ActionError) -> ActionError {
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
            } => ActionError::Status {
                destination: clean(destination),
                status,
                excerpt: clean(excerpt),
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
