//! The actions' templates: one minijinja environment with strict undefined values, JSON
//! auto-escaping for templates whose name ends in [`JSON_SUFFIX`], Slack and Teams escaping of
//! what a Slack or Teams template prints, a `urlencode` filter, the default texts, rendering
//! against a [`Context`] plus `secrets`, and the sample contexts every template is rendered
//! against at load time.

use std::collections::BTreeMap;

use minijinja::{
    AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior, escape_formatter,
    value::{Serde, Value as TplValue},
};
use serde_json::{Value, json};
use vizhook_core::notify::Notice;

use super::Context;
use crate::secret::Secret;

/// Templates whose name ends with this render with JSON auto-escaping: every `{{ value }}`
/// becomes a JSON literal (a string in quotes, a number, `null`, an object ...).
pub(super) const JSON_SUFFIX: &str = "#json";

/// Default email subject.
pub(super) const EMAIL_SUBJECT: &str = "[vizhook] {% if event.is_test %}Tableau test event\
{% else %}{% if notice == \"resolved\" %}Recovered: {% endif %}{{ event.event_type }}: \
{{ event.resource_name }}{% endif %}";

/// Default email body.
pub(super) const EMAIL_BODY: &str = "{% if event.is_test %}Tableau sent a test event.\
{% elif notice == \"resolved\" %}Recovered: {{ event.event_type }} for {{ event.resource_name }}.\
{% else %}{{ event.event_type }} for {{ event.resource_name }}.{% endif %}

Event:       {{ event.event_type }}
Resource:    {{ event.resource }} {{ event.resource_name }} ({{ event.resource_luid }})
Site:        {% if site_name %}{{ site_name }} ({{ event.site_luid }}){% else %}{{ event.site_luid }}{% endif %}
{% if project_name %}Project:     {{ project_name }}
{% endif %}{% if owner_name %}Owner:       {{ owner_name }}
{% endif %}Created at:  {{ event.created_at }}
Received at: {{ received_at }} by receiver {{ receiver }}

-- 
Sent by vizhook.
";

/// Default post on X.
pub(super) const X_TEXT: &str = "Tableau: {% if event.is_test %}test event\
{% else %}{% if notice == \"resolved\" %}recovered, {% endif %}{{ event.event_type }} for \
{{ event.resource_name }}{% if site_name %} on site {{ site_name }}{% endif %}{% endif %}";

/// A compiled template: its name in the environment, which is the configuration path plus
/// [`JSON_SUFFIX`] for JSON ones or an [`Escape`] suffix for Slack and Teams texts.
#[derive(Debug, Clone)]
pub(super) struct Tpl {
    pub(super) name: String,
}

/// How what a template prints (not its own text) is escaped for where the text is shown.
/// Escaping happens as a value is printed, after its filters, so `urlencode` and the like see
/// the value as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escape {
    None,
    /// Slack's `mrkdwn`: [`slack_escape`].
    Slack,
    /// Teams' Adaptive Card markdown: [`teams_escape`].
    Teams,
}

impl Escape {
    const SLACK_SUFFIX: &str = "#slack";
    const TEAMS_SUFFIX: &str = "#teams";

    /// What a template's name ends with to be escaped this way.
    pub(super) fn suffix(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Slack => Self::SLACK_SUFFIX,
            Self::Teams => Self::TEAMS_SUFFIX,
        }
    }

    fn of(name: &str) -> Self {
        if name.ends_with(Self::SLACK_SUFFIX) {
            Self::Slack
        } else if name.ends_with(Self::TEAMS_SUFFIX) {
            Self::Teams
        } else {
            Self::None
        }
    }
}

impl Tpl {
    /// The configuration path the template came from.
    pub(super) fn path(&self) -> &str {
        [JSON_SUFFIX, Escape::SLACK_SUFFIX, Escape::TEAMS_SUFFIX]
            .iter()
            .find_map(|suffix| self.name.strip_suffix(suffix))
            .unwrap_or(&self.name)
    }
}

pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(JSON_SUFFIX) {
            AutoEscape::Json
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(format_escaped);
    env.add_filter("urlencode", urlencode);
    env
}

/// Prints a value, escaped for Slack or Teams when the template is theirs. A value marked
/// `| safe` is printed as it is, for a template that builds markup from values on purpose.
fn format_escaped(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &TplValue,
) -> Result<(), Error> {
    let escape: fn(&str) -> String = match Escape::of(state.name()) {
        Escape::None => return escape_formatter(out, state, value),
        Escape::Slack => slack_escape,
        Escape::Teams => teams_escape,
    };
    if value.is_safe() || value.is_undefined() || value.is_none() {
        return escape_formatter(out, state, value);
    }
    let escaped = match value.as_str() {
        Some(text) => escape(text),
        None => escape(&value.to_string()),
    };
    escape_formatter(out, state, &TplValue::from(escaped))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so the result is safe in a
/// path segment and a query value alike.
fn urlencode(value: String) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Renders `tpl` with `ctx` and `secrets`. For Slack and Teams, what the template prints
/// (not its own text) is escaped, so a name shows as written and cannot add markup.
pub(super) fn render(
    env: &Environment<'static>,
    tpl: &Tpl,
    ctx: &Context,
    secrets: &BTreeMap<String, Secret>,
) -> Result<String, Error> {
    let mut value = serde_json::to_value(ctx)
        .map_err(|err| Error::new(ErrorKind::BadSerialization, err.to_string()))?;
    let exposed: serde_json::Map<String, Value> = secrets
        .iter()
        .map(|(name, secret)| (name.clone(), Value::String(secret.expose().to_owned())))
        .collect();
    if let Value::Object(map) = &mut value {
        map.insert("secrets".to_owned(), Value::Object(exposed));
    }
    env.get_template(&tpl.name)?
        .render(minijinja::Value::from(Serde(value)))
}

/// Escapes text for Slack's `mrkdwn` and plain text fields: `&`, `<` and `>`.
pub(super) fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes text for the markdown of Teams' Adaptive Cards (a CommonMark subset: bold, italic,
/// lists, links), so a resource called `[Click](https://evil.example)` or `**URGENT**` shows
/// as written. Only what could open markup gets a backslash, because some Teams clients have
/// shown escapes literally: `*`, `[`, `]`, `\`, `{` and `}` (a name cannot call the cards'
/// `{{DATE(...)}}` functions), a `_` at either end of a word (inside one, as in `sales_q4`,
/// it cannot open emphasis), and list and heading markers at the start of a line.
pub(super) fn teams_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive(['\n', '\r']) {
        let body = line.trim_start_matches([' ', '\t']);
        out.push_str(&line[..line.len() - body.len()]);
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        let chars: Vec<char> = body.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let marker = (i == 0 && matches!(c, '-' | '+' | '#' | '>'))
                || (i == digits && digits > 0 && matches!(c, '.' | ')'));
            let word = |at: Option<&char>| at.is_some_and(|c| c.is_alphanumeric());
            let edge_underscore = c == '_'
                && !(word(i.checked_sub(1).and_then(|p| chars.get(p))) && word(chars.get(i + 1)));
            if marker || edge_underscore || matches!(c, '\\' | '*' | '[' | ']' | '{' | '}') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// An error as one line: its kind, detail and line, never the template's output.
pub(super) fn describe(err: &Error) -> String {
    let mut text = err.kind().to_string();
    if let Some(detail) = err.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = err.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text
}

/// For an undefined-value error at load time: the variables the template uses that the sample
/// context lacks, e.g. `event.resource_nmae`.
pub(super) fn unknown_variables(
    env: &Environment<'static>,
    tpl: &Tpl,
    sample: &Context,
    secrets: &BTreeMap<String, Secret>,
) -> Vec<String> {
    let Ok(template) = env.get_template(&tpl.name) else {
        return Vec::new();
    };
    let mut root = serde_json::to_value(sample).unwrap_or_default();
    if let Value::Object(map) = &mut root {
        let names = secrets.keys().map(|name| (name.clone(), json!("")));
        map.insert("secrets".to_owned(), Value::Object(names.collect()));
    }
    let globals = [
        "range",
        "dict",
        "namespace",
        "debug",
        "loop",
        "self",
        "super",
    ];
    let mut unknown: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|path| {
            let mut parts = path.split('.');
            let first = parts.next().unwrap_or_default();
            if globals.contains(&first) {
                return false;
            }
            let mut at = root.get(first);
            for part in parts {
                at = at.and_then(|value| value.get(part));
            }
            at.is_none()
        })
        .collect();
    unknown.sort();
    unknown
}

/// The contexts every template is rendered against at load time: a firing event with every
/// optional field known, and a recovery with none of them.
pub(super) fn samples(receiver: &str) -> [Context; 2] {
    let event = |event_type: &str| {
        json!({
            "resource": "DATASOURCE",
            "event_type": event_type,
            "resource_name": "Sales",
            "site_luid": "4f3a0d6e-0000-4000-8000-000000000001",
            "resource_luid": "4f3a0d6e-0000-4000-8000-000000000002",
            "created_at": "2026-01-01T00:00:00Z",
            "is_test": false,
        })
    };
    [
        Context {
            event: event("DatasourceRefreshFailed"),
            notice: Notice::Firing,
            site_name: Some("Finance".to_owned()),
            project_name: Some("Default".to_owned()),
            owner_name: Some("Owner".to_owned()),
            receiver: receiver.to_owned(),
            received_at: "2026-01-01T00:00:01Z".to_owned(),
        },
        Context {
            event: event("DatasourceRefreshSucceeded"),
            notice: Notice::Resolved,
            site_name: None,
            project_name: None,
            owner_name: None,
            receiver: receiver.to_owned(),
            received_at: "2026-01-01T00:00:01Z".to_owned(),
        },
    ]
}

/// Placeholder secrets with the configured names, for load-time rendering.
pub(super) fn sample_secrets(secrets: &BTreeMap<String, Secret>) -> BTreeMap<String, Secret> {
    secrets
        .keys()
        .map(|name| (name.clone(), Secret::new("sample-secret")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::teams_escape;

    #[test]
    fn teams_escape_covers_markup_and_line_markers_only() {
        let cases = [
            ("Sales Q4.hyper", "Sales Q4.hyper"),
            ("9f8e7d6c-aaaa-4bbb", "9f8e7d6c-aaaa-4bbb"),
            (
                "sales_q4_extract <x> a|b ~c~ `d`",
                "sales_q4_extract <x> a|b ~c~ `d`",
            ),
            ("**bold** _it_ __x", r"\*\*bold\*\* \_it\_ \_\_x"),
            ("[a](http://b)", r"\[a\](http://b)"),
            ("- one\n  + two\n# three", "\\- one\n  \\+ two\n\\# three"),
            (
                "1. first\r2) second\n3 items",
                "1\\. first\r2\\) second\n3 items",
            ),
            (r"back\slash {{x}}", r"back\\slash \{\{x\}\}"),
            ("🚀 & 'x' \"y\"", "🚀 & 'x' \"y\""),
        ];
        for (raw, escaped) in cases {
            assert_eq!(teams_escape(raw), escaped, "{raw:?}");
        }
    }
}
