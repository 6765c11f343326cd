//! The event a receiver accepts, read leniently: Tableau's six fields (also in the hyphenated
//! spelling of the 2018 preview), any other fields kept, unknown event types accepted, and
//! Tableau's empty test payload recognised.

use serde_json::{Map, Value};

/// An inbound event. Fields that are missing are empty strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEvent {
    pub resource: String,
    pub event_type: String,
    pub resource_name: String,
    pub site_luid: String,
    pub resource_luid: String,
    pub created_at: String,
    /// Every field besides the six, as sent.
    pub extra: Map<String, Value>,
    /// An empty body or `{}`: what Tableau's "Test a Webhook" sends.
    pub is_test: bool,
}

/// Why a body is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body must be a JSON object")]
    NotObject,
}

/// The routable labels of an event, by name. The six fields, plus `site_name` when known.
pub const LABELS: [&str; 6] = [
    "event_type",
    "resource",
    "resource_name",
    "site_luid",
    "resource_luid",
    "site_name",
];

impl InboundEvent {
    /// Reads a request body. An empty body is Tableau's test payload.
    pub fn parse(body: &[u8]) -> Result<Self, EventError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::test());
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|err| EventError::NotJson(err.to_string()))?;
        let Value::Object(mut map) = value else {
            return Err(EventError::NotObject);
        };
        let is_test = map.is_empty();
        let mut take = |names: [&str; 2]| -> String {
            names
                .iter()
                .find_map(|name| map.remove(*name))
                .map(|value| match value {
                    Value::String(text) => text,
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        let event = Self {
            resource: take(["resource", "resource-type"]),
            event_type: take(["event_type", "event-type"]),
            resource_name: take(["resource_name", "resource-name"]),
            site_luid: take(["site_luid", "site-luid"]),
            resource_luid: take(["resource_luid", "resource-luid"]),
            created_at: take(["created_at", "created-at"]),
            extra: Map::new(),
            is_test,
        };
        Ok(Self {
            extra: map,
            ..event
        })
    }

    fn test() -> Self {
        Self {
            resource: String::new(),
            event_type: String::new(),
            resource_name: String::new(),
            site_luid: String::new(),
            resource_luid: String::new(),
            created_at: String::new(),
            extra: Map::new(),
            is_test: true,
        }
    }

    /// The value of a routing label; `site_name` comes from enrichment.
    pub fn label<'a>(&'a self, name: &str, site_name: Option<&'a str>) -> Option<&'a str> {
        Some(match name {
            "event_type" => &self.event_type,
            "resource" => &self.resource,
            "resource_name" => &self.resource_name,
            "site_luid" => &self.site_luid,
            "resource_luid" => &self.resource_luid,
            "created_at" => &self.created_at,
            "site_name" => return site_name,
            _ => return None,
        })
    }

    /// The event as JSON for templates: the six fields, `is_test`, and the extra fields.
    pub fn to_json(&self) -> Value {
        let mut map = self.extra.clone();
        for (key, value) in [
            ("resource", &self.resource),
            ("event_type", &self.event_type),
            ("resource_name", &self.resource_name),
            ("site_luid", &self.site_luid),
            ("resource_luid", &self.resource_luid),
            ("created_at", &self.created_at),
        ] {
            map.insert(key.to_owned(), Value::String(value.clone()));
        }
        map.insert("is_test".to_owned(), Value::Bool(self.is_test));
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parsing() {
        let event = InboundEvent::parse(
            br#"{"resource":"EXTRACTS","event_type":"DatasourceRefreshFailed","resource_name":"Sales","site_luid":"s1","resource_luid":"99","created_at":"2018-11-15T17:14:45Z","querystring":{}}"#,
        )
        .unwrap();
        assert_eq!(event.event_type, "DatasourceRefreshFailed");
        assert_eq!(
            event.extra.get("querystring"),
            Some(&serde_json::json!({})),
            "unknown fields are kept"
        );
        assert!(!event.is_test);
        let preview =
            InboundEvent::parse(br#"{"event-type":"WorkbookCreated","resource-name":"W"}"#)
                .unwrap();
        assert_eq!(
            (preview.event_type.as_str(), preview.resource_name.as_str()),
            ("WorkbookCreated", "W")
        );
        let unknown =
            InboundEvent::parse(br#"{"event_type":"FlowCompleted","resource_luid":12}"#).unwrap();
        assert_eq!(
            (unknown.event_type.as_str(), unknown.resource_luid.as_str()),
            ("FlowCompleted", "12")
        );
        assert!(InboundEvent::parse(b"").unwrap().is_test);
        assert!(InboundEvent::parse(b"{}").unwrap().is_test);
        assert!(matches!(
            InboundEvent::parse(b"{"),
            Err(EventError::NotJson(_))
        ));
        assert_eq!(InboundEvent::parse(b"[1]"), Err(EventError::NotObject));
    }
}
