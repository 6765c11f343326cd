//! Load time: [`Actions::build`] resolves every secret, compiles every template and renders it
//! against sample contexts, checks addresses, URLs, headers and paths, and reports every
//! problem at once with its configuration path. The email, HTTP and X actions' checks
//! (addresses, methods, URLs, headers, JSON bodies, credentials) are here too, so that the
//! builder is one `impl`.

use std::{collections::BTreeMap, path::Path};

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use minijinja::Environment;
use url::Url;

use super::{
    ActionConfig, ConfigProblem, EmailConfig, HttpConfig, ReceiverConfig, XConfig,
    action::Action,
    local::{CommandAction, FileAction},
    remote::{HttpAction, UrlSource, XAction},
    templates::{self, Escape, JSON_SUFFIX, Tpl},
};
use crate::secret::{Secret, resolve};

/// What [`compile`] makes of the configuration; [`Actions::build`](super::Actions::build) adds
/// the secrets.
pub(super) struct Compiled {
    pub(super) env: Environment<'static>,
    pub(super) receivers: Vec<(String, Vec<(String, Action)>)>,
    pub(super) redact: Vec<String>,
}

/// Compiles `receivers` (see [`Actions::build`](super::Actions::build)).
/// `base` is the configuration file's folder: `file:` secrets, relative
/// command paths and file actions' paths are relative to it. Returns every problem, each with
/// a path such as `receiver[0].action[1].text`.
pub(super) fn compile(
    receivers: &[ReceiverConfig],
    secrets: &BTreeMap<String, Secret>,
    base: &Path,
) -> Result<Compiled, Vec<ConfigProblem>> {
    let mut builder = Builder {
        env: templates::environment(),
        problems: Vec::new(),
        secrets,
        sample_secrets: templates::sample_secrets(secrets),
        redact: secrets.values().map(|s| s.expose().to_owned()).collect(),
        base,
        receiver: String::new(),
    };
    let mut compiled = Vec::new();
    for (r, receiver) in receivers.iter().enumerate() {
        let path = format!("receiver[{r}]");
        if receiver.name.trim().is_empty() {
            builder.problem(format!("{path}.name"), "must not be empty");
        } else if receivers[..r]
            .iter()
            .any(|other| other.name == receiver.name)
        {
            builder.problem(format!("{path}.name"), "another receiver has this name");
        }
        builder.receiver.clone_from(&receiver.name);
        let mut actions = Vec::with_capacity(receiver.action.len());
        for (a, action) in receiver.action.iter().enumerate() {
            let path = format!("{path}.action[{a}]");
            let key = match action.name() {
                None => a.to_string(),
                Some(name) => {
                    let taken = receiver.action[..a]
                        .iter()
                        .any(|other| other.name() == Some(name));
                    if let Err(message) = check_action_name(name, taken) {
                        builder.problem(format!("{path}.name"), message);
                    }
                    name.to_owned()
                }
            };
            if let Some(compiled) = builder.action(&path, action) {
                actions.push((key, compiled));
            }
        }
        compiled.push((receiver.name.clone(), actions));
    }
    if !builder.problems.is_empty() {
        return Err(builder.problems);
    }
    let mut redact = builder.redact;
    redact.retain(|value| value.chars().count() >= 3);
    redact.sort_by_key(|value| std::cmp::Reverse(value.len()));
    Ok(Compiled {
        env: builder.env,
        receivers: compiled,
        redact,
    })
}

/// Why an action's `name` cannot be used: it names the action in stored task ids
/// (`receiver/NAME`), where a position (`receiver/0`) must not be mistaken for it.
fn check_action_name(name: &str, taken: bool) -> Result<(), &'static str> {
    if name.trim().is_empty() {
        Err("must not be empty")
    } else if name.contains('/') {
        Err("must not contain '/'")
    } else if name.bytes().all(|b| b.is_ascii_digit()) {
        Err("must not be a number: numbers are the positions of unnamed actions")
    } else if taken {
        Err("another action of this receiver has this name")
    } else {
        Ok(())
    }
}

pub(super) struct Builder<'a> {
    env: Environment<'static>,
    problems: Vec<ConfigProblem>,
    secrets: &'a BTreeMap<String, Secret>,
    sample_secrets: BTreeMap<String, Secret>,
    redact: Vec<String>,
    base: &'a Path,
    receiver: String,
}

impl Builder<'_> {
    pub(super) fn problem(&mut self, path: String, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            path,
            message: message.into(),
        });
    }

    fn action(&mut self, path: &str, config: &ActionConfig) -> Option<Action> {
        let before = self.problems.len();
        let action = match config {
            ActionConfig::Slack(slack) => {
                let url = self.webhook_url(&format!("{path}.webhook_url"), &slack.webhook_url);
                let text = self.optional(path, "text", slack.text.as_deref(), Mode::Slack);
                Action::Slack { url: url?, text }
            }
            ActionConfig::Teams(teams) => {
                let url = self.webhook_url(&format!("{path}.webhook_url"), &teams.webhook_url);
                let text = self.optional(path, "text", teams.text.as_deref(), Mode::Teams);
                Action::Teams { url: url?, text }
            }
            ActionConfig::Email(email) => self.email(path, email)?,
            ActionConfig::Http(http) => Action::Http(self.http(path, http)?),
            ActionConfig::X(x) => Action::X(self.x(path, x)?),
            ActionConfig::Command(command) => match CommandAction::new(command, self.base) {
                Ok(action) => Action::Command(action),
                Err(problems) => {
                    for (key, message) in problems {
                        self.problem(format!("{path}.{key}"), message);
                    }
                    return None;
                }
            },
            ActionConfig::File(file) => match FileAction::new(&file.path, self.base) {
                Ok(action) => Action::File(action),
                Err(message) => {
                    self.problem(format!("{path}.path"), message);
                    return None;
                }
            },
        };
        (self.problems.len() == before).then_some(action)
    }

    pub(super) fn secret(&mut self, path: &str, raw: &str) -> Option<Secret> {
        match resolve(raw, self.base) {
            Ok(secret) => {
                self.redact.push(secret.expose().to_owned());
                Some(secret)
            }
            Err(err) => {
                self.problem(path.to_owned(), err.to_string());
                None
            }
        }
    }

    /// A webhook URL: a secret reference or a literal, which must be an http(s) URL. The
    /// message never shows the URL, which is a credential.
    pub(super) fn webhook_url(&mut self, path: &str, raw: &str) -> Option<Url> {
        let secret = self.secret(path, raw)?;
        let url = Url::parse(secret.expose())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        if url.is_none() {
            self.problem(path.to_owned(), "must be an http:// or https:// URL");
        }
        url
    }

    /// Compiles a template and renders it against the samples; JSON templates must render
    /// valid JSON. Returns the rendered samples.
    pub(super) fn template(
        &mut self,
        path: String,
        source: &str,
        mode: Mode,
    ) -> Option<(Tpl, Vec<String>)> {
        let name = match mode {
            Mode::Json => format!("{path}{JSON_SUFFIX}"),
            Mode::Slack => format!("{path}{}", Escape::Slack.suffix()),
            Mode::Teams => format!("{path}{}", Escape::Teams.suffix()),
            Mode::Text => path.clone(),
        };
        let tpl = Tpl { name: name.clone() };
        if let Err(err) = self.env.add_template_owned(name, source.to_owned()) {
            self.problem(path, templates::describe(&err));
            return None;
        }
        let mut rendered = Vec::new();
        for sample in templates::samples(&self.receiver) {
            match templates::render(&self.env, &tpl, &sample, &self.sample_secrets) {
                Ok(text) => rendered.push(text),
                Err(err) => {
                    let mut message = templates::describe(&err);
                    let unknown =
                        templates::unknown_variables(&self.env, &tpl, &sample, self.secrets);
                    if !unknown.is_empty() {
                        message.push_str(&format!("; unknown: {}", unknown.join(", ")));
                    }
                    self.problem(path, message);
                    return None;
                }
            }
        }
        if mode == Mode::Json
            && let Some(err) = rendered
                .iter()
                .find_map(|text| serde_json::from_str::<serde_json::Value>(text).err())
        {
            let message = format!(
                "does not render valid JSON ({err}); values are already JSON literals, do not quote them"
            );
            self.problem(path, message);
            return None;
        }
        Some((tpl, rendered))
    }

    pub(super) fn optional(
        &mut self,
        path: &str,
        key: &str,
        source: Option<&str>,
        mode: Mode,
    ) -> Option<Tpl> {
        let (tpl, _) = self.template(format!("{path}.{key}"), source?, mode)?;
        Some(tpl)
    }

    pub(super) fn required(
        &mut self,
        path: &str,
        key: &str,
        source: Option<&str>,
        default: &str,
    ) -> Tpl {
        let path = format!("{path}.{key}");
        let source = source.unwrap_or(default);
        let (tpl, _) = self.template(path.clone(), source, Mode::Text).unzip();
        tpl.unwrap_or(Tpl { name: path })
    }

    pub(super) fn email(&mut self, path: &str, config: &EmailConfig) -> Option<Action> {
        if config.to.is_empty() {
            self.problem(format!("{path}.to"), "must list at least one address");
        }
        for (i, address) in config.to.iter().enumerate() {
            if address.trim().parse::<lettre::message::Mailbox>().is_err() {
                let message = format!("{address:?} is not a valid email address");
                self.problem(format!("{path}.to[{i}]"), message);
            }
        }
        let subject = self.required(
            path,
            "subject",
            config.subject.as_deref(),
            templates::EMAIL_SUBJECT,
        );
        let body = self.required(path, "body", config.body.as_deref(), templates::EMAIL_BODY);
        let to = config.to.iter().map(|a| a.trim().to_owned()).collect();
        Some(Action::Email { to, subject, body })
    }

    pub(super) fn http(&mut self, path: &str, config: &HttpConfig) -> Option<HttpAction> {
        let method = match http::Method::from_bytes(config.method.to_ascii_uppercase().as_bytes()) {
            Ok(method) if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) => {
                method
            }
            _ => {
                let message = format!(
                    "{:?} is not one of GET, POST, PUT, PATCH, DELETE",
                    config.method
                );
                self.problem(format!("{path}.method"), message);
                http::Method::POST
            }
        };
        let url_path = format!("{path}.url");
        let url = if config.url.starts_with("env:") || config.url.starts_with("file:") {
            UrlSource::Fixed(self.webhook_url(&url_path, &config.url)?)
        } else {
            let (tpl, rendered) = self.template(url_path.clone(), &config.url, Mode::Text)?;
            let urls: Vec<Option<Url>> = rendered.iter().map(|t| UrlSource::parse(t)).collect();
            if urls.iter().any(Option::is_none) {
                self.problem(url_path, "does not render an http:// or https:// URL");
            }
            // A URL without template tags is the same for every event: parsed once, here.
            let literal = !["{{", "{%", "{#"]
                .iter()
                .any(|tag| config.url.contains(tag));
            match urls.into_iter().next().flatten() {
                Some(url) if literal => UrlSource::Fixed(url),
                _ => UrlSource::Template(tpl),
            }
        };
        let content_type = config
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(CONTENT_TYPE.as_str()));
        let json = match (content_type, config.body.as_deref()) {
            (Some((_, value)), _) => value.to_ascii_lowercase().contains("json"),
            (None, Some(body)) => body.trim_start().starts_with(['{', '[']),
            (None, None) => true,
        };
        let mut headers = Vec::new();
        for (name, value) in &config.headers {
            let header_path = format!("{path}.headers.{name}");
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                self.problem(header_path, "is not a valid header name");
                continue;
            };
            let Some((tpl, rendered)) = self.template(header_path.clone(), value, Mode::Text)
            else {
                continue;
            };
            if rendered
                .iter()
                .any(|text| HeaderValue::from_str(text).is_err())
            {
                self.problem(header_path, "does not render a valid header value");
            }
            headers.push((header, tpl));
        }
        let mode = if json { Mode::Json } else { Mode::Text };
        let body = match config.body.as_deref() {
            Some(source) => Some(self.template(format!("{path}.body"), source, mode)?.0),
            None => None,
        };
        Some(HttpAction {
            method,
            url,
            headers,
            body,
            json,
            default_json_type: json && content_type.is_none(),
        })
    }

    pub(super) fn x(&mut self, path: &str, config: &XConfig) -> Option<XAction> {
        let endpoint = format!("{}/2/tweets", config.api_url.trim_end_matches('/'));
        let endpoint = Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.query().is_none());
        if endpoint.is_none() {
            self.problem(
                format!("{path}.api_url"),
                "must be an http:// or https:// URL without a query",
            );
        }
        let mut secret = |key: &str, raw: &str| self.secret(&format!("{path}.{key}"), raw);
        let credentials = [
            secret("consumer_key", &config.consumer_key),
            secret("consumer_secret", &config.consumer_secret),
            secret("access_token", &config.access_token),
            secret("access_token_secret", &config.access_token_secret),
        ];
        let text = self.required(path, "text", config.text.as_deref(), templates::X_TEXT);
        let [Some(ck), Some(cs), Some(at), Some(ats)] = credentials else {
            return None;
        };
        Some(XAction {
            endpoint: endpoint?,
            credentials: [ck, cs, at, ats],
            text,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Text,
    Json,
    Slack,
    Teams,
}
