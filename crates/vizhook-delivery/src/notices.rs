//! Emails the owner of every webhook vizhook disabled, from the notices the store wrote in the
//! same transaction as the disabling: the notice is the outbox of the email, so a crash between
//! disabling and emailing loses nothing. Failed sends are retried a few times.
//!
//! With several nodes on one database, each node's worker takes notices in leased batches
//! ([`NOTICE_LEASE`]) small enough to send within the lease even when every send runs to the
//! mail server's timeout, so no notice is emailed by two nodes; and each polls every
//! `notice_poll_interval`, so a notice its node left unsent is sent by another.

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use vizhook_store::{EmailState, NOTICE_LEASE, Notice, NoticeUpdate, Store};

use vizhook_runtime::ErrorChain;
use vizhook_runtime::email::{Email, Mailer};

/// Sends that may fail before a notice's email is given up.
const MAX_EMAIL_ATTEMPTS: u32 = 5;
/// How often to look again when a send failed.
const RETRY_INTERVAL: Duration = Duration::from_secs(30);
/// The most notices taken at once.
const MAX_BATCH: u32 = 100;

/// How many notices one batch may hold so that sending them all, each to the mail server's
/// timeout, ends within two thirds of the lease.
fn batch_size(send_timeout: Duration) -> u32 {
    let budget = NOTICE_LEASE.as_millis() * 2 / 3;
    let per_send = send_timeout.as_millis().max(1);
    u32::try_from(budget / per_send).map_or(MAX_BATCH, |n| n.clamp(1, MAX_BATCH))
}

pub(crate) struct NoticeWorker {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) mailer: Option<Mailer>,
    pub(crate) wake: Arc<Notify>,
    pub(crate) server_name: String,
    /// How often to look for pending notices when nothing wakes the worker.
    pub(crate) poll_interval: Duration,
}

impl NoticeWorker {
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let batch = self
            .mailer
            .as_ref()
            .map_or(MAX_BATCH, |mailer| batch_size(mailer.timeout()));
        while !shutdown.is_cancelled() {
            let wait = match self.send_pending(batch).await {
                Round::Full => continue,
                Round::Retry => RETRY_INTERVAL.min(self.poll_interval),
                Round::Done => self.poll_interval,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Sends up to `batch` pending notices once each.
    async fn send_pending(&self, batch: u32) -> Round {
        let pending = match self.store.pending_notices(batch).await {
            Ok(pending) => pending,
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "could not read pending notices");
                return Round::Retry;
            }
        };
        let full = pending.len() >= batch as usize;
        let mut retry = false;
        for notice in pending {
            let update = self.send(&notice).await;
            retry |= update.state == EmailState::Pending;
            if let Err(err) = self.store.update_notice(&update).await {
                tracing::error!(error = %ErrorChain(&err), notice = %notice.id, "could not record a notice's email");
            }
        }
        match (retry, full) {
            (true, _) => Round::Retry,
            (false, true) => Round::Full,
            (false, false) => Round::Done,
        }
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

/// How a round of sending ended, and so when the next one starts.
enum Round {
    /// Every notice taken was settled and the batch was full: more may be waiting, now.
    Full,
    /// Some send failed (or the store did): again after [`RETRY_INTERVAL`].
    Retry,
    /// Nothing more is pending: again when woken, or after the poll interval.
    Done,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_sent_within_its_lease_even_at_the_mail_timeout() {
        for secs in [1, 5, 10, 30, 60, 300, 3600] {
            let timeout = Duration::from_secs(secs);
            let batch = batch_size(timeout);
            assert!((1..=MAX_BATCH).contains(&batch), "{secs}s: {batch}");
            if batch > 1 {
                assert!(timeout * batch < NOTICE_LEASE, "{secs}s: {batch}");
            }
        }
        assert_eq!(batch_size(Duration::from_secs(10)), 60);
    }
}
