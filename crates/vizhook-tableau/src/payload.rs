//! Tableau's six-field webhook payload, both ways: written strictly (exactly the six fields, in
//! the documented order, [`encode`]) as `vizhook serve` delivers it, and read leniently
//! ([`InboundEvent::parse`]: also the hyphenated spelling of the 2018 preview, any other fields
//! kept, unknown event types accepted, and the empty test payload recognised) as `vizhook
//! receive` takes it from any sender. [`FIELDS`] names the six once for both.

use serde::Serialize;
use serde_json::{Map, Value};
use vizhook_core::Event;

use crate::time::timestamp;

/// The six documented fields in the documented order, each with its 2018-preview spelling.
pub const FIELDS: [(&str, &str); 6] = [
    ("resource", "resource-type"),
    ("event_type", "event-type"),
    ("resource_name", "resource-name"),
    ("site_luid", "site-luid"),
    ("resource_luid", "resource-luid"),
    ("created_at", "created-at"),
];

/// `{"resource", "event_type", "resource_name", "site_luid", "resource_luid", "created_at"}`.
pub fn encode(event: &Event) -> Vec<u8> {
    let body = Payload {
        resource: event.resource.as_str(),
        event_type: event.kind.api_name(),
        resource_name: &event.resource_name,
        site_luid: event.site_id.to_string(),
        resource_luid: &event.resource_luid,
        created_at: timestamp(event.created_at),
    };
    // Serializing plain strings cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The six fields, in the documented order (serde writes fields in declaration order, and
/// the test holds it to [`FIELDS`]).
#[derive(Serialize)]
struct Payload<'a> {
    resource: &'static str,
    event_type: &'static str,
    resource_name: &'a str,
    site_luid: String,
    resource_luid: &'a str,
    created_at: String,
}

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
        let mut take = |(name, preview): (&str, &str)| -> String {
            [name, preview]
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
            resource: take(FIELDS[0]),
            event_type: take(FIELDS[1]),
            resource_name: take(FIELDS[2]),
            site_luid: take(FIELDS[3]),
            resource_luid: take(FIELDS[4]),
            created_at: take(FIELDS[5]),
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
    use time::macros::datetime;
    use uuid::Uuid;
    use vizhook_core::{EventId, EventKind, SiteId};

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

    #[test]
    fn payload_has_the_six_documented_fields_in_order() {
        let event = Event {
            id: EventId::from_uuid(Uuid::nil()),
            kind: EventKind::DatasourceRefreshFailed,
            resource: EventKind::DatasourceRefreshFailed.default_resource(),
            resource_name: "Sales \"Q1\"".to_owned(),
            site_id: SiteId::from_uuid(Uuid::from_u128(0x8b2a95d8_52b9_40a4_8712_cd6da771bd1b)),
            resource_luid: "99".to_owned(),
            created_at: datetime!(2018-11-15 17:14:45.123 UTC),
        };
        assert_eq!(
            String::from_utf8(encode(&event)).unwrap(),
            r#"{"resource":"EXTRACTS","event_type":"DatasourceRefreshFailed","resource_name":"Sales \"Q1\"","site_luid":"8b2a95d8-52b9-40a4-8712-cd6da771bd1b","resource_luid":"99","created_at":"2018-11-15T17:14:45Z"}"#
        );
        let keys: Vec<String> = serde_json::from_slice::<Map<String, Value>>(&encode(&event))
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, FIELDS.map(|(name, _)| name.to_owned()));
    }
}
