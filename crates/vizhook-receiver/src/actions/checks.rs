//! Load-time checks of the email, HTTP and X actions: addresses, methods, URLs, headers,
//! JSON bodies and credentials.

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use url::Url;

use super::{
    EmailConfig, HttpConfig, XConfig,
    build::{Action, Builder, Mode},
    remote::{HttpAction, UrlSource, XAction},
    templates,
};

impl Builder<'_> {
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
