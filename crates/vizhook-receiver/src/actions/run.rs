//! Run time: [`Runtime::execute`] runs one action once for one context, and turns every failure
//! into a one-line [`ActionError`] scrubbed of secrets. Also the email action.

use super::{
    ActionError, Actions, Context, action::Action, messages, remote, templates::Tpl, text::one_line,
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
