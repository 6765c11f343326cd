//! `vizhook events fire` and `vizhook deliveries list|show|redeliver`: vizhook's own API,
//! printed as tables or passed through as JSON.

use serde_json::{Value, json};
use vizhook_tableau::client::DeliveryQuery;

use super::{
    connect::{Connected, connect},
    output::{self, Table},
    webhooks::event_name,
};
use crate::cli::{DeliveriesArgs, DeliveriesCommand, EventsArgs, EventsCommand};

pub(crate) async fn run_events(args: EventsArgs) -> anyhow::Result<()> {
    let EventsCommand::Fire {
        event,
        resource,
        resource_name,
        resource_luid,
    } = args.command;
    let mut body = json!({
        "event_type": event_name(&event)?,
        "resource_name": resource_name,
    });
    if let Some(resource) = resource {
        body["resource"] = json!(resource);
    }
    if let Some(luid) = resource_luid {
        body["resource_luid"] = json!(luid);
    }
    let connected = connect(&args.connection).await?;
    let result = connected
        .client
        .fire_events(&connected.site_id, &json!({ "events": [body] }))
        .await
        .map_err(|err| connected.explain(err));
    connected.close().await;
    let answer = result?;
    if args.connection.json {
        return output::json(&answer);
    }
    let mut table = Table::new(&["EVENT", "DELIVERIES"]);
    for event in items(&answer["events"]) {
        table.row(vec![text(&event["id"]), text(&event["deliveries"])]);
    }
    output::print(&table.render()?)
}

pub(crate) async fn run_deliveries(args: DeliveriesArgs) -> anyhow::Result<()> {
    let connected = connect(&args.connection).await?;
    let result = execute(&connected, args.command, args.connection.json).await;
    connected.close().await;
    result
}

async fn execute(
    connected: &Connected,
    command: DeliveriesCommand,
    as_json: bool,
) -> anyhow::Result<()> {
    let (client, site) = (&connected.client, connected.site_id.as_str());
    let explain = |err| connected.explain(err);
    match command {
        DeliveriesCommand::List {
            webhook,
            limit,
            before,
        } => {
            let query = DeliveryQuery {
                limit: Some(limit),
                before,
            };
            let answer = client
                .deliveries(site, &webhook, &query)
                .await
                .map_err(explain)?;
            if as_json {
                return output::json(&answer);
            }
            let deliveries = items(&answer["deliveries"]);
            if deliveries.is_empty() {
                output::note("No deliveries for this webhook.");
                return Ok(());
            }
            let mut table = Table::new(&["ID", "EVENT", "STATE", "ATTEMPTS", "LAST", "CREATED"]);
            for delivery in deliveries {
                let attempts = items(&delivery["attempts"]);
                table.row(vec![
                    text(&delivery["id"]),
                    text(&delivery["event_type"]),
                    text(&delivery["state"]),
                    attempts.len().to_string(),
                    attempts.last().map(|a| outcome(a)).unwrap_or_default(),
                    text(&delivery["created_at"]),
                ]);
            }
            output::print(&table.render()?)
        }
        DeliveriesCommand::Show { id } => {
            let answer = client.delivery(site, &id).await.map_err(explain)?;
            show(&answer, as_json)
        }
        DeliveriesCommand::Redeliver { id } => {
            let answer = client.redeliver(site, &id).await.map_err(explain)?;
            show(&answer, as_json)
        }
    }
}

fn show(answer: &Value, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return output::json(answer);
    }
    let delivery = &answer["delivery"];
    let mut text_out = output::fields(&[
        ("id", text(&delivery["id"])),
        ("event", text(&delivery["event_type"])),
        ("event id", text(&delivery["event_id"])),
        ("webhook", text(&delivery["webhook_id"])),
        ("state", text(&delivery["state"])),
        ("created", text(&delivery["created_at"])),
        ("next attempt", text(&delivery["next_attempt_at"])),
        ("completed", text(&delivery["completed_at"])),
        ("payload", delivery["payload"].to_string()),
    ]);
    let attempts = items(&delivery["attempts"]);
    if !attempts.is_empty() {
        let mut table = Table::new(&["ATTEMPT", "STARTED", "LATENCY", "OUTCOME", "RESPONSE"]);
        for attempt in attempts {
            table.row(vec![
                text(&attempt["number"]),
                text(&attempt["started_at"]),
                format!("{} ms", text(&attempt["latency_ms"])),
                outcome(attempt),
                text(&attempt["response_excerpt"]),
            ]);
        }
        text_out.push('\n');
        text_out.push_str(&table.render()?);
    }
    output::print(&text_out)
}

/// `HTTP 500`, or the error of an attempt that got no answer.
fn outcome(attempt: &Value) -> String {
    match attempt["status"].as_u64() {
        Some(status) => format!("HTTP {status}"),
        None => text(&attempt["error"]),
    }
}

fn items(value: &Value) -> Vec<&Value> {
    value
        .as_array()
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}

/// A JSON value as a cell: strings bare, numbers as written, null empty.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
