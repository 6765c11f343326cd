//! JSON shapes of vizhook's own API under `/vizhook/v1/`: plain JSON with native types, not
//! Tableau's attribute-as-string convention.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use vizhook_store::{AttemptRow, DeliveryRecord, Notice, Published};

use crate::api::tableau::wire::timestamp;

/// One event to inject. Only `event_type` is required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventIn {
    pub(crate) event_type: String,
    pub(crate) resource: Option<String>,
    #[serde(default)]
    pub(crate) resource_name: String,
    pub(crate) resource_luid: Option<String>,
    /// RFC 3339; defaults to now.
    pub(crate) created_at: Option<String>,
}

/// One event, a list of events, or `{"events": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum EventsIn {
    Wrapped { events: Vec<EventIn> },
    List(Vec<EventIn>),
    One(EventIn),
}

impl EventsIn {
    pub(crate) fn into_vec(self) -> Vec<EventIn> {
        match self {
            Self::Wrapped { events } | Self::List(events) => events,
            Self::One(event) => vec![event],
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct PublishedOut {
    pub(crate) id: String,
    pub(crate) deliveries: u32,
}

impl From<&Published> for PublishedOut {
    fn from(published: &Published) -> Self {
        Self {
            id: published.event_id.to_string(),
            deliveries: published.deliveries,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct AttemptOut {
    number: u32,
    started_at: String,
    latency_ms: u32,
    status: Option<u16>,
    error: Option<String>,
    response_excerpt: Option<String>,
}

impl From<&AttemptRow> for AttemptOut {
    fn from(row: &AttemptRow) -> Self {
        Self {
            number: row.number,
            started_at: precise(row.started_at),
            latency_ms: row.latency_ms,
            status: row.status,
            error: row.error.clone(),
            response_excerpt: row.response_excerpt.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DeliveryOut {
    id: String,
    event_id: String,
    webhook_id: String,
    event_type: &'static str,
    state: &'static str,
    created_at: String,
    next_attempt_at: Option<String>,
    completed_at: Option<String>,
    payload: serde_json::Value,
    attempts: Vec<AttemptOut>,
}

impl From<&DeliveryRecord> for DeliveryOut {
    fn from(record: &DeliveryRecord) -> Self {
        Self {
            id: record.id.to_string(),
            event_id: record.event_id.to_string(),
            webhook_id: record.webhook_id.to_string(),
            event_type: record.event_type.api_name(),
            state: record.state.as_str(),
            created_at: precise(record.created_at),
            next_attempt_at: record.next_attempt_at.map(precise),
            completed_at: record.completed_at.map(precise),
            payload: serde_json::from_str(&record.payload)
                .unwrap_or(serde_json::Value::String(record.payload.clone())),
            attempts: record.attempts.iter().map(AttemptOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct NoticeOut {
    id: String,
    webhook_id: String,
    webhook_name: String,
    message: String,
    recipient: Option<String>,
    email_state: &'static str,
    email_attempts: u32,
    email_error: Option<String>,
    created_at: String,
    sent_at: Option<String>,
}

impl From<&Notice> for NoticeOut {
    fn from(notice: &Notice) -> Self {
        Self {
            id: notice.id.to_string(),
            webhook_id: notice.webhook_id.to_string(),
            webhook_name: notice.webhook_name.clone(),
            message: notice.message.clone(),
            recipient: notice.recipient.clone(),
            email_state: notice.email_state.as_str(),
            email_attempts: notice.email_attempts,
            email_error: notice.email_error.clone(),
            created_at: timestamp(notice.created_at),
            sent_at: notice.sent_at.map(timestamp),
        }
    }
}

/// RFC 3339 with milliseconds: the delivery log is about latency.
pub(crate) fn precise(at: OffsetDateTime) -> String {
    let at = at
        .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `{"secret": "whsec_..."}` to set a webhook's signing secret; absent to generate one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretIn {
    pub(crate) secret: Option<String>,
}
