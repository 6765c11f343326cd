//! vizhook's own API below `/vizhook/v1/`, which only a vizhook server has: injecting events
//! and reading and redelivering the delivery log. Answers stay JSON, as vizhook writes them
//! (plain JSON with native types, as the README describes), for the caller to show or pass on.

use http::Method;
use serde_json::Value;

use super::session::{Client, ClientError};

/// Which page of a webhook's delivery log to read.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// At most this many, newest first (the server caps it at 500).
    pub limit: Option<u32>,
    /// Only deliveries created before this RFC 3339 time.
    pub before: Option<String>,
}

impl Client {
    /// Injects events (`{"events": [{"event_type": ..}, ..]}`) into a site; the answer lists
    /// each event's id and how many deliveries it got.
    pub async fn fire_events(&self, site: &str, events: &Value) -> Result<Value, ClientError> {
        self.call_vizhook(Method::POST, &format!("sites/{site}/events"), Some(events))
            .await
    }

    /// A page of one webhook's delivery log, each delivery with its attempts.
    pub async fn deliveries(
        &self,
        site: &str,
        webhook: &str,
        query: &DeliveryQuery,
    ) -> Result<Value, ClientError> {
        let mut path = format!("sites/{site}/webhooks/{webhook}/deliveries");
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        if let Some(limit) = query.limit {
            params.append_pair("limit", &limit.to_string());
        }
        if let Some(before) = &query.before {
            params.append_pair("before", before);
        }
        let params = params.finish();
        if !params.is_empty() {
            path = format!("{path}?{params}");
        }
        self.call_vizhook(Method::GET, &path, None).await
    }

    /// One delivery with its attempts.
    pub async fn delivery(&self, site: &str, id: &str) -> Result<Value, ClientError> {
        self.call_vizhook(Method::GET, &format!("sites/{site}/deliveries/{id}"), None)
            .await
    }

    /// Schedules a delivery again now; the answer is the delivery as rescheduled.
    pub async fn redeliver(&self, site: &str, id: &str) -> Result<Value, ClientError> {
        let path = format!("sites/{site}/deliveries/{id}/redeliver");
        self.call_vizhook(Method::POST, &path, None).await
    }
}
