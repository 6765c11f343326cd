//! Emails the owner of every webhook vizhook disabled, from the notices the store wrote in the
//! same transaction as the disabling: the notice is the outbox of the email, so a crash between
//! disabling and emailing loses nothing. Failed sends are retried a few times.

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use vizhook_store::{EmailState, Notice, NoticeUpdate, Store};

use vizhook_runtime::ErrorChain;
use vizhook_runtime::email::{Email, Mailer};

/// Sends that may fail before a notice's email is given up.
const MAX_EMAIL_ATTEMPTS: u32 = 5;
/// How often to look again when a send failed.
const RETRY_INTERVAL: Duration = Duration::from_secs(30);

pub(crate) struct NoticeWorker {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) mailer: Option<Mailer>,
    pub(crate) wake: Arc<Notify>,
    pub(crate) server_name: String,
}

impl NoticeWorker {
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let retry_soon = self.send_pending().await;
            let wait = if retry_soon {
                RETRY_INTERVAL
            } else {
                Duration::from_secs(3600)
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Sends every pending notice once. Returns whether some are still pending.
    async fn send_pending(&self) -> bool {
        let pending = match self.store.pending_notices(100).await {
            Ok(pending) => pending,
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "could not read pending notices");
                return true;
            }
        };
        let mut retry = false;
        for notice in pending {
            let update = self.send(&notice).await;
            retry |= update.state == EmailState::Pending;
            if let Err(err) = self.store.update_notice(&update).await {
                tracing::error!(error = %ErrorChain(&err), notice = %notice.id, "could not record a notice's email");
            }
        }
        retry
    }

    async fn send(&self, notice: &Notice) -> NoticeUpdate {
        let now = OffsetDateTime::now_utc();
        let update = |state, error: Option<String>| NoticeUpdate {
            id: notice.id,
            state,
            error,
            now,
        };
        let (Some(mailer), Some(recipient)) = (&self.mailer, &notice.recipient) else {
            return update(
                EmailState::Skipped,
                Some("email is not configured (smtp.host is empty)".to_owned()),
            );
        };
        let email = Email {
            to: recipient.clone(),
            subject: format!("Tableau webhook \"{}\" was disabled", notice.webhook_name),
            body: format!(
                "Your webhook \"{name}\" (id {id}) on {server} was disabled.\n\n\
                 Reason: {reason}\n\n\
                 No events are delivered to it while it is disabled. When its destination works again, \
                 re-enable it with Update Webhook (isEnabled=true); deliveries that were still pending \
                 resume then.\n",
                name = notice.webhook_name,
                id = notice.webhook_id,
                server = self.server_name,
                reason = notice.message,
            ),
        };
        match mailer.send(&email).await {
            Ok(()) => {
                tracing::info!(notice = %notice.id, webhook = %notice.webhook_id, "owner emailed about a disabled webhook");
                update(EmailState::Sent, None)
            }
            Err(err) if notice.email_attempts + 1 >= MAX_EMAIL_ATTEMPTS => {
                tracing::error!(error = %err, notice = %notice.id, "giving up emailing a notice");
                update(EmailState::Failed, Some(err.to_string()))
            }
            Err(err) => {
                tracing::warn!(error = %err, notice = %notice.id, "could not email a notice; will retry");
                update(EmailState::Pending, Some(err.to_string()))
            }
        }
    }
}
