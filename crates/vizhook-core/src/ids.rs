//! Typed identifiers (Tableau LUIDs). Each wraps a UUID so that ids of different resources cannot
//! be mixed up; none is generated here because generating needs the OS random source.

use std::{fmt, str::FromStr};

use uuid::Uuid;

use crate::DomainError;

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The kind of resource, as used in error messages.
            pub const KIND: &'static str = $kind;

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = DomainError;

            /// Accepts the hyphenated LUID form Tableau uses, in any letter case.
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                let invalid = || DomainError::InvalidId { kind: $kind, value: raw.to_owned() };
                if raw.len() != 36 {
                    return Err(invalid());
                }
                Uuid::parse_str(raw).map(Self).map_err(|_| invalid())
            }
        }
    };
}

define_id!(
    /// A site's LUID.
    SiteId, "site"
);
define_id!(
    /// A user's LUID on one site (Tableau gives a user a different LUID on every site).
    UserId, "user"
);
define_id!(
    /// A server-wide account: the name and credentials behind a user's site memberships.
    AccountId, "account"
);
define_id!(
    /// A webhook's LUID.
    WebhookId, "webhook"
);
define_id!(
    /// A personal access token's id.
    AccessTokenId, "access token"
);
define_id!(
    /// An event's id.
    EventId, "event"
);
define_id!(
    /// A delivery: one event on its way to one webhook.
    DeliveryId, "delivery"
);
define_id!(
    /// A notice that vizhook disabled a webhook.
    NoticeId, "notice"
);
define_id!(
    /// A project.
    ProjectId, "project"
);
define_id!(
    /// A published data source.
    DatasourceId, "data source"
);
define_id!(
    /// A workbook.
    WorkbookId, "workbook"
);
define_id!(
    /// A view (sheet or dashboard) of a workbook.
    ViewId, "view"
);
define_id!(
    /// A database connection of a data source or workbook.
    ConnectionId, "connection"
);
define_id!(
    /// A background job (an extract refresh).
    JobId, "job"
);
define_id!(
    /// A data label on a data source or workbook.
    LabelId, "label"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let raw = "9A8B7C6D-5E4F-3A2B-1C0D-9E8F7A6B5C4D";
        let id: WebhookId = raw.parse().unwrap();
        assert_eq!(id.to_string(), raw.to_lowercase());
        for bad in [
            "",
            "not-a-uuid",
            "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
            "{9a8b7c6d-5e4f-3a2b-1c0d-9e8f7a6b5c4d}",
        ] {
            let err = bad.parse::<WebhookId>().unwrap_err();
            assert_eq!(
                err,
                DomainError::InvalidId {
                    kind: "webhook",
                    value: bad.to_owned()
                }
            );
        }
    }
}
