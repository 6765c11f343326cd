//! Tests of the receiver's actions against local fakes: recording HTTP servers standing in for
//! Slack, Teams, IFTTT, Zapier and X, an in-process SMTP server (both from vizhook-test-support), and real programs and files. This
//! file holds the shared fixtures.

use std::{collections::BTreeMap, path::Path};

use vizhook_core::notify::Notice;

use super::{Actions, ConfigProblem, Context, ReceiverConfig, Runtime};
use vizhook_runtime::{
    email::{Mailer, SmtpConfig},
    outbound::Outbound,
};

use vizhook_tableau::payload::InboundEvent;

use crate::secret::Secret;

mod chat;
mod config;
mod email;
mod hooks;
mod local;

/// A resource name that tries every escape: quotes, HTML, a newline, `&`, an emoji.
const HOSTILE: &str = "Sales \"Q4\" <script>alert(1)</script>\nline2 & 🚀 'x'";

/// A firing `DatasourceRefreshFailed` with everything known.
fn firing(resource_name: &str) -> Context {
    let event = InboundEvent {
        resource: "DATASOURCE".to_owned(),
        event_type: "DatasourceRefreshFailed".to_owned(),
        resource_name: resource_name.to_owned(),
        site_luid: "0b2c4d6e-1111-4222-8333-444455556666".to_owned(),
        resource_luid: "9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111".to_owned(),
        created_at: "2026-03-01T08:00:00Z".to_owned(),
        extra: serde_json::Map::new(),
        is_test: false,
    };
    Context {
        event: event.to_json(),
        notice: Notice::Firing,
        site_name: Some("Finance".to_owned()),
        project_name: Some("Sales & Ops".to_owned()),
        owner_name: Some("Ana <ana@example.com>".to_owned()),
        receiver: "data-team".to_owned(),
        received_at: "2026-03-01T08:00:02Z".to_owned(),
    }
}

/// The recovery of [`firing`]: a `DatasourceRefreshSucceeded`, with no enrichment.
fn resolved() -> Context {
    let mut ctx = firing("Sales");
    ctx.event["event_type"] = "DatasourceRefreshSucceeded".into();
    ctx.notice = Notice::Resolved;
    ctx.site_name = None;
    ctx.project_name = None;
    ctx.owner_name = None;
    ctx
}

fn parse(toml_text: &str) -> Result<Vec<ReceiverConfig>, toml::de::Error> {
    #[derive(serde::Deserialize)]
    struct File {
        receiver: Vec<ReceiverConfig>,
    }
    toml::from_str::<File>(toml_text).map(|file| file.receiver)
}

fn try_build(
    toml_text: &str,
    secrets: &[(&str, &str)],
    base: &Path,
) -> Result<Actions, Vec<ConfigProblem>> {
    let receivers = parse(toml_text).unwrap();
    let secrets: BTreeMap<String, Secret> = secrets
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Secret::new(*value)))
        .collect();
    Actions::build(&receivers, &secrets, base)
}

fn build(toml_text: &str, secrets: &[(&str, &str)]) -> Actions {
    try_build(toml_text, secrets, Path::new(".")).unwrap()
}

/// A runtime whose client may reach loopback (`--dev`).
fn runtime(mailer: Option<Mailer>) -> Runtime {
    let outbound =
        Outbound::new(&vizhook_runtime::outbound::OutboundConfig::default(), true).unwrap();
    Runtime::new(outbound, mailer)
}

/// The local fakes of Slack, Teams, IFTTT, Zapier and X.
type Fake = vizhook_test_support::Recorder;

/// The in-process SMTP server, and a mailer that sends to it.
use vizhook_test_support::SmtpSink;

fn mailer_for(smtp: &SmtpSink) -> Mailer {
    let config = SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: smtp.port(),
        from: "vizhook <vizhook@example.com>".to_owned(),
        ..SmtpConfig::default()
    };
    Mailer::new(&config).unwrap().unwrap()
}
