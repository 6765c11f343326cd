//! `vizhook webhooks ...`: list, get, create, update, enable, disable, delete and test a
//! site's webhooks through Tableau's REST API, on any Tableau server.

use anyhow::anyhow;
use serde_json::{Map, Value, json};
use vizhook_core::EventKind;
use vizhook_tableau::client::WebhookSummary;

use super::{
    connect::{Connected, connect},
    output::{self, Table},
};
use crate::cli::{WebhooksArgs, WebhooksCommand};

pub(crate) async fn run(args: WebhooksArgs) -> anyhow::Result<()> {
    // Arguments are checked before anything is sent.
    let update = match &args.command {
        WebhooksCommand::Create { event, .. } => {
            event_name(event)?;
            None
        }
        WebhooksCommand::Update {
            name,
            event,
            url,
            enabled,
            reason,
            ..
        } => Some(patch(name, event, url, *enabled, reason)?),
        WebhooksCommand::Enable { .. } => Some(json!({ "isEnabled": true })),
        WebhooksCommand::Disable { reason, .. } => {
            let mut fields = json!({ "isEnabled": false });
            if let Some(reason) = reason {
                fields["statusChangeReason"] = json!(reason);
            }
            Some(fields)
        }
        _ => None,
    };
    let connected = connect(&args.connection).await?;
    let result = execute(&connected, args.command, update, args.connection.json).await;
    connected.close().await;
    result
}

async fn execute(
    connected: &Connected,
    command: WebhooksCommand,
    update: Option<Value>,
    as_json: bool,
) -> anyhow::Result<()> {
    let (client, site) = (&connected.client, connected.site_id.as_str());
    let explain = |err| connected.explain(err);
    match command {
        WebhooksCommand::List => {
            let webhooks = client.webhooks(site).await.map_err(explain)?;
            if as_json {
                return output::json(&webhooks);
            }
            if webhooks.is_empty() {
                output::note("No webhooks on this site.");
                return Ok(());
            }
            let mut table = Table::new(&["ID", "NAME", "EVENT", "ENABLED", "URL", "REASON"]);
            for webhook in &webhooks {
                table.row(vec![
                    webhook.id.clone(),
                    webhook.name.clone(),
                    webhook.event.clone(),
                    yes_no(webhook.enabled),
                    webhook.url.clone(),
                    webhook.status_change_reason.clone(),
                ]);
            }
            output::print(&table.render()?)
        }
        WebhooksCommand::Get { id } => {
            show(&client.webhook(site, &id).await.map_err(explain)?, as_json)
        }
        WebhooksCommand::Create { name, event, url } => {
            let event = event_name(&event)?;
            let created = client
                .create_webhook(site, &name, event, &url)
                .await
                .map_err(explain)?;
            show(&created, as_json)
        }
        WebhooksCommand::Update { id, .. }
        | WebhooksCommand::Enable { id }
        | WebhooksCommand::Disable { id, .. } => {
            let fields = update.unwrap_or_else(|| json!({}));
            let updated = client
                .update_webhook(site, &id, fields)
                .await
                .map_err(explain)?;
            show(&updated, as_json)
        }
        WebhooksCommand::Delete { id } => {
            client.delete_webhook(site, &id).await.map_err(explain)?;
            if as_json {
                return output::json(&json!({ "deleted": id }));
            }
            output::print(&format!("Deleted webhook {id}.\n"))
        }
        WebhooksCommand::Test { id } => {
            let (status, body) = client.test_webhook(site, &id).await.map_err(explain)?;
            if as_json {
                return output::json(&json!({ "status": status, "body": body }));
            }
            output::print(&output::fields(&[
                ("destination answered", status.to_string()),
                ("body", body),
            ]))
        }
    }
}

fn show(webhook: &WebhookSummary, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return output::json(webhook);
    }
    output::print(&output::fields(&[
        ("id", webhook.id.clone()),
        ("name", webhook.name.clone()),
        ("event", webhook.event.clone()),
        ("url", webhook.url.clone()),
        ("enabled", yes_no(webhook.enabled)),
        ("reason", webhook.status_change_reason.clone()),
        ("owner", webhook.owner_name.clone()),
    ]))
}

/// The fields of an update, `{"name": .., "isEnabled": ..}`; at least one.
fn patch(
    name: &Option<String>,
    event: &Option<String>,
    url: &Option<String>,
    enabled: Option<bool>,
    reason: &Option<String>,
) -> anyhow::Result<Value> {
    let mut fields = Map::new();
    if let Some(name) = name {
        fields.insert("name".into(), json!(name));
    }
    if let Some(event) = event {
        fields.insert("event".into(), json!(event_name(event)?));
    }
    if let Some(url) = url {
        fields.insert(
            "webhook-destination".into(),
            json!({"webhook-destination-http": {"method": "POST", "url": url}}),
        );
    }
    if let Some(enabled) = enabled {
        fields.insert("isEnabled".into(), json!(enabled));
    }
    if let Some(reason) = reason {
        fields.insert("statusChangeReason".into(), json!(reason));
    }
    if fields.is_empty() {
        return Err(anyhow!(
            "say what to change: --name, --event, --url, --enabled or --reason"
        ));
    }
    Ok(Value::Object(fields))
}

/// The event-style name Tableau's `event` attribute takes, from a name in any style.
pub(super) fn event_name(raw: &str) -> anyhow::Result<&'static str> {
    EventKind::parse_lenient(raw)
        .map(EventKind::api_name)
        .map_err(|_| {
            anyhow!(
                "'{raw}' is not a Tableau webhook event; the events are {}",
                EventKind::ALL.map(EventKind::api_name).join(", ")
            )
        })
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}
