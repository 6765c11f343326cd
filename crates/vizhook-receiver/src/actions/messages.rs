//! The default chat messages, built as JSON values (never by string templates, so escaping is
//! structural): a Slack Block Kit message and a Teams message with an Adaptive Card.

use serde_json::{Value, json};
use vizhook_core::notify::Notice;

use super::{
    Context,
    templates::{slack_escape, teams_escape},
};

/// Slack refuses a section text longer than this.
const SLACK_SECTION_MAX: usize = 3000;

fn field<'a>(ctx: &'a Context, name: &str) -> &'a str {
    ctx.event
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn is_test(ctx: &Context) -> bool {
    ctx.event
        .get("is_test")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The site's name when known, else its LUID; `None` when neither is known.
fn site(ctx: &Context) -> Option<&str> {
    ctx.site_name
        .as_deref()
        .or(Some(field(ctx, "site_luid")))
        .filter(|site| !site.is_empty())
}

/// The default headline, without decoration: `DatasourceRefreshFailed: Sales (site Finance)`,
/// `Recovered: DatasourceRefreshSucceeded: Sales (site Finance)`, or `Tableau test event`.
pub(super) fn headline(ctx: &Context) -> String {
    let mut text = if is_test(ctx) {
        "Tableau test event".to_owned()
    } else {
        let recovered = match ctx.notice {
            Notice::Firing => "",
            Notice::Resolved => "Recovered: ",
        };
        format!(
            "{recovered}{}: {}",
            field(ctx, "event_type"),
            field(ctx, "resource_name")
        )
    };
    if let Some(site) = site(ctx) {
        text.push_str(&format!(" (site {site})"));
    }
    text
}

/// The labelled details shown under the headline, those that are known.
fn facts(ctx: &Context) -> Vec<(&'static str, String)> {
    let resource = [field(ctx, "resource"), field(ctx, "resource_luid")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let site = match (ctx.site_name.as_deref(), field(ctx, "site_luid")) {
        (Some(name), "") => name.to_owned(),
        (Some(name), luid) => format!("{name} ({luid})"),
        (None, luid) => luid.to_owned(),
    };
    [
        ("Event", field(ctx, "event_type").to_owned()),
        ("Resource", field(ctx, "resource_name").to_owned()),
        ("Type", resource),
        ("Site", site),
        ("Project", ctx.project_name.clone().unwrap_or_default()),
        ("Owner", ctx.owner_name.clone().unwrap_or_default()),
        ("Created at", field(ctx, "created_at").to_owned()),
        ("Receiver", ctx.receiver.clone()),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A Slack incoming-webhook message: `text` (the notification fallback), a section with the
/// headline and a context block with the details. `custom` is an already rendered (and
/// Slack-escaped) headline replacing the default one.
pub(super) fn slack(ctx: &Context, custom: Option<String>) -> Value {
    let emoji = match (is_test(ctx), ctx.notice) {
        (true, _) => ":information_source:",
        (false, Notice::Firing) => ":red_circle:",
        (false, Notice::Resolved) => ":large_green_circle:",
    };
    let headline = custom.unwrap_or_else(|| format!("{emoji} {}", slack_escape(&headline(ctx))));
    let headline = truncate(&headline, SLACK_SECTION_MAX);
    let details: Vec<Value> = facts(ctx)
        .into_iter()
        .filter(|(label, _)| *label != "Event" && *label != "Resource")
        .map(|(label, value)| {
            json!({ "type": "mrkdwn", "text": format!("*{label}:* {}", slack_escape(&value)) })
        })
        .collect();
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": headline },
    })];
    if !details.is_empty() {
        blocks.push(json!({ "type": "context", "elements": details }));
    }
    json!({ "text": headline, "blocks": blocks })
}

/// A Teams Workflows message: one Adaptive Card with the headline and a fact set. Event values
/// are escaped for the card's markdown; a custom headline was escaped when rendered.
pub(super) fn teams(ctx: &Context, custom: Option<String>) -> Value {
    let (emoji, color) = match (is_test(ctx), ctx.notice) {
        (true, _) => ("ℹ️", "Accent"),
        (false, Notice::Firing) => ("🔴", "Attention"),
        (false, Notice::Resolved) => ("✅", "Good"),
    };
    let headline = custom.unwrap_or_else(|| format!("{emoji} {}", teams_escape(&headline(ctx))));
    let facts: Vec<Value> = facts(ctx)
        .into_iter()
        .map(|(title, value)| json!({ "title": title, "value": teams_escape(&value) }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {
                        "type": "TextBlock",
                        "text": headline,
                        "weight": "Bolder",
                        "size": "Medium",
                        "color": color,
                        "wrap": true,
                    },
                    { "type": "FactSet", "facts": facts },
                ],
            },
        }],
    })
}

/// X counts at most 280 characters; longer text is cut with an ellipsis.
pub(super) fn tweet(text: &str) -> String {
    truncate(text, 280)
}
