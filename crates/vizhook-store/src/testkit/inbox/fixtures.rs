//! What the inbox's conformance checks build on: times after `T0`, inbound events, planned
//! notifications, task claims and records.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use vizhook_core::notify::{Intent, Notice};

use crate::{
    ClaimedTask, Inbound, PlannedNotification, Received, TaskClaimRequest, TaskNext, TaskRecord,
    testkit::fixtures::T0,
};

pub(super) const HOUR: StdDuration = StdDuration::from_secs(3600);

pub(super) fn minutes(n: i64) -> OffsetDateTime {
    T0 + Duration::minutes(n)
}

/// An event received at `at` under `key`, held for ten minutes.
pub(super) fn inbound(
    key: &str,
    at: OffsetDateTime,
    notifications: Vec<PlannedNotification>,
) -> Inbound {
    Inbound {
        id: Uuid::new_v4().to_string(),
        source: "tableau".to_owned(),
        dedup_key: key.to_owned(),
        extra_dedup_keys: Vec::new(),
        dedup_until: at + Duration::minutes(10),
        body: format!(r#"{{"key":"{key}"}}"#).into_bytes(),
        received_at: at,
        notifications,
    }
}

pub(super) fn plan(
    receiver: &str,
    group: &str,
    intent: Intent,
    repeat: StdDuration,
) -> PlannedNotification {
    PlannedNotification {
        receiver: receiver.to_owned(),
        group_key: group.to_owned(),
        intent,
        repeat_interval: repeat,
        spec: format!("spec for {receiver}"),
    }
}

pub(super) fn stored(tasks: &[(&str, Notice)]) -> Received {
    Received::Stored {
        tasks: tasks.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect(),
    }
}

pub(super) fn claim(now: OffsetDateTime, limit: u32, exclude: &[&str]) -> TaskClaimRequest {
    TaskClaimRequest {
        now,
        lease_until: now + Duration::seconds(30),
        limit,
        exclude: exclude.iter().map(|r| (*r).to_owned()).collect(),
    }
}

pub(super) fn finish(task: &ClaimedTask, error: Option<&str>, next: TaskNext) -> TaskRecord {
    TaskRecord {
        id: task.id,
        receiver: task.receiver.clone(),
        finished_at: T0,
        error: error.map(str::to_owned),
        next,
    }
}

pub(super) fn receivers(tasks: &[ClaimedTask]) -> Vec<&str> {
    tasks.iter().map(|t| t.receiver.as_str()).collect()
}
