//! The body Tableau POSTs for an event: exactly six fields, in the documented order.

use serde::Serialize;
use vizhook_core::Event;

use crate::api::tableau::wire::timestamp;

/// `{"resource", "event_type", "resource_name", "site_luid", "resource_luid", "created_at"}`.
pub fn tableau_payload(event: &Event) -> Vec<u8> {
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

/// The six fields, in the documented order.
#[derive(Serialize)]
struct Payload<'a> {
    resource: &'static str,
    event_type: &'static str,
    resource_name: &'a str,
    site_luid: String,
    resource_luid: &'a str,
    created_at: String,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;
    use vizhook_core::{EventId, EventKind, SiteId};

    use super::*;

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
            String::from_utf8(tableau_payload(&event)).unwrap(),
            r#"{"resource":"EXTRACTS","event_type":"DatasourceRefreshFailed","resource_name":"Sales \"Q1\"","site_luid":"8b2a95d8-52b9-40a4-8712-cd6da771bd1b","resource_luid":"99","created_at":"2018-11-15T17:14:45Z"}"#
        );
    }
}
