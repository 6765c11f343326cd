//! Webhooks: validated names and destination URLs, and the rules for creating and updating one
//! (including Tableau's `400127` rule on `statusChangeReason`).

use std::fmt;

use time::OffsetDateTime;

use crate::{DomainError, EventKind, SiteId, UserId, WebhookId};

/// The reason Tableau records when a user disables a webhook without giving one.
pub const DEFAULT_DISABLE_REASON: &str = "Webhook disabled by user";

/// A non-empty webhook name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookName(String);

impl WebhookName {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DomainError::EmptyName);
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(DomainError::NameTooLong { max: Self::MAX_LEN });
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which destination URLs are acceptable. Tableau requires https; `--dev` relaxes that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    pub allow_http: bool,
}

/// An absolute http(s) URL that a webhook POSTs to.
#[derive(Clone, PartialEq, Eq)]
pub struct DestinationUrl(url::Url);

impl DestinationUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str, policy: UrlPolicy) -> Result<Self, DomainError> {
        let raw = raw.trim();
        let invalid = |reason: &str| DomainError::InvalidUrl {
            url: raw.to_owned(),
            reason: reason.to_owned(),
        };
        if raw.len() > Self::MAX_LEN {
            return Err(invalid("it is longer than 2048 characters"));
        }
        let mut url = url::Url::parse(raw).map_err(|err| invalid(&err.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_http => {}
            "http" => return Err(DomainError::InsecureUrl(raw.to_owned())),
            _ => return Err(invalid("the scheme must be https")),
        }
        // `example.com.` and `example.com` are one name; keep the usual spelling, so that
        // what is checked, shown and sent is the same.
        if let Some(url::Host::Domain(domain)) = url.host()
            && domain.ends_with('.')
        {
            let bare = domain.trim_end_matches('.').to_owned();
            if bare.is_empty() || url.set_host(Some(&bare)).is_err() {
                return Err(invalid("it has no host"));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        Ok(Self(url))
    }

    /// Rebuilds a URL that was validated when it was stored.
    pub fn from_stored(raw: &str) -> Result<Self, DomainError> {
        Self::parse(raw, UrlPolicy { allow_http: true })
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host, safe to log: destination URLs often carry secrets in their path or query.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

/// Never prints path or query, which often hold secrets (Slack, IFTTT and Zapier keys).
impl fmt::Debug for DestinationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DestinationUrl({}://{}/…)", self.0.scheme(), self.host())
    }
}

/// A webhook: on `event` in site `site_id`, POST the payload to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub site_id: SiteId,
    pub name: WebhookName,
    pub event: EventKind,
    pub url: DestinationUrl,
    pub enabled: bool,
    pub status_change_reason: String,
    pub owner_id: UserId,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The fields a create or update request may set. Absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub name: Option<WebhookName>,
    pub event: Option<EventKind>,
    pub url: Option<DestinationUrl>,
    pub is_enabled: Option<bool>,
    pub status_change_reason: Option<String>,
}

/// What a new webhook needs besides its patch.
#[derive(Debug, Clone)]
pub struct NewWebhookContext {
    pub id: WebhookId,
    pub site_id: SiteId,
    pub owner_id: UserId,
    pub now: OffsetDateTime,
}

impl Webhook {
    /// Builds a webhook from a create request: name, event and url are required there.
    pub fn create(
        ctx: NewWebhookContext,
        name: WebhookName,
        event: EventKind,
        url: DestinationUrl,
        status: StatusPatch,
    ) -> Result<Self, DomainError> {
        let mut webhook = Self {
            id: ctx.id,
            site_id: ctx.site_id,
            name,
            event,
            url,
            enabled: true,
            status_change_reason: String::new(),
            owner_id: ctx.owner_id,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        webhook.apply_status(status)?;
        Ok(webhook)
    }

    /// Merges an update into this webhook. On error nothing changes.
    pub fn apply(&mut self, patch: WebhookPatch, now: OffsetDateTime) -> Result<(), DomainError> {
        self.apply_status(StatusPatch {
            is_enabled: patch.is_enabled,
            status_change_reason: patch.status_change_reason,
        })?;
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(event) = patch.event {
            self.event = event;
        }
        if let Some(url) = patch.url {
            self.url = url;
        }
        self.updated_at = now;
        Ok(())
    }

    /// Tableau's rule: a reason may accompany `isEnabled=false` only; disabling without one
    /// records the default reason; enabling clears it.
    fn apply_status(&mut self, status: StatusPatch) -> Result<(), DomainError> {
        let reason = status
            .status_change_reason
            .filter(|reason| !reason.trim().is_empty());
        match (status.is_enabled, reason) {
            (Some(true), Some(_)) => return Err(DomainError::ReasonWhileEnabled),
            (None, Some(_)) if self.enabled => return Err(DomainError::ReasonWhileEnabled),
            (Some(true), None) => {
                self.enabled = true;
                self.status_change_reason.clear();
            }
            (Some(false), reason) => {
                self.enabled = false;
                self.status_change_reason =
                    reason.unwrap_or_else(|| DEFAULT_DISABLE_REASON.to_owned());
            }
            (None, Some(reason)) => self.status_change_reason = reason,
            (None, None) => {}
        }
        Ok(())
    }

    /// Disables the webhook on the system's behalf (for example after repeated failures).
    pub fn disable_with_reason(&mut self, reason: &str, now: OffsetDateTime) {
        self.enabled = false;
        self.status_change_reason = reason.to_owned();
        self.updated_at = now;
    }
}

/// The enablement part of a request: `isEnabled` and `statusChangeReason`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusPatch {
    pub is_enabled: Option<bool>,
    pub status_change_reason: Option<String>,
}

/// Parses a boolean the way Tableau clients send one: `true`/`false` in any case. An empty
/// string (an unset Postman variable) means "not given".
pub fn parse_bool(raw: &str) -> Result<Option<bool>, DomainError> {
    match raw.trim() {
        "" => Ok(None),
        value if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
        value if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(DomainError::InvalidBool(raw.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    fn webhook() -> Webhook {
        let ctx = NewWebhookContext {
            id: WebhookId::from_uuid(Uuid::from_u128(1)),
            site_id: SiteId::from_uuid(Uuid::from_u128(2)),
            owner_id: UserId::from_uuid(Uuid::from_u128(3)),
            now: datetime!(2026-01-01 0:00 UTC),
        };
        let url = DestinationUrl::parse("https://example.com/hook", UrlPolicy::default()).unwrap();
        let name = WebhookName::parse("hook").unwrap();
        Webhook::create(
            ctx,
            name,
            EventKind::DatasourceCreated,
            url,
            StatusPatch::default(),
        )
        .unwrap()
    }

    fn status(is_enabled: Option<bool>, reason: Option<&str>) -> WebhookPatch {
        WebhookPatch {
            is_enabled,
            status_change_reason: reason.map(str::to_owned),
            ..WebhookPatch::default()
        }
    }

    #[test]
    fn disable_and_enable_follow_tableau_rules() {
        let now = datetime!(2026-01-02 0:00 UTC);
        let mut hook = webhook();
        hook.apply(status(Some(false), None), now).unwrap();
        assert!(!hook.enabled);
        assert_eq!(hook.status_change_reason, DEFAULT_DISABLE_REASON);

        hook.apply(status(Some(false), Some("maintenance")), now)
            .unwrap();
        assert_eq!(hook.status_change_reason, "maintenance");

        let before = hook.clone();
        assert_eq!(
            hook.apply(status(Some(true), Some("why")), now),
            Err(DomainError::ReasonWhileEnabled)
        );
        assert_eq!(hook, before, "a refused update changes nothing");

        hook.apply(status(Some(true), Some("")), now).unwrap();
        assert!(hook.enabled);
        assert_eq!(hook.status_change_reason, "");
        assert_eq!(
            hook.apply(status(None, Some("x")), now),
            Err(DomainError::ReasonWhileEnabled)
        );
    }

    #[test]
    fn partial_updates_keep_other_fields() {
        let mut hook = webhook();
        let patch = WebhookPatch {
            name: Some(WebhookName::parse("renamed").unwrap()),
            ..WebhookPatch::default()
        };
        hook.apply(patch, datetime!(2026-01-03 0:00 UTC)).unwrap();
        assert_eq!(hook.name.as_str(), "renamed");
        assert_eq!(hook.event, EventKind::DatasourceCreated);
        assert_eq!(hook.url.as_str(), "https://example.com/hook");
        assert_eq!(hook.updated_at, datetime!(2026-01-03 0:00 UTC));
    }

    #[test]
    fn urls_and_names_are_validated() {
        let strict = UrlPolicy::default();
        let dev = UrlPolicy { allow_http: true };
        assert!(matches!(
            DestinationUrl::parse("http://example.com", strict),
            Err(DomainError::InsecureUrl(_))
        ));
        assert!(DestinationUrl::parse("http://example.com", dev).is_ok());
        for bad in [
            "",
            "example.com/hook",
            "ftp://example.com",
            "https://",
            "https://exa mple.com",
        ] {
            assert!(
                DestinationUrl::parse(bad, dev).is_err(),
                "{bad} should be refused"
            );
        }
        let url =
            DestinationUrl::parse("https://hooks.slack.com/services/T/B/SECRET", strict).unwrap();
        assert!(!format!("{url:?}").contains("SECRET"));
        assert_eq!(WebhookName::parse("   "), Err(DomainError::EmptyName));
        assert!(WebhookName::parse(&"n".repeat(256)).is_err());
    }

    #[test]
    fn a_trailing_dot_is_dropped_from_the_host() {
        let dotted =
            DestinationUrl::parse("https://Hooks.Example.com./in?k=1", UrlPolicy::default());
        assert_eq!(dotted.unwrap().as_str(), "https://hooks.example.com/in?k=1");
        assert!(DestinationUrl::parse("https://./in", UrlPolicy::default()).is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("TRUE"), Ok(Some(true)));
        let dotted =
            DestinationUrl::parse("https://Hooks.Example.com./in?k=1", UrlPolicy::default());
        assert_eq!(dotted.unwrap().as_str(), "https://hooks.example.com/in?k=1");
        assert!(DestinationUrl::parse("https://./in", UrlPolicy::default()).is_err());
        assert_eq!(parse_bool("false"), Ok(Some(false)));
        assert_eq!(parse_bool(""), Ok(None));
        assert!(parse_bool("yes").is_err());
    }
}
