//! Action tasks as [`Work`] for the shared delivery engine: leased and recorded through
//! `Store::exchange_tasks`, each attempt one run of one action under a timeout, retried on the
//! receiver's schedule. A failing action never affects what the sender was answered.

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use vizhook_core::{RateLimitPolicy, RetrySchedule};
use vizhook_store::{ClaimedTask, Store, TaskClaimRequest, TaskNext, TaskRecord};

use super::{
    actions::{ActionError, Actions, Runtime},
    ingest::TaskSpec,
};
use vizhook_runtime::{
    ErrorChain,
    engine::{Claim, Work},
};

#[derive(Debug)]
pub(crate) struct ActionTasks {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) actions: Arc<Actions>,
    pub(crate) runtime: Runtime,
    pub(crate) schedule: RetrySchedule,
    pub(crate) rate_limit: RateLimitPolicy,
    pub(crate) attempt_timeout: Duration,
}

/// One run's outcome: what is recorded, and until when the action's destination asked not to
/// be sent more (`429`, or `503` with `Retry-After`), which the engine honours for the action.
#[derive(Debug)]
pub(crate) struct Ran {
    record: TaskRecord,
    pause_until: Option<OffsetDateTime>,
}

impl Work for ActionTasks {
    type Item = ClaimedTask;
    type Record = Ran;
    type Key = String;

    fn item_key(item: &ClaimedTask) -> String {
        item.receiver.clone()
    }

    fn record_key(ran: &Ran) -> String {
        ran.record.receiver.clone()
    }

    fn pause_until(ran: &Ran) -> Option<OffsetDateTime> {
        ran.pause_until
    }

    fn succeeded(ran: &Ran) -> bool {
        ran.record.next == TaskNext::Delivered
    }

    fn retry_at(ran: &Ran) -> Option<OffsetDateTime> {
        match ran.record.next {
            TaskNext::RetryAt(at) => Some(at),
            TaskNext::Delivered | TaskNext::Failed => None,
        }
    }

    fn key_limit(&self, action: &String) -> Option<usize> {
        self.actions.concurrency(action)
    }

    async fn exchange(
        &self,
        ran: Vec<Ran>,
        claim: Option<Claim<String>>,
    ) -> Option<Vec<ClaimedTask>> {
        let records: Vec<TaskRecord> = ran.into_iter().map(|ran| ran.record).collect();
        let claim = claim.map(|claim| TaskClaimRequest {
            now: claim.now,
            lease_until: claim.lease_until,
            limit: claim.limit,
            exclude: claim.exclude,
        });
        match self.store.exchange_tasks(&records, claim.as_ref()).await {
            Ok(claimed) => Some(claimed),
            Err(err) => {
                tracing::error!(
                    error = %ErrorChain(&err), tasks = records.len(),
                    "could not record action attempts or claim tasks; they will run again when their leases end"
                );
                None
            }
        }
    }

    async fn perform(self: Arc<Self>, task: ClaimedTask) -> Ran {
        let mut gone = false;
        let mut pushback = None;
        let outcome = match serde_json::from_str::<TaskSpec>(&task.spec) {
            Ok(spec) => {
                let context = spec.into_context(task.notice);
                let run = self
                    .runtime
                    .execute(&self.actions, &task.receiver, &context);
                match tokio::time::timeout(self.attempt_timeout, run).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err @ ActionError::UnknownTarget(_))) => {
                        // The configuration changed since the task was queued: retrying
                        // cannot help.
                        gone = true;
                        Err(err.to_string())
                    }
                    Ok(Err(err)) => {
                        if let ActionError::Status {
                            status,
                            retry_after,
                            ..
                        } = &err
                        {
                            pushback = Some((*status, *retry_after));
                        }
                        Err(err.to_string())
                    }
                    Err(_) => Err(format!(
                        "the action did not finish within {}",
                        humantime::format_duration(self.attempt_timeout)
                    )),
                }
            }
            Err(err) => Err(format!("the stored task does not parse: {err}")),
        };
        let finished_at = OffsetDateTime::now_utc();
        // A rate-limited destination is left alone as long as it asked, within the bound; the
        // task itself waits that long, or its schedule's gap if longer.
        let (status, retry_after) = pushback.map_or((None, None), |(s, r)| (Some(s), r));
        let next = match &outcome {
            Ok(()) => TaskNext::Delivered,
            Err(_) if gone => TaskNext::Failed,
            Err(_) => match self.schedule.delay_after(task.attempt) {
                Some(gap) => TaskNext::RetryAt(
                    finished_at + self.rate_limit.retry_delay(status, retry_after, gap),
                ),
                None => TaskNext::Failed,
            },
        };
        let pause_until = self
            .rate_limit
            .pause(status, retry_after)
            .map(|pause| finished_at + pause);
        let label = match (&outcome, next) {
            (Ok(()), _) => "done",
            (Err(_), TaskNext::Failed) => "failed",
            (Err(_), _) => "retry",
        };
        if let Err(error) = &outcome {
            tracing::warn!(
                task = task.id, action = %task.receiver, attempt = task.attempt, next = label,
                error = %error, "action failed"
            );
        } else {
            tracing::debug!(task = task.id, action = %task.receiver, "action done");
        }
        metrics::counter!("vizhook_receive_actions_total", "action" => task.receiver.clone(), "outcome" => label)
            .increment(1);
        Ran {
            record: TaskRecord {
                id: task.id,
                receiver: task.receiver,
                finished_at,
                error: outcome.err(),
                next,
            },
            pause_until,
        }
    }

    async fn next_due(&self) -> Option<OffsetDateTime> {
        match self.store.next_task_due().await {
            Ok(due) => due,
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "could not read the next due task");
                None
            }
        }
    }
}
