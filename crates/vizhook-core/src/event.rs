//! The closed catalogue of the 22 Tableau webhook events, their two naming styles, and the event
//! record that every delivery carries.

use std::{fmt, str::FromStr};

use time::OffsetDateTime;

use crate::{DomainError, EventId, SiteId};

/// The kind of resource an event is about, as written in the payload's `resource` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Datasource,
    Workbook,
    Extracts,
    User,
    Site,
    View,
}

impl Resource {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Datasource => "DATASOURCE",
            Self::Workbook => "WORKBOOK",
            Self::Extracts => "EXTRACTS",
            Self::User => "USER",
            Self::Site => "SITE",
            Self::View => "VIEW",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resource {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [
            Self::Datasource,
            Self::Workbook,
            Self::Extracts,
            Self::User,
            Self::Site,
            Self::View,
        ]
        .into_iter()
        .find(|resource| resource.as_str().eq_ignore_ascii_case(raw))
        .ok_or_else(|| DomainError::UnknownEvent(raw.to_owned()))
    }
}

macro_rules! event_kinds {
    ($($variant:ident => $source:literal, $resource:expr;)*) => {
        /// One of the 22 events a Tableau webhook can subscribe to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $($variant,)*
        }

        impl EventKind {
            /// Every event, in the order of Tableau's documentation table.
            pub const ALL: [EventKind; 22] = [$(Self::$variant,)*];

            /// The event-style name: the `event` attribute and the payload's `event_type`.
            pub const fn api_name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)*
                }
            }

            /// The `webhook-source` element name (the older, deprecated style).
            pub const fn source_name(self) -> &'static str {
                match self {
                    $(Self::$variant => $source,)*
                }
            }

            /// The payload's `resource` for this event. Label events are about a data source
            /// or a workbook; this gives the data source default, and the event itself carries
            /// the resource that applies.
            pub const fn default_resource(self) -> Resource {
                match self {
                    $(Self::$variant => $resource,)*
                }
            }
        }
    };
}

event_kinds! {
    AdminPromoted => "webhook-event-user-promoted-admin", Resource::User;
    AdminDemoted => "webhook-event-user-demoted-admin", Resource::User;
    DatasourceUpdated => "webhook-source-event-datasource-updated", Resource::Datasource;
    DatasourceCreated => "webhook-source-event-datasource-created", Resource::Datasource;
    DatasourceDeleted => "webhook-source-event-datasource-deleted", Resource::Datasource;
    DatasourceRefreshStarted => "webhook-source-event-datasource-refresh-started", Resource::Extracts;
    DatasourceRefreshSucceeded => "webhook-source-event-datasource-refresh-succeeded", Resource::Extracts;
    DatasourceRefreshFailed => "webhook-source-event-datasource-refresh-failed", Resource::Extracts;
    LabelCreated => "webhook-source-event-label-created", Resource::Datasource;
    LabelUpdated => "webhook-source-event-label-updated", Resource::Datasource;
    LabelDeleted => "webhook-source-event-label-deleted", Resource::Datasource;
    SiteCreated => "webhook-source-event-site-created", Resource::Site;
    SiteUpdated => "webhook-source-event-site-updated", Resource::Site;
    SiteDeleted => "webhook-source-event-site-deleted", Resource::Site;
    UserDeleted => "webhook-source-event-user-deleted", Resource::User;
    ViewDeleted => "webhook-source-event-view-deleted", Resource::View;
    WorkbookUpdated => "webhook-source-event-workbook-updated", Resource::Workbook;
    WorkbookCreated => "webhook-source-event-workbook-created", Resource::Workbook;
    WorkbookDeleted => "webhook-source-event-workbook-deleted", Resource::Workbook;
    WorkbookRefreshStarted => "webhook-source-event-workbook-refresh-started", Resource::Extracts;
    WorkbookRefreshSucceeded => "webhook-source-event-workbook-refresh-succeeded", Resource::Extracts;
    WorkbookRefreshFailed => "webhook-source-event-workbook-refresh-failed", Resource::Extracts;
}

impl EventKind {
    /// Parses an event name written in either style, leniently: `DatasourceCreated`,
    /// `webhook-source-event-datasource-created`, `datasource-created` (what TSC's getter
    /// returns), `webhook-source-event-DatasourceCreated` (what TSC 0.42 sends for an
    /// event-style name), and the documented `webhook-source-event-label-LabelDeleted` typo.
    /// Letter case, dashes and underscores do not matter.
    pub fn parse_lenient(raw: &str) -> Result<Self, DomainError> {
        let key = normalize(raw);
        let key = key
            .strip_prefix("webhooksourceevent")
            .or_else(|| key.strip_prefix("webhookevent"))
            .unwrap_or(&key);
        let key = if key == "labellabeldeleted" {
            "labeldeleted"
        } else {
            key
        };
        Self::ALL
            .into_iter()
            .find(|kind| {
                normalized(kind.api_name()).eq(key.chars())
                    || normalized(source_suffix(*kind)).eq(key.chars())
            })
            .ok_or_else(|| DomainError::UnknownEvent(raw.to_owned()))
    }
}

/// The source name without its prefix: `UserPromotedAdmin`, `datasource-created`.
fn source_suffix(kind: EventKind) -> &'static str {
    let source = kind.source_name();
    source
        .strip_prefix("webhook-source-event-")
        .or_else(|| source.strip_prefix("webhook-event-"))
        .unwrap_or(source)
}

/// `raw` without surrounding spaces, dashes and underscores, in lower case. An iterator, so
/// that comparing against the 22 names allocates nothing (events are parsed on every
/// injection).
fn normalized(raw: &str) -> impl Iterator<Item = char> + '_ {
    raw.trim()
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
}

fn normalize(raw: &str) -> String {
    normalized(raw).collect()
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_name())
    }
}

impl FromStr for EventKind {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse_lenient(raw)
    }
}

/// Something that happened on a site: the six fields of Tableau's payload, plus its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub kind: EventKind,
    pub resource: Resource,
    pub resource_name: String,
    pub site_id: SiteId,
    pub resource_luid: String,
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn every_event_parses_from_both_names_and_tsc_forms() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse_lenient(kind.api_name()), Ok(kind));
            assert_eq!(EventKind::parse_lenient(kind.source_name()), Ok(kind));
            // TSC 0.42 prefixes event-style names it does not recognise.
            let tsc_style = format!("webhook-source-event-{}", kind.api_name());
            assert_eq!(EventKind::parse_lenient(&tsc_style), Ok(kind));
            // TSC's getter strips the prefix; clients then send that back.
            let stripped = kind
                .source_name()
                .trim_start_matches("webhook-source-event-");
            assert_eq!(EventKind::parse_lenient(stripped), Ok(kind));
        }
    }

    #[test]
    fn documented_label_deleted_typo_is_accepted() {
        assert_eq!(
            EventKind::parse_lenient("webhook-source-event-label-LabelDeleted"),
            Ok(EventKind::LabelDeleted)
        );
    }

    #[test]
    fn unknown_events_are_refused() {
        for bad in [
            "",
            "FlowCompleted",
            "webhook-source-event-",
            "DatasourceCreatedd",
            "datasource",
        ] {
            assert_eq!(
                EventKind::parse_lenient(bad),
                Err(DomainError::UnknownEvent(bad.into()))
            );
        }
    }

    #[test]
    fn catalogue_matches_tableau_table() {
        let table: Vec<String> = EventKind::ALL
            .iter()
            .map(|k| {
                format!(
                    "{} {} {}",
                    k.api_name(),
                    k.source_name(),
                    k.default_resource()
                )
            })
            .collect();
        expect![[r#"
            AdminPromoted webhook-event-user-promoted-admin USER
            AdminDemoted webhook-event-user-demoted-admin USER
            DatasourceUpdated webhook-source-event-datasource-updated DATASOURCE
            DatasourceCreated webhook-source-event-datasource-created DATASOURCE
            DatasourceDeleted webhook-source-event-datasource-deleted DATASOURCE
            DatasourceRefreshStarted webhook-source-event-datasource-refresh-started EXTRACTS
            DatasourceRefreshSucceeded webhook-source-event-datasource-refresh-succeeded EXTRACTS
            DatasourceRefreshFailed webhook-source-event-datasource-refresh-failed EXTRACTS
            LabelCreated webhook-source-event-label-created DATASOURCE
            LabelUpdated webhook-source-event-label-updated DATASOURCE
            LabelDeleted webhook-source-event-label-deleted DATASOURCE
            SiteCreated webhook-source-event-site-created SITE
            SiteUpdated webhook-source-event-site-updated SITE
            SiteDeleted webhook-source-event-site-deleted SITE
            UserDeleted webhook-source-event-user-deleted USER
            ViewDeleted webhook-source-event-view-deleted VIEW
            WorkbookUpdated webhook-source-event-workbook-updated WORKBOOK
            WorkbookCreated webhook-source-event-workbook-created WORKBOOK
            WorkbookDeleted webhook-source-event-workbook-deleted WORKBOOK
            WorkbookRefreshStarted webhook-source-event-workbook-refresh-started EXTRACTS
            WorkbookRefreshSucceeded webhook-source-event-workbook-refresh-succeeded EXTRACTS
            WorkbookRefreshFailed webhook-source-event-workbook-refresh-failed EXTRACTS
        "#]]
        .assert_eq(&(table.join("\n") + "\n"));
    }
}
