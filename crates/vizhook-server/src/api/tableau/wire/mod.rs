//! The Tableau wire shapes: domain records to response elements, and request elements to
//! validated domain input. The only place that knows Tableau's element and attribute names.

use vizhook_core::{
    DestinationUrl, EventKind, StatusPatch, UrlPolicy, WebhookName, WebhookPatch, parse_bool,
};
use vizhook_store::{OwnedWebhook, Site, SiteUser};

use crate::api::{error::ApiError, format::Element};

pub use vizhook_tableau::time::timestamp;

pub fn site_element(site: &Site) -> Element {
    Element::new("site")
        .attr("id", site.id.to_string())
        .attr("name", &site.name)
        .attr("contentUrl", site.content_url.as_str())
        .attr("adminMode", &site.admin_mode)
        .attr("state", &site.state)
}

pub fn user_element(user: &SiteUser) -> Element {
    Element::new("user")
        .attr("id", user.id.to_string())
        .attr("name", &user.name)
        .attr("siteRole", user.site_role.as_str())
        .opt_attr("lastLogin", user.last_login.map(timestamp))
        .opt_attr("fullName", user.full_name.as_deref())
        .opt_attr("email", user.email.as_deref())
        .attr("authSetting", &user.auth_setting)
        .child(Element::new("domain").attr("name", "local"))
}

pub fn webhook_element(owned: &OwnedWebhook) -> Element {
    let webhook = &owned.webhook;
    Element::new("webhook")
        .child(Element::new("webhook-source").child(Element::new(webhook.event.source_name())))
        .child(
            Element::new("webhook-destination").child(
                Element::new("webhook-destination-http")
                    .attr("method", "POST")
                    .attr("url", webhook.url.as_str()),
            ),
        )
        .child(
            Element::new("owner")
                .attr("id", webhook.owner_id.to_string())
                .attr("name", &owned.owner_name),
        )
        .attr("id", webhook.id.to_string())
        .attr("name", webhook.name.as_str())
        .bool_attr("isEnabled", webhook.enabled)
        .attr("statusChangeReason", &webhook.status_change_reason)
        .attr("event", webhook.event.api_name())
        .attr("createdAt", timestamp(webhook.created_at))
        .attr("updatedAt", timestamp(webhook.updated_at))
}

/// A `<pagination>` element.
pub fn pagination(number: usize, size: usize, total: usize) -> Element {
    Element::new("pagination")
        .attr("pageNumber", number.to_string())
        .attr("pageSize", size.to_string())
        .attr("totalAvailable", total.to_string())
}

/// The fields of a `<webhook>` request element, validated. Everything is optional here;
/// create checks for what it requires.
#[derive(Debug)]
pub struct WebhookInput {
    pub patch: WebhookPatch,
}

impl WebhookInput {
    pub fn parse(webhook: &Element, policy: UrlPolicy) -> Result<Self, ApiError> {
        let name = webhook.get("name").map(WebhookName::parse).transpose()?;
        let event = webhook_event(webhook)?;
        let url = match webhook.find("webhook-destination") {
            None => None,
            Some(destination) => {
                let http = destination.find("webhook-destination-http").ok_or_else(|| {
                    ApiError::bad_request("The webhook-destination element must contain webhook-destination-http.")
                })?;
                if let Some(method) = http
                    .get("method")
                    .filter(|m| !m.eq_ignore_ascii_case("POST"))
                {
                    return Err(ApiError::bad_request(format!(
                        "The webhook destination method must be POST, not '{method}'."
                    )));
                }
                let raw = http.get("url").ok_or_else(|| {
                    ApiError::bad_request(
                        "The webhook-destination-http element must have a url attribute.",
                    )
                })?;
                Some(DestinationUrl::parse(raw, policy)?)
            }
        };
        let is_enabled = webhook
            .get("isEnabled")
            .map(parse_bool)
            .transpose()?
            .flatten();
        let status_change_reason = webhook.get("statusChangeReason").map(str::to_owned);
        Ok(Self {
            patch: WebhookPatch {
                name,
                event,
                url,
                is_enabled,
                status_change_reason,
            },
        })
    }

    pub fn status(&self) -> StatusPatch {
        StatusPatch {
            is_enabled: self.patch.is_enabled,
            status_change_reason: self.patch.status_change_reason.clone(),
        }
    }
}

/// The event named by the `event` attribute and/or the `<webhook-source>` child. Either name
/// style is accepted in either place; when both are given they must agree.
fn webhook_event(webhook: &Element) -> Result<Option<EventKind>, ApiError> {
    let from_attribute = webhook
        .get("event")
        .filter(|raw| !raw.trim().is_empty())
        .map(EventKind::parse_lenient)
        .transpose()?;
    let from_source = match webhook.find("webhook-source") {
        None => None,
        Some(source) => match source.children.as_slice() {
            [] => None,
            [only] => Some(EventKind::parse_lenient(&only.name)?),
            _ => {
                return Err(ApiError::bad_request(
                    "The webhook-source element must name exactly one event.",
                ));
            }
        },
    };
    match (from_attribute, from_source) {
        (Some(attribute), Some(source)) if attribute != source => {
            Err(ApiError::bad_request(format!(
                "The event attribute ({attribute}) and the webhook-source element ({source}) name different events."
            )))
        }
        (attribute, source) => Ok(attribute.or(source)),
    }
}

pub mod content;
